import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { appendFileSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { signModel, verifyModel } from './model.ts';
import { KeySigner, KeyVerifier } from './key-method.ts';
import { statementBytes } from './statement.ts';
import { REF, copyVector, signStatement, statementOf, readBundle, testPrivateKey, testPublicKey } from '../../test/oms.ts';
import { makeTree, tempDir } from '../../test/helpers.ts';

const keyVerifier = () => new KeyVerifier(testPublicKey());

// Every key-method vector from the reference CLI, as test/fixtures/oms/README.md lists them.
for (const [dir, model, ignore] of [
  ['v0.3.1-elliptic-key', 'signme-1', []],
  ['v1.0.0-elliptic-key', 'signme-1', []],
  ['v1.0.1-elliptic-key', '', ['ignore-me']],
  ['v1.1.0-elliptic-key', '', ['ignore-me']],
] as const) {
  test(`reference vector ${dir} verifies with the public key`, async () => {
    const r = await verifyModel(join(REF, dir, model), keyVerifier(), { signaturePath: join(REF, dir, 'model.sig'), ignorePaths: ignore });
    assert.equal(r.signer.method, 'key');
    assert.equal(r.signer.keyHint, 'e8450dec4eb99dae995da9af1bc2cc9f76ed669ee2e744f57abba763df3e3f8e');
  });
}

test('v1.0.1 vector fails without its ignore path: ignore-me is an unsigned extra file', async () => {
  await assert.rejects(verifyModel(join(REF, 'v1.0.1-elliptic-key'), keyVerifier()), (e: any) => e.code === 'PERIM_E_MODEL_MISMATCH' && e.details.extra.includes('ignore-me'));
});

test('sign then verify round trip; statement bytes are identical when signed twice', async () => {
  const root = makeTree({ 'config.json': '{}', 'w/model.safetensors': Buffer.alloc(4096, 7), '.git/HEAD': 'x' });
  const signer = new KeySigner(testPrivateKey());
  const a = await signModel(root, signer);
  const b = await signModel(root, signer);
  assert.ok(a.statement.equals(b.statement));
  assert.ok(statementBytes(a.manifest).equals(a.statement));
  assert.equal(a.signaturePath, join(root, 'model.sig'));
  const r = await verifyModel(root, keyVerifier());
  assert.equal(r.rootDigest, a.manifest.rootDigest);
  assert.equal(r.signedRootDigest, a.manifest.rootDigest);
  // model.sig, written into the model folder, is excluded from both sides.
  assert.deepEqual(statementOf(readBundle(a.signaturePath)).predicate.serialization.ignore_paths, ['.git', '.gitattributes', '.github', '.gitignore', 'model.sig']);
});

test('single-file model: named by basename, signature beside it', async () => {
  const root = makeTree({ 'tiny.gguf': 'GGUF....' });
  const s = await signModel(join(root, 'tiny.gguf'), new KeySigner(testPrivateKey()));
  assert.equal(s.signaturePath, join(root, 'tiny.gguf.sig'));
  assert.deepEqual(s.manifest.resources.map((r) => r.name), ['tiny.gguf']);
  await verifyModel(join(root, 'tiny.gguf'), keyVerifier());
});

test('shards and blake2b round trip', async () => {
  const root = makeTree({ 'w.bin': Buffer.alloc(10_000, 3) });
  await signModel(root, new KeySigner(testPrivateKey()), { method: 'shards', shardSize: 4096, hashAlgorithm: 'blake2b' });
  const r = await verifyModel(root, keyVerifier());
  assert.equal(r.resources, 3);
  assert.equal(r.serialization.hash_type, 'blake2b');
});

// Negative cases from test/fixtures/oms/README.md, each its own test.
test('negative: a changed byte in a signed file', async () => {
  const m = copyVector('v1.1.0-elliptic-key');
  const f = join(m, 'signme-2');
  const bytes = readFileSync(f);
  bytes[0]! ^= 1;
  writeFileSync(f, bytes);
  await assert.rejects(verifyModel(m, keyVerifier()), (e: any) => e.code === 'PERIM_E_MODEL_MISMATCH' && e.details.changed[0] === 'signme-2');
});

test('negative: a signed file removed', async () => {
  const m = copyVector('v1.1.0-elliptic-key');
  rmSync(join(m, 'signme-1'));
  await assert.rejects(verifyModel(m, keyVerifier()), (e: any) => e.code === 'PERIM_E_MODEL_MISMATCH' && e.details.missing[0] === 'signme-1');
});

test('negative: an extra unsigned file, accepted only with ignoreUnsignedFiles', async () => {
  const m = copyVector('v1.1.0-elliptic-key');
  writeFileSync(join(m, 'payload.py'), 'import os');
  await assert.rejects(verifyModel(m, keyVerifier()), (e: any) => e.code === 'PERIM_E_MODEL_MISMATCH' && e.details.extra[0] === 'payload.py');
  const r = await verifyModel(m, keyVerifier(), { ignoreUnsignedFiles: true });
  assert.equal(r.resources, 2);
});

test('negative: the wrong public key (named by hint, and bare signature check)', async () => {
  const other = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey;
  await assert.rejects(verifyModel(join(REF, 'v1.1.0-elliptic-key'), new KeyVerifier(other)), { code: 'PERIM_E_KEY_MISMATCH' });
  const m = copyVector('v1.1.0-elliptic-key');
  const b = readBundle(join(m, 'model.sig'));
  delete b.verificationMaterial.publicKey!.hint;
  b.verificationMaterial.publicKey!.rawBytes = undefined;
  writeFileSync(join(m, 'model.sig'), JSON.stringify({ ...b, verificationMaterial: { publicKey: {} } }));
  await assert.rejects(verifyModel(m, new KeyVerifier(other)), { code: 'PERIM_E_SIGNATURE_INVALID' });
});

async function rejectsBundle(mutate: (b: any) => void, code: string): Promise<void> {
  const m = copyVector('v1.1.0-elliptic-key');
  const b = readBundle(join(m, 'model.sig'));
  mutate(b);
  writeFileSync(join(m, 'model.sig'), JSON.stringify(b));
  await assert.rejects(verifyModel(m, keyVerifier()), { code });
}

async function rejectsStatement(mutate: (s: any) => void, code: string): Promise<void> {
  const m = copyVector('v1.1.0-elliptic-key');
  const s = statementOf(readBundle(join(m, 'model.sig')));
  mutate(s);
  writeFileSync(join(m, 'model.sig'), JSON.stringify(await signStatement(s)));
  await assert.rejects(verifyModel(m, keyVerifier()), { code });
}

test('negative: wrong bundle mediaType', () => rejectsBundle((b) => (b.mediaType = 'application/json'), 'PERIM_E_BUNDLE_MEDIA_TYPE'));
test('negative: wrong DSSE payloadType', () => rejectsBundle((b) => (b.dsseEnvelope.payloadType = 'text/plain'), 'PERIM_E_PAYLOAD_TYPE'));
test('negative: payload changed after signing', () =>
  rejectsBundle((b) => (b.dsseEnvelope.payload = Buffer.from(Buffer.from(b.dsseEnvelope.payload, 'base64').toString().replace('signme-1', 'signme-3')).toString('base64')), 'PERIM_E_SIGNATURE_INVALID'));
test('negative: statement _type wrong', () => rejectsStatement((s) => (s._type = 'https://in-toto.io/Statement/v0.1'), 'PERIM_E_STATEMENT_MALFORMED'));
test('negative: predicateType wrong', () => rejectsStatement((s) => (s.predicateType = 'https://slsa.dev/provenance/v1'), 'PERIM_E_PREDICATE_TYPE'));
test('negative: no subject', () => rejectsStatement((s) => (s.subject = []), 'PERIM_E_STATEMENT_MALFORMED'));
test('negative: empty resources list', () => rejectsStatement((s) => (s.predicate.resources = []), 'PERIM_E_RESOURCES_EMPTY'));
test('negative: subject digest not the sha256 over the resource digests', () =>
  rejectsStatement((s) => (s.subject[0].digest.sha256 = '0'.repeat(64)), 'PERIM_E_ROOT_DIGEST_MISMATCH'));
test('negative: resources reordered under the same subject digest', () =>
  rejectsStatement((s) => s.predicate.resources.reverse(), 'PERIM_E_ROOT_DIGEST_MISMATCH'));
for (const [label, name] of [['..', '../signme-1'], ['a leading /', '/etc/passwd'], ['a backslash', 'sub\\signme-1']] as const) {
  test(`negative: resource name with ${label}`, () =>
    rejectsStatement((s) => {
      s.predicate.resources[0].name = name;
    }, 'PERIM_E_RESOURCE_NAME_UNSAFE'));
}
test('negative: a symlink when allow_symlinks is false', async () => {
  const m = copyVector('v1.1.0-elliptic-key');
  symlinkSync(join(m, 'signme-1'), join(m, 'link'));
  await assert.rejects(verifyModel(m, keyVerifier()), { code: 'PERIM_E_SYMLINK_REFUSED' });
});
test('negative: a certificate bundle given to the key verifier', async () => {
  await assert.rejects(verifyModel(join(REF, 'v1.1.0-certificate'), keyVerifier(), { ignorePaths: ['ignore-me'] }), { code: 'PERIM_E_WRONG_METHOD' });
});
test('negative: a missing signature file is an I/O error, not a verdict', async () => {
  await assert.rejects(verifyModel(tempDir(), keyVerifier()), { code: 'PERIM_E_IO' });
});
test('a bundle signed twice by the same file set passes even when appended to (JSON whitespace)', async () => {
  const m = copyVector('v1.1.0-elliptic-key');
  appendFileSync(join(m, 'model.sig'), '\n\n');
  await verifyModel(m, keyVerifier());
});

test('a model signed with its .git folder (--no-ignore-git-paths) verifies, and a change there is caught', async () => {
  const root = makeTree({ 'w': 'w', '.git/HEAD': 'ref: main' });
  await signModel(root, new KeySigner(testPrivateKey()), { ignoreGitPaths: false });
  const r = await verifyModel(root, keyVerifier());
  assert.equal(r.resources, 2);
  writeFileSync(join(root, '.git/HEAD'), 'ref: evil');
  await assert.rejects(verifyModel(root, keyVerifier()), (e: any) => e.code === 'PERIM_E_MODEL_MISMATCH' && e.details.changed[0] === '.git/HEAD');
});
