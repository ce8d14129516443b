import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { failsAt, scanPath, verdictOf } from './scan.ts';
import { makeTree } from '../../test/helpers.ts';
import type { Finding } from './types.ts';

test('plain files of no risky format scan clean; folders are walked, .git skipped', async () => {
  const root = makeTree({ 'README.md': '# model\n', 'sub/notes.txt': 'hello', '.git/objects/x': 'cos\nsystem\n' });
  const r = await scanPath(root);
  assert.equal(r.files.length, 2);
  assert.equal(r.verdict, 'clean');
  assert.equal(r.failed, false);
});

test('symlinks are not followed; special files are suspicious', async () => {
  const root = makeTree({ 'a.txt': 'x' });
  symlinkSync('/etc/passwd', join(root, 'link'));
  execFileSync('mkfifo', [join(root, 'fifo')]);
  const r = await scanPath(root);
  assert.deepEqual(r.files.map((f) => f.file.split('/').pop()), ['a.txt']);
  assert.ok(r.findings.some((f) => f.severity === 'info' && /symbolic link/.test(f.message)));
  assert.ok(r.findings.some((f) => f.severity === 'suspicious' && /not a regular file/.test(f.message)));
  assert.equal(r.failed, true);
});

test('a missing path is an I/O error, not a verdict', async () => {
  await assert.rejects(scanPath('/nonexistent/model.pt'), { code: 'PERIM_E_IO' });
});

test('verdicts and thresholds', () => {
  const f = (severity: Finding['severity']): Finding => ({ ruleId: 'X', severity, file: 'f', member: [], message: '', remediation: '' });
  assert.equal(verdictOf([]), 'clean');
  assert.equal(verdictOf([f('info')]), 'clean');
  assert.equal(verdictOf([f('low'), f('suspicious'), f('info')]), 'suspicious');
  assert.equal(verdictOf([f('dangerous'), f('low')]), 'dangerous');
  assert.equal(failsAt('low', 'suspicious'), false);
  assert.equal(failsAt('low', 'low'), true);
  assert.equal(failsAt('clean', 'low'), false);
  assert.equal(failsAt('dangerous', 'suspicious'), true);
});
