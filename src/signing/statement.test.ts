import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseStatement, statementBytes } from './statement.ts';
import { buildManifest, rootDigestHex } from '../artifact/manifest.ts';

const d = (c: string) => c.repeat(64);
function statement(resources: object[], serialization: object, root?: string) {
  const rs = resources as { digest: string }[];
  return Buffer.from(JSON.stringify({
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: 'm', digest: { sha256: root ?? rootDigestHex(rs) } }],
    predicateType: 'https://model_signing/signature/v1.0',
    predicate: { serialization, resources },
  }));
}

test('accepts the reference tool shard forms: float shard_size and "<hash>-sharded-N" names', () => {
  // JSON "1000.0" parses as the number 1000, as Python's float is written.
  const raw = statement([{ name: 'w:0:1000', algorithm: 'sha256-sharded-1000', digest: d('a') }], { method: 'shards', hash_type: 'sha256', shard_size: 1, allow_symlinks: false })
    .toString().replace('"shard_size":1', '"shard_size":1000.0');
  const s = parseStatement(Buffer.from(raw));
  assert.equal(s.serialization.shard_size, 1000);
  assert.equal(s.resources[0]!.algorithm, 'sha256-sharded-1000');
});

test('refuses a mismatched algorithm, bad digests, duplicate names, bad shard names', () => {
  const ser = { method: 'files', hash_type: 'sha256', allow_symlinks: false };
  assert.throws(() => parseStatement(statement([{ name: 'a', algorithm: 'blake3', digest: d('a') }], ser)), { code: 'PERIM_E_STATEMENT_MALFORMED' });
  assert.throws(() => parseStatement(statement([{ name: 'a', algorithm: 'sha256', digest: 'abc' }], ser)), { code: 'PERIM_E_STATEMENT_MALFORMED' });
  assert.throws(() => parseStatement(statement([{ name: 'a', algorithm: 'sha256', digest: d('A') }], ser)), { code: 'PERIM_E_STATEMENT_MALFORMED' });
  assert.throws(() => parseStatement(statement([{ name: 'a', algorithm: 'sha256', digest: d('a') }, { name: 'a', algorithm: 'sha256', digest: d('b') }], ser)), { code: 'PERIM_E_STATEMENT_MALFORMED' });
  const sh = { method: 'shards', hash_type: 'sha256', shard_size: 10, allow_symlinks: false };
  assert.throws(() => parseStatement(statement([{ name: 'w:5:5', algorithm: 'sha256', digest: d('a') }], sh)), { code: 'PERIM_E_RESOURCE_NAME_UNSAFE' });
  assert.throws(() => parseStatement(statement([{ name: 'w', algorithm: 'sha256', digest: d('a') }], sh)), { code: 'PERIM_E_RESOURCE_NAME_UNSAFE' });
  assert.throws(() => parseStatement(statement([{ name: '../w:0:5', algorithm: 'sha256', digest: d('a') }], sh)), { code: 'PERIM_E_RESOURCE_NAME_UNSAFE' });
  assert.throws(() => parseStatement(statement([{ name: 'a', algorithm: 'sha256', digest: d('a') }], { ...ser, method: 'tar' })), { code: 'PERIM_E_SERIALIZATION_UNSUPPORTED' });
  assert.throws(() => parseStatement(statement([{ name: 'a', algorithm: 'md5', digest: d('a') }], { ...ser, hash_type: 'md5' })), { code: 'PERIM_E_SERIALIZATION_UNSUPPORTED' });
});

test('file names with colons survive shard parsing (last two fields are the range)', () => {
  const sh = { method: 'shards', hash_type: 'sha256', shard_size: 10, allow_symlinks: false };
  const s = parseStatement(statement([{ name: 'a:b:c:0:10', algorithm: 'sha256', digest: d('a') }], sh));
  assert.equal(s.resources[0]!.name, 'a:b:c:0:10');
});

test('v0.1 (model_signing v0.2.0) statements: files are the subjects', () => {
  const raw = Buffer.from(JSON.stringify({
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: 'x', digest: { sha256: d('1') } }, { name: 'y/z', digest: { sha256: d('2') } }],
    predicateType: 'https://model_signing/Digests/v0.1',
    predicate: { unused: 'Unused, just passed due to API requirements' },
  }));
  const s = parseStatement(raw);
  assert.deepEqual(s.resources.map((r) => r.name), ['x', 'y/z']);
  assert.equal(s.serialization.method, 'files');
});

test('statement bytes are canonical for a manifest and round-trip through the parser', () => {
  const m = buildManifest('model', { method: 'files', hash_type: 'sha256', allow_symlinks: false }, [
    { name: 'b', algorithm: 'sha256', digest: d('b') },
    { name: 'a', algorithm: 'sha256', digest: d('a') },
  ]);
  const bytes = statementBytes(m);
  assert.ok(bytes.equals(statementBytes(structuredClone(m))));
  const s = parseStatement(bytes);
  assert.equal(s.signedRootDigest, m.rootDigest);
  assert.deepEqual(s.resources.map((r) => r.name), ['a', 'b']);
});
