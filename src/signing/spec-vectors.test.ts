/** The OMS spec's own vectors and schemas (test/fixtures/oms/spec). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parseBundle } from './bundle.ts';
import { parseStatement } from './statement.ts';
import { KeySigner, KeyVerifier } from './key-method.ts';
import { readBundleFile, signModel, verifyModel } from './model.ts';
import { OMS, makeTree } from '../../test/helpers.ts';
import { REF, copyVector, statementOf, testPrivateKey, testPublicKey } from '../../test/oms.ts';

const SPEC = join(OMS, 'spec');
const schema = (n: string) => JSON.parse(readFileSync(join(SPEC, 'schemas', 'v1.0', `${n}.schema.json`), 'utf8'));

function validators() {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  for (const n of ['predicate', 'envelope', 'statement', 'bundle']) ajv.addSchema(schema(n));
  return {
    bundle: ajv.getSchema('https://model_signing/bundle/v1.0/schema')!,
    statement: ajv.getSchema('https://model_signing/statement/v1.0/schema')!,
  };
}

test('the spec valid vectors validate against the schemas (the validator is live)', () => {
  const v = validators();
  for (const f of readdirSync(join(SPEC, 'test-vectors/v1.0/valid'))) {
    const b = JSON.parse(readFileSync(join(SPEC, 'test-vectors/v1.0/valid', f), 'utf8'));
    assert.ok(v.bundle(b), `${f}: ${JSON.stringify(v.bundle.errors)}`);
    assert.ok(v.statement(statementOf(b)), `${f} statement: ${JSON.stringify(v.statement.errors)}`);
  }
  assert.equal(v.statement({ _type: 'x' }), false);
});

test('bundles Perimeter signs validate against the OMS v1.0 schemas (files and shards)', async () => {
  const v = validators();
  for (const opts of [{}, { method: 'shards' as const, shardSize: 1000 }, { hashAlgorithm: 'blake3' as const }]) {
    const root = makeTree({ 'a.bin': Buffer.alloc(2500, 1), 'cfg/config.json': '{}' });
    const { bundle } = await signModel(root, new KeySigner(testPrivateKey()), opts);
    const written = JSON.parse(readFileSync(join(root, 'model.sig'), 'utf8'));
    assert.deepEqual(written, bundle);
    assert.ok(v.bundle(written), JSON.stringify(v.bundle.errors));
    assert.ok(v.statement(statementOf(written)), JSON.stringify(v.statement.errors));
  }
});

test('spec valid key.bundle.json verifies against the signme files with the P-384 key', async () => {
  const m = copyVector('v1.1.0-elliptic-key');
  writeFileSync(join(m, 'model.sig'), readFileSync(join(SPEC, 'test-vectors/v1.0/valid/key.bundle.json')));
  const r = await verifyModel(m, new KeyVerifier(testPublicKey()), { ignorePaths: ['ignore-me'] });
  assert.equal(r.resources, 2);
});

test('spec invalid vectors are rejected with a coded error', async () => {
  const dir = join(SPEC, 'test-vectors/v1.0/invalid');
  const expected: Record<string, string> = {
    'empty.bundle.json': 'PERIM_E_BUNDLE_MALFORMED',
    'missing-envelope.bundle.json': 'PERIM_E_BUNDLE_MALFORMED',
    'missing-verification-material.bundle.json': 'PERIM_E_BUNDLE_MALFORMED',
  };
  for (const [f, code] of Object.entries(expected)) assert.throws(() => readBundleFile(join(dir, f)), { code }, f);
  // missing-tlog-entries is a sigstore bundle with no log entry: see sigstore/verifier.test.ts.
  assert.deepEqual(readdirSync(dir).sort(), [...Object.keys(expected), 'missing-tlog-entries.bundle.json'].sort());
});

test('spec invalid-payload wrong-predicate is rejected; its statement fails the predicate check', async () => {
  const path = join(SPEC, 'test-vectors/v1.0/invalid-payload/wrong-predicate.bundle.json');
  const m = copyVector('v1.1.0-elliptic-key');
  writeFileSync(join(m, 'model.sig'), readFileSync(path));
  // The vector's signature is not a real one over its payload, so verification stops there...
  await assert.rejects(verifyModel(m, new KeyVerifier(testPublicKey()), { ignorePaths: ['ignore-me'] }), { code: 'PERIM_E_SIGNATURE_INVALID' });
  // ...and its statement on its own is refused for the predicate type.
  const payload = Buffer.from(readBundleFile(path).dsseEnvelope.payload, 'base64');
  assert.throws(() => parseStatement(payload), { code: 'PERIM_E_PREDICATE_TYPE' });
});

test('parseBundle refuses non-JSON, huge and structurally wrong input', () => {
  assert.throws(() => parseBundle('not json'), { code: 'PERIM_E_BUNDLE_MALFORMED' });
  assert.throws(() => parseBundle('[]'), { code: 'PERIM_E_BUNDLE_MALFORMED' });
  assert.throws(() => parseBundle(Buffer.alloc(17 * 1024 * 1024, 0x20)), { code: 'PERIM_E_BUNDLE_MALFORMED' });
  const good = JSON.parse(readFileSync(join(REF, 'v1.1.0-elliptic-key', 'model.sig'), 'utf8'));
  assert.throws(() => parseBundle(JSON.stringify({ ...good, verificationMaterial: { publicKey: { hint: 'x' }, certificate: { rawBytes: 'AA==' } } })), { code: 'PERIM_E_BUNDLE_MALFORMED' });
  assert.throws(() => parseBundle(JSON.stringify({ ...good, dsseEnvelope: { ...good.dsseEnvelope, signatures: [] } })), { code: 'PERIM_E_BUNDLE_MALFORMED' });
  assert.throws(() => parseBundle(JSON.stringify({ ...good, dsseEnvelope: { ...good.dsseEnvelope, payload: '!!!' } })), { code: 'PERIM_E_BUNDLE_MALFORMED' });
});
