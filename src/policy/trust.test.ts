/** Admission against certificate anchors and Sigstore identities from the config (SQLite; the backends are covered in admit.test.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MemorySink } from '../audit/events.ts';
import { parseConfig } from '../config/load.ts';
import { hashModel } from '../artifact/hash.ts';
import { statementBytes } from '../signing/statement.ts';
import { CertificateSigner } from '../signing/certificate-signer.ts';
import { makeChain } from '../signing/x509/test-pki.ts';
import { FakeSigstore } from '../signing/sigstore/test-sigstore.ts';
import { openStore } from '../store/store.ts';
import { makeTree, tempDir } from '../../test/helpers.ts';
import { admit } from './admit.ts';
import { addTestArtifact, insertArtifact, makeTestKey } from './test-artifacts.ts';

const signatureReason = (d: { reasons: { check: string; message: string; status: string }[] }) => d.reasons.find((r) => r.check === 'signature.trusted')!;

test('certificate trust: a bundle chaining to a configured anchor is admitted; another anchor is not trusted', async () => {
  const store = await openStore(join(tempDir(), 'p.db'));
  const dir = tempDir();
  const { root, intermediate, leaf } = makeChain();
  const other = makeChain();
  writeFileSync(join(dir, 'root.pem'), root.pem);
  writeFileSync(join(dir, 'other.pem'), other.root.pem);
  const a = await addTestArtifact(store, { signer: new CertificateSigner(leaf.privateKey, [leaf.der, intermediate.der]) });
  const sink = new MemorySink();
  const yes = await admit({ store, sink, config: parseConfig('admission: { trust: { certificates: [root.pem] } }', { baseDir: dir, source: 't' }) }, { digest: a.digest, env: 'prod' });
  assert.equal(yes.allowed, true, JSON.stringify(yes.reasons));
  assert.match(signatureReason(yes).message, /signed by .*test-leaf.*admission\.trust\.certificates/);
  const no = await admit({ store, sink, config: parseConfig('admission: { trust: { certificates: [other.pem] } }', { baseDir: dir, source: 't' }) }, { digest: a.digest, env: 'prod' });
  assert.equal(no.allowed, false);
  assert.match(signatureReason(no).message, /PERIM_E_CERT_CHAIN/);
  // a key-only environment does not accept a certificate bundle
  writeFileSync(join(dir, 'k.pub'), makeTestKey().publicKey.export({ type: 'spki', format: 'pem' }));
  const keysOnly = await admit({ store, sink, config: parseConfig('admission: { trust: { keys: [k.pub] } }', { baseDir: dir, source: 't' }) }, { digest: a.digest, env: 'prod' });
  assert.match(signatureReason(keysOnly).message, /signed with a method nothing in admission\.trust trusts/);
  await store.close();
});

test('sigstore trust: the identity and issuer must both match the configured ones', async () => {
  const store = await openStore(join(tempDir(), 'p.db'));
  const dir = tempDir();
  const fake = new FakeSigstore();
  writeFileSync(join(dir, 'trusted_root.json'), JSON.stringify(fake.trustRootJson));
  const model = makeTree({ 'model.gguf': 'GGUF weights' });
  const { manifest } = await hashModel(model);
  const bundle = fake.bundle({ payload: statementBytes(manifest) });
  // the registry may keep the bundle inline in the artifact's metadata
  await insertArtifact(store, { digest: manifest.rootDigest, path: model, metadata: { bundle } });
  const cfg = (identity: string, issuer: string) =>
    parseConfig(`admission:\n  trust:\n    sigstore: [{ identity: "${identity}", issuer: "${issuer}", trust_root: trusted_root.json }]\n`, { baseDir: dir, source: 't' });
  const sink = new MemorySink();
  const yes = await admit({ store, sink, config: cfg('alice@example.com', 'https://issuer.example') }, { digest: manifest.rootDigest, env: 'prod' });
  assert.equal(yes.allowed, true, JSON.stringify(yes.reasons));
  assert.match(signatureReason(yes).message, /alice@example\.com.*bundle: registry metadata/);
  const wrongWho = await admit({ store, sink, config: cfg('mallory@example.com', 'https://issuer.example') }, { digest: manifest.rootDigest, env: 'prod' });
  assert.match(signatureReason(wrongWho).message, /PERIM_E_IDENTITY_MISMATCH/);
  const wrongIssuer = await admit({ store, sink, config: cfg('alice@example.com', 'https://other.example') }, { digest: manifest.rootDigest, env: 'prod' });
  assert.match(signatureReason(wrongIssuer).message, /PERIM_E_ISSUER_MISMATCH/);
  await store.close();
});
