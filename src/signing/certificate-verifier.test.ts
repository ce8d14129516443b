import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isPerimeterError } from '../errors/errors.ts';
import type { ErrorCode } from '../errors/errors.ts';
import { parseBundle } from './bundle.ts';
import type { Bundle } from './bundle.ts';
import { CertificateVerifier } from './certificate-verifier.ts';
import { pae } from './dsse.ts';
import { OID } from './x509/extensions.ts';
import { makeCert } from './x509/test-pki.ts';
import type { TestCert } from './x509/test-pki.ts';

const FIX = new URL('../../test/fixtures/oms/', import.meta.url);
const read = (p: string) => readFileSync(new URL(p, FIX), 'utf8');
const CA = read('reference-cli/keys/certificate/ca-cert.pem');
const bundleAt = (p: string): Bundle => parseBundle(read(p));
const code = (c: ErrorCode) => (e: unknown) => isPerimeterError(e, c);
const VERSIONS = ['v0.2.0', 'v0.3.1', 'v1.0.0', 'v1.0.1', 'v1.1.0'];

test('every reference certificate bundle verifies with ca-cert.pem', async () => {
  const verifier = new CertificateVerifier([CA]);
  for (const v of VERSIONS) {
    const bundle = bundleAt(`reference-cli/${v}-certificate/model.sig`);
    const out = await verifier.verify(bundle);
    assert.equal(out.payloadType, 'application/vnd.in-toto+json');
    assert.deepEqual(out.payload, Buffer.from(bundle.dsseEnvelope.payload, 'base64'));
    assert.equal(out.signer.method, 'certificate');
    assert.equal(out.signer.subject, 'CN=intermediate-ca');
    assert.equal(out.signer.signedAt, '2025-05-02T23:36:28Z');
    assert.match(out.signer.checks[0]!, /^certificate chain to trusted anchor "CN=root-ca" at 2025-05-02T23:36:28Z/);
    const compat = out.signer.checks.some((c) => c.includes('v0.2.0 compatibility'));
    assert.equal(compat, v === 'v0.2.0', `${v} compat PAE`);
  }
});

test('the spec certificate vector chains to the same CA', async () => {
  const out = await new CertificateVerifier([CA]).verify(bundleAt('spec/test-vectors/v1.0/valid/certificate.bundle.json'));
  assert.equal(out.signer.subject, 'CN=intermediate-ca');
});

test('keyHint matches the reference publicKey.hint for the same key', async () => {
  const out = await new CertificateVerifier([CA]).verify(bundleAt('reference-cli/v1.1.0-certificate/model.sig'));
  const keyBundle = JSON.parse(read('reference-cli/v1.1.0-elliptic-key/model.sig'));
  assert.equal(out.signer.keyHint, keyBundle.verificationMaterial.publicKey.hint);
  assert.equal(out.signer.keyHint, 'e8450dec4eb99dae995da9af1bc2cc9f76ed669ee2e744f57abba763df3e3f8e');
});

test('a PEM file with several certificates works; the wrong CA fails PERIM_E_CERT_CHAIN', async () => {
  const other = makeCert({ subject: 'root-ca', ca: { cA: true }, keyUsage: ['keyCertSign'] });
  const bundle = bundleAt('reference-cli/v1.0.1-certificate/model.sig');
  await new CertificateVerifier([other.pem + CA]).verify(bundle);
  await assert.rejects(new CertificateVerifier([other.pem]).verify(bundle), code('PERIM_E_CERT_CHAIN'));
  assert.throws(() => new CertificateVerifier(['no pem here']), code('PERIM_E_TRUST_ROOT'));
  assert.throws(() => new CertificateVerifier([]), code('PERIM_E_TRUST_ROOT'));
});

test('a tampered payload or signature fails PERIM_E_SIGNATURE_INVALID', async () => {
  const verifier = new CertificateVerifier([CA]);
  for (const v of ['v0.2.0', 'v1.1.0']) {
    const bundle = bundleAt(`reference-cli/${v}-certificate/model.sig`);
    const payload = Buffer.from(bundle.dsseEnvelope.payload, 'base64');
    payload[payload.length - 3]! ^= 1;
    bundle.dsseEnvelope.payload = payload.toString('base64');
    await assert.rejects(verifier.verify(bundle), code('PERIM_E_SIGNATURE_INVALID'));
  }
  const bundle = bundleAt('reference-cli/v1.1.0-certificate/model.sig');
  bundle.dsseEnvelope.signatures.push({ ...bundle.dsseEnvelope.signatures[0]! });
  await assert.rejects(verifier.verify(bundle), code('PERIM_E_BUNDLE_MALFORMED'));
});

