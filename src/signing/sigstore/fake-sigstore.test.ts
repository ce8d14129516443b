/**
 * Checks the real vectors cannot reach, against a miniature Sigstore made of fresh keys: every
 * other check passes, so each failure below is the one named.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPerimeterError } from '../../errors/errors.ts';
import type { ErrorCode } from '../../errors/errors.ts';
import { OID } from '../x509/extensions.ts';
import { makeKeyPair } from '../x509/test-pki.ts';
import { FakeSigstore } from './test-sigstore.ts';
import { parseTrustRoot } from './trust-root.ts';
import { SigstoreVerifier } from './verifier.ts';

const fake = new FakeSigstore();
const code = (c: ErrorCode) => (e: unknown) => isPerimeterError(e, c);
const verifier = (o: { identity?: string; issuer?: string } = {}) =>
  new SigstoreVerifier({ identity: o.identity ?? 'alice@example.com', issuer: o.issuer ?? 'https://issuer.example', trustRoot: fake.trustRoot });

test('a well-formed bundle from the fake Sigstore verifies', async () => {
  const out = await verifier().verify(fake.bundle());
  assert.equal(out.signer.subject, 'alice@example.com');
  assert.match(out.signer.checks.join('\n'), /embedded SCT verified \(https:\/\/ct\.fake/);
});

test('the leaf must be valid at integratedTime, not merely at some time', async () => {
  const leaf = fake.issue();
  await verifier().verify(fake.bundle({ leaf, integratedTime: leaf.cert.notAfter }));
  await assert.rejects(verifier().verify(fake.bundle({ leaf, integratedTime: new Date(leaf.cert.notAfter.getTime() + 1000) })), code('PERIM_E_CERT_EXPIRED'));
  await assert.rejects(verifier().verify(fake.bundle({ leaf, integratedTime: new Date(leaf.cert.notBefore.getTime() - 1000) })), code('PERIM_E_CERT_EXPIRED'));
});

test('a DSSE signature by another key fails PERIM_E_SIGNATURE_INVALID even when logged', async () => {
  await assert.rejects(verifier().verify(fake.bundle({ dsseKey: makeKeyPair().privateKey })), code('PERIM_E_SIGNATURE_INVALID'));
});

test('the leaf needs a valid SCT from a trusted CT log', async () => {
  await assert.rejects(verifier().verify(fake.bundle({ leaf: fake.issue({ sct: 'none' }) })), (e) => isPerimeterError(e, 'PERIM_E_TLOG') && /no embedded SCT/.test(e.message));
  await assert.rejects(verifier().verify(fake.bundle({ leaf: fake.issue({ sct: 'wrong-key' }) })), (e) => isPerimeterError(e, 'PERIM_E_TLOG') && /SCT signature/.test(e.message));
});

test('the leaf needs digitalSignature and codeSigning', async () => {
  await assert.rejects(verifier().verify(fake.bundle({ leaf: fake.issue({ extKeyUsage: ['1.3.6.1.5.5.7.3.1'] }) })), code('PERIM_E_CERT_USAGE'));
  await assert.rejects(verifier().verify(fake.bundle({ leaf: fake.issue({ keyUsage: ['keyEncipherment'] }) })), code('PERIM_E_CERT_USAGE'));
  await verifier().verify(fake.bundle({ leaf: fake.issue({ extKeyUsage: ['1.3.6.1.5.5.7.3.1', OID.ekuCodeSigning] }) }));
});

test('issuer: either extension alone is enough, both present must agree, none fails', async () => {
  await verifier().verify(fake.bundle({ leaf: fake.issue({ issuerV1: null }) }));
  await verifier().verify(fake.bundle({ leaf: fake.issue({ issuerV2: null }) }));
  await assert.rejects(verifier().verify(fake.bundle({ leaf: fake.issue({ issuerV1: 'https://evil.example' }) })), code('PERIM_E_ISSUER_MISMATCH'));
  await assert.rejects(verifier().verify(fake.bundle({ leaf: fake.issue({ issuerV1: null, issuerV2: null }) })), code('PERIM_E_ISSUER_MISMATCH'));
});

test('a URI identity (CI workflow) matches exactly', async () => {
  const uri = 'https://github.com/org/repo/.github/workflows/release.yml@refs/tags/v1';
  const bundle = fake.bundle({ leaf: fake.issue({ san: { uri } }) });
  assert.equal((await verifier({ identity: uri }).verify(bundle)).signer.subject, uri);
  await assert.rejects(verifier({ identity: uri.replace('v1', 'v2') }).verify(bundle), code('PERIM_E_IDENTITY_MISMATCH'));
});

test('SET and inclusion proof are both required', async () => {
  await assert.rejects(verifier().verify(fake.bundle({ withSet: false })), code('PERIM_E_TLOG'));
  await assert.rejects(verifier().verify(fake.bundle({ withProof: false })), code('PERIM_E_TLOG'));
});

test('a Fulcio CA whose validFor does not cover integratedTime is not used', async () => {
  const json = structuredClone(fake.trustRootJson) as { certificateAuthorities: { validFor: { start: string; end?: string } }[] };
  json.certificateAuthorities[0]!.validFor = { start: '2000-01-01T00:00:00Z', end: '2001-01-01T00:00:00Z' };
  const v = new SigstoreVerifier({ identity: 'alice@example.com', issuer: 'https://issuer.example', trustRoot: parseTrustRoot(JSON.stringify(json)) });
  await assert.rejects(v.verify(fake.bundle()), code('PERIM_E_CERT_CHAIN'));
});

test('a leaf issued by an untrusted CA with the same names fails PERIM_E_CERT_CHAIN', async () => {
  const other = new FakeSigstore();
  const leaf = other.issue();
  // log it in our fake Rekor so only the chain is wrong
  await assert.rejects(verifier().verify(fake.bundle({ leaf })), code('PERIM_E_CERT_CHAIN'));
});
