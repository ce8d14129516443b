import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { walkModel, resolveCliIgnorePaths } from './walk.ts';
import { makeTree, tempDir } from '../../test/helpers.ts';

const names = (root: string, o = {}): string[] => walkModel(root, o).files.map((f) => f.name);

test('walks recursively with POSIX names in code-point order', () => {
  const root = makeTree({ 'b.txt': 'b', 'a/z.bin': 'z', 'a.txt': 'a', 'a/b/c': 'c' });
  // "a.txt" (0x2e) sorts before "a/..." (0x2f) by code point.
  assert.deepEqual(names(root), ['a.txt', 'a/b/c', 'a/z.bin', 'b.txt']);
});

test('leaves out git entries at the root only, keeps other dotfiles and hidden folders', () => {
  const root = makeTree({ '.git/HEAD': 'x', '.gitignore': 'x', '.gitattributes': 'x', '.github/w.yml': 'x', '.env': 'e', '.cache/x': 'c', 'sub/.git': 'kept', 'w': 'w' });
  assert.deepEqual(names(root), ['.cache/x', '.env', 'sub/.git', 'w']);
  assert.ok(names(root, { ignoreGitPaths: false }).includes('.git/HEAD'));
});

test('user ignore paths are exact relative paths with their subtrees', () => {
  const root = makeTree({ 'cache/a': '1', 'sub/cache/b': '2', 'cachefile': '3', 'keep': '4' });
  assert.deepEqual(names(root, { ignorePaths: ['cache'] }), ['cachefile', 'keep', 'sub/cache/b']);
  assert.deepEqual(names(root, { ignorePaths: ['sub/cache', './keep'] }), ['cache/a', 'cachefile']);
});

test('the signature file is left out, and recorded with the ignores', () => {
  const root = makeTree({ 'model.sig': '{}', 'w': 'w' });
  const w = walkModel(root, { signaturePath: join(root, 'model.sig') });
  assert.deepEqual(w.files.map((f) => f.name), ['w']);
  assert.deepEqual(w.ignored, ['.git', '.gitattributes', '.github', '.gitignore', 'model.sig']);
});

test('a single file is a model named by its basename', () => {
  const root = makeTree({ 'weights.gguf': 'gguf' });
  const w = walkModel(join(root, 'weights.gguf'));
  assert.equal(w.singleFile, true);
  assert.deepEqual(w.files.map((f) => f.name), ['weights.gguf']);
});

test('symlinks are refused unless allowed; then followed inside the root', () => {
  const root = makeTree({ 'real/w.bin': 'w' });
  symlinkSync(join(root, 'real', 'w.bin'), join(root, 'link.bin'));
  assert.throws(() => walkModel(root), { code: 'PERIM_E_SYMLINK_REFUSED' });
  const w = walkModel(root, { allowSymlinks: true });
  assert.deepEqual(w.files.map((f) => f.name), ['link.bin', 'real/w.bin']);
  assert.equal(w.files[0]!.absPath, join(root, 'real', 'w.bin'));
});

test('a symlink out of the root is an error even when symlinks are allowed', () => {
  const outside = makeTree({ 'secret': 's' });
  const root = makeTree({ 'w': 'w' });
  symlinkSync(join(outside, 'secret'), join(root, 'leak'));
  assert.throws(() => walkModel(root, { allowSymlinks: true }), { code: 'PERIM_E_SYMLINK_ESCAPES' });
});

test('a symlink cycle is an error', () => {
  const root = makeTree({ 'd/w': 'w' });
  symlinkSync(join(root, 'd'), join(root, 'd', 'loop'));
  assert.throws(() => walkModel(root, { allowSymlinks: true }), { code: 'PERIM_E_SYMLINK_CYCLE' });
  const root2 = tempDir();
  symlinkSync(join(root2, 'b'), join(root2, 'a'));
  symlinkSync(join(root2, 'a'), join(root2, 'b'));
  assert.throws(() => walkModel(root2, { allowSymlinks: true }), { code: 'PERIM_E_SYMLINK_CYCLE' });
});

test('an empty model, or one emptied by ignores, is an error', () => {
  const root = tempDir();
  mkdirSync(join(root, 'empty-dir'));
  assert.throws(() => walkModel(root), { code: 'PERIM_E_MODEL_EMPTY' });
  const root2 = makeTree({ '.gitignore': 'x', 'a': 'a' });
  assert.throws(() => walkModel(root2, { ignorePaths: ['a'] }), { code: 'PERIM_E_MODEL_EMPTY' });
  assert.throws(() => walkModel(join(root, 'nope')), { code: 'PERIM_E_MODEL_NOT_FOUND' });
});

test('special files are refused', () => {
  const root = makeTree({ 'w': 'w' });
  execFileSync('mkfifo', [join(root, 'pipe')]);
  assert.throws(() => walkModel(root), { code: 'PERIM_E_SPECIAL_FILE' });
});

test('a file name that is not UTF-8 is refused', () => {
  const root = makeTree({ 'w': 'w' });
  writeFileSync(Buffer.concat([Buffer.from(root + '/bad-'), Buffer.from([0xff, 0xfe])]), 'x');
  assert.throws(() => walkModel(root), { code: 'PERIM_E_PATH_ENCODING' });
});

test('hostile ignore entries are refused', () => {
  const root = makeTree({ 'w': 'w' });
  assert.throws(() => walkModel(root, { ignorePaths: ['../etc'] }), { code: 'PERIM_E_RESOURCE_NAME_UNSAFE' });
});

test('CLI ignore paths resolve from the current folder, and outside ones are dropped', () => {
  const root = makeTree({ 'a/b': '1' });
  assert.deepEqual(resolveCliIgnorePaths(root, ['a/b', '/etc/passwd', join(root, 'a')], root), ['a/b', 'a']);
  assert.deepEqual(resolveCliIgnorePaths('m', ['m/x', 'y'], root), ['x']);
});