test('key and sigstore bundles are the wrong method', async () => {
  const verifier = new CertificateVerifier([CA]);
  await assert.rejects(verifier.verify(bundleAt('reference-cli/v1.1.0-elliptic-key/model.sig')), code('PERIM_E_WRONG_METHOD'));
  await assert.rejects(verifier.verify(bundleAt('reference-cli/v1.1.0-sigstore/model.sig')), code('PERIM_E_WRONG_METHOD'));
});

test('expiry is enforced at the verification time', async () => {
  const bundle = bundleAt('reference-cli/v1.1.0-certificate/model.sig');
  await new CertificateVerifier([CA], { now: new Date('2035-04-30T23:36:28Z') }).verify(bundle);
  await assert.rejects(new CertificateVerifier([CA], { now: new Date('2035-05-01T00:00:00Z') }).verify(bundle), code('PERIM_E_CERT_EXPIRED'));
});

function makeBundle(leaf: TestCert, chain: TestCert[]): Bundle {
  const payload = Buffer.from(JSON.stringify({ _type: 'https://in-toto.io/Statement/v1' }));
  const sig = sign('sha256', pae(payload), leaf.privateKey);
  return {
    mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    verificationMaterial: { x509CertificateChain: { certificates: [leaf, ...chain].map((c) => ({ rawBytes: c.der.toString('base64') })) }, tlogEntries: [] },
    dsseEnvelope: { payload: payload.toString('base64'), payloadType: 'application/vnd.in-toto+json', signatures: [{ sig: sig.toString('base64') }] },
  };
}

test('leaf usage follows the reference: digitalSignature, or else EKU codeSigning', async () => {
  const root = makeCert({ subject: 'r', ca: { cA: true }, keyUsage: ['keyCertSign'] });
  const verifier = new CertificateVerifier([root.pem]);
  const ds = makeCert({ subject: 'ds', issuer: root, keyUsage: ['digitalSignature'] });
  assert.equal((await verifier.verify(makeBundle(ds, []))).signer.subject, 'CN=ds');
  const eku = makeCert({ subject: 'eku', issuer: root, keyUsage: ['keyEncipherment'], extKeyUsage: [OID.ekuCodeSigning] });
  assert.match((await verifier.verify(makeBundle(eku, []))).signer.checks.join('\n'), /codeSigning/);
  const none = makeCert({ subject: 'none', issuer: root, keyUsage: ['keyEncipherment'], extKeyUsage: ['1.3.6.1.5.5.7.3.1'] });
  await assert.rejects(verifier.verify(makeBundle(none, [])), code('PERIM_E_CERT_USAGE'));
  const bare = makeCert({ subject: 'bare', issuer: root });
  await assert.rejects(verifier.verify(makeBundle(bare, [])), code('PERIM_E_CERT_USAGE'));
});

test('the chain is checked at the leaf notBefore, so a CA that expired later does not matter', async () => {
  const day = 86400_000;
  const now = Date.now();
  const root = makeCert({ subject: 'r', ca: { cA: true }, keyUsage: ['keyCertSign'], notAfter: new Date(now + day) });
  const leaf = makeCert({ subject: 'l', issuer: root, keyUsage: ['digitalSignature'], notAfter: new Date(now + 30 * day) });
  await new CertificateVerifier([root.pem], { now: new Date(now + 10 * day) }).verify(makeBundle(leaf, []));
});

test('an RSA leaf is refused with PERIM_E_KEY_UNSUPPORTED', async () => {
  const root = makeCert({ subject: 'r', ca: { cA: true }, keyUsage: ['keyCertSign'] });
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const leaf = makeCert({ subject: 'rsa', issuer: root, keys: rsa, keyUsage: ['digitalSignature'] });
  await assert.rejects(new CertificateVerifier([root.pem]).verify(makeBundle(leaf, [])), code('PERIM_E_KEY_UNSUPPORTED'));
});
