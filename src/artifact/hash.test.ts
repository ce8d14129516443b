import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { hashModel } from './hash.ts';
import { hashRange } from './hash-range.ts';
import { compareCodePoints, parseShardName, rootDigestHex } from './manifest.ts';
import { makeTree } from '../../test/helpers.ts';

const opensslSha256 = (path: string): string => execFileSync('openssl', ['dgst', '-sha256', '-r', path]).toString().split(' ')[0]!;

test('files method: per-file sha256 equals openssl, root digest over them in name order', async () => {
  const root = makeTree({ 'b.bin': randomBytes(5000), 'a/x.json': '{"a":1}', 'a.txt': 'hello' });
  const { manifest } = await hashModel(root);
  assert.deepEqual(manifest.resources.map((r) => r.name), ['a.txt', 'a/x.json', 'b.bin']);
  for (const r of manifest.resources) assert.equal(r.digest, opensslSha256(join(root, r.name)));
  const concat = Buffer.concat(manifest.resources.map((r) => Buffer.from(r.digest, 'hex')));
  assert.equal(manifest.rootDigest, `sha256:${createHash('sha256').update(concat).digest('hex')}`);
  assert.deepEqual(manifest.serialization, { method: 'files', hash_type: 'sha256', allow_symlinks: false, ignore_paths: ['.git', '.gitattributes', '.github', '.gitignore'] });
});

test('shards method: fixed ranges, short last shard, empty files omitted, each range hashed alone', async () => {
  const data = randomBytes(2500);
  const root = makeTree({ 'w.bin': data, 'empty': '' });
  const { manifest } = await hashModel(root, { method: 'shards', shardSize: 1000 });
  assert.deepEqual(manifest.resources.map((r) => r.name), ['w.bin:0:1000', 'w.bin:1000:2000', 'w.bin:2000:2500']);
  for (const r of manifest.resources) {
    const { start, end } = parseShardName(r.name);
    assert.equal(r.digest, createHash('sha256').update(data.subarray(start, end)).digest('hex'));
    assert.equal(r.algorithm, 'sha256');
  }
  assert.equal(manifest.serialization.shard_size, 1000);
});

test('worker threads and the inline path give the same manifest', async () => {
  const root = makeTree({ 'a': randomBytes(300_000), 'b': randomBytes(200_000), 'c': randomBytes(10) });
  for (const method of ['files', 'shards'] as const) {
    const inline = await hashModel(root, { method, shardSize: 65536 });
    const pooled = await hashModel(root, { method, shardSize: 65536, inlineBelowBytes: 0, workers: 2 });
    assert.deepEqual(pooled.manifest, inline.manifest);
  }
});

test('blake2b and blake3 digests match their reference values', async () => {
  const root = makeTree({ 'abc': 'abc', 'empty-not': 'x' });
  const b2 = await hashModel(root, { hashAlgorithm: 'blake2b' });
  // BLAKE2b-512("abc"), RFC 7693 Appendix A.
  assert.equal(b2.manifest.resources[0]!.digest, 'ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923');
  const b3 = await hashModel(root, { hashAlgorithm: 'blake3' });
  // BLAKE3("abc") from the BLAKE3 reference test vectors.
  assert.equal(b3.manifest.resources[0]!.digest, '6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85');
  assert.match(b3.manifest.rootDigest, /^sha256:[0-9a-f]{64}$/);
});

test('a file whose size changed since the walk is refused, not hashed', () => {
  const root = makeTree({ w: 'abcdef' });
  const task = { id: 0, path: join(root, 'w'), start: 0, end: -1, algorithm: 'sha256' as const, expectedSize: 3 };
  assert.throws(() => hashRange(task, Buffer.alloc(16)), { code: 'PERIM_E_FILE_CHANGED' });
  assert.equal(hashRange({ ...task, expectedSize: 6 }, Buffer.alloc(4)), createHash('sha256').update('abcdef').digest('hex'));
});

test('invalid options are usage errors', async () => {
  const root = makeTree({ w: 'w' });
  await assert.rejects(hashModel(root, { shardSize: 0, method: 'shards' }), { code: 'PERIM_E_USAGE' });
  await assert.rejects(hashModel(root, { hashAlgorithm: 'md5' as never }), { code: 'PERIM_E_USAGE' });
  await assert.rejects(hashModel(makeTree({ e: '' }), { method: 'shards' }), { code: 'PERIM_E_MODEL_EMPTY' });
});

test('code point order differs from UTF-16 order and is what we use', () => {
  // U+FF5E (fullwidth tilde) < U+1F600 by code point, but not by UTF-16 units (0xD83D < 0xFF5E).
  assert.ok(compareCodePoints('\uFF5E', '\u{1F600}') < 0);
  assert.ok('\uFF5E' > '\u{1F600}');
  assert.equal(rootDigestHex([]), createHash('sha256').digest('hex'));
});
