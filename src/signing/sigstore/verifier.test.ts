import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { isPerimeterError } from '../../errors/errors.ts';
import type { ErrorCode } from '../../errors/errors.ts';
import { parseBundle } from '../bundle.ts';
import type { Bundle, TlogEntry } from '../bundle.ts';
import { defaultTrustRoot, parseTrustRoot } from './trust-root.ts';
import { SigstoreVerifier } from './verifier.ts';

const FIX = new URL('../../../test/fixtures/oms/', import.meta.url);
const read = (p: string) => readFileSync(new URL(p, FIX), 'utf8');
const VERSIONS = ['v0.3.1', 'v1.0.0', 'v1.0.1', 'v1.1.0'];
const IDENTITY = 'stefanb@us.ibm.com';
const ISSUER = 'https://sigstore.verify.ibm.com/oauth2';
const vector = (v = 'v1.1.0'): Bundle => parseBundle(read(`reference-cli/${v}-sigstore/model.sig`));
const entryOf = (b: Bundle): TlogEntry => b.verificationMaterial.tlogEntries![0]!;
const code = (c: ErrorCode) => (e: unknown) => isPerimeterError(e, c);
const verifier = (o: Partial<ConstructorParameters<typeof SigstoreVerifier>[0]> = {}) => new SigstoreVerifier({ identity: IDENTITY, issuer: ISSUER, ...o });
const flipB64 = (s: string, at = 10): string => {
  const b = Buffer.from(s, 'base64');
  b[at]! ^= 0x01;
  return b.toString('base64');
};

test('every reference sigstore bundle verifies offline with the shipped trust root, long after the leaf expired', async () => {
  for (const v of VERSIONS) {
    const bundle = vector(v);
    const out = await verifier().verify(bundle);
    assert.equal(out.signer.method, 'sigstore');
    assert.equal(out.signer.subject, IDENTITY);
    assert.equal(out.signer.issuer, ISSUER);
    assert.equal(out.signer.signedAt, new Date(Number(entryOf(bundle).integratedTime) * 1000).toISOString().replace('.000Z', 'Z'));
    assert.deepEqual(out.payload, Buffer.from(bundle.dsseEnvelope.payload, 'base64'));
    const checks = out.signer.checks.join('\n');
    for (const phrase of ['signed entry timestamp verified', 'inclusion proof verified', 'entry body matches', 'certificate chain to Fulcio root', 'embedded SCT verified', 'identity is', 'OIDC issuer is', 'DSSE signature verified']) {
      assert.ok(checks.includes(phrase), `${v}: ${phrase}`);
    }
  }
  const spec = await verifier().verify(parseBundle(read('spec/test-vectors/v1.0/valid/sigstore.bundle.json')));
  assert.match(spec.signer.checks.join('\n'), /RFC 3161 timestamp\(s\) present but not checked/);
});

test('an old-style bundle with the leaf as a one-element x509CertificateChain verifies', async () => {
  const b = vector('v1.0.1');
  b.verificationMaterial.x509CertificateChain = { certificates: [b.verificationMaterial.certificate!] };
  delete b.verificationMaterial.certificate;
  assert.equal((await verifier().verify(b)).signer.subject, IDENTITY);
});

test('identity and issuer must match exactly', async () => {
  await assert.rejects(verifier({ identity: 'someone@us.ibm.com' }).verify(vector()), code('PERIM_E_IDENTITY_MISMATCH'));
  await assert.rejects(verifier({ identity: 'STEFANB@us.ibm.com' }).verify(vector()), code('PERIM_E_IDENTITY_MISMATCH'));
  await assert.rejects(verifier({ issuer: 'https://accounts.google.com' }).verify(vector()), code('PERIM_E_ISSUER_MISMATCH'));
  await assert.rejects(verifier({ issuer: `${ISSUER}/` }).verify(vector()), code('PERIM_E_ISSUER_MISMATCH'));
});

test('a tampered signed entry timestamp fails PERIM_E_TLOG', async () => {
  const b = vector();
  entryOf(b).inclusionPromise!.signedEntryTimestamp = flipB64(entryOf(b).inclusionPromise!.signedEntryTimestamp, 20);
  await assert.rejects(verifier().verify(b), code('PERIM_E_TLOG'));
  const moved = vector();
  entryOf(moved).integratedTime = String(Number(entryOf(moved).integratedTime) + 60);
  await assert.rejects(verifier().verify(moved), code('PERIM_E_TLOG'));
  const noSet = vector();
  delete entryOf(noSet).inclusionPromise;
  await assert.rejects(verifier().verify(noSet), (e) => isPerimeterError(e, 'PERIM_E_TLOG') && /signed entry timestamp/.test(e.message));
});

test('a tampered inclusion proof or checkpoint fails PERIM_E_TLOG', async () => {
  const b = vector();
  entryOf(b).inclusionProof!.hashes[3] = flipB64(entryOf(b).inclusionProof!.hashes[3]!, 0);
  await assert.rejects(verifier().verify(b), (e) => isPerimeterError(e, 'PERIM_E_TLOG') && /inclusion proof/.test(e.message));
  const short = vector();
  entryOf(short).inclusionProof!.hashes.pop();
  await assert.rejects(verifier().verify(short), code('PERIM_E_TLOG'));
  const cp = vector();
  const proof = entryOf(cp).inclusionProof!;
  proof.checkpoint.envelope = proof.checkpoint.envelope.replace(`\n${proof.treeSize}\n`, `\n${BigInt(proof.treeSize) + 1n}\n`);
  await assert.rejects(verifier().verify(cp), (e) => isPerimeterError(e, 'PERIM_E_TLOG') && /checkpoint/.test(e.message));
  const none = vector();
  delete entryOf(none).inclusionProof;
  await assert.rejects(verifier().verify(none), code('PERIM_E_TLOG'));
});

test('a log entry that does not match the envelope fails PERIM_E_TLOG', async () => {
  const b = vector();
  const other = vector('v1.0.1');
  b.dsseEnvelope.signatures[0]!.sig = other.dsseEnvelope.signatures[0]!.sig;
  await assert.rejects(verifier().verify(b), (e) => isPerimeterError(e, 'PERIM_E_TLOG') && /signature/.test(e.message));
  const p = vector();
  p.dsseEnvelope.payload = other.dsseEnvelope.payload;
  await assert.rejects(verifier().verify(p), (e) => isPerimeterError(e, 'PERIM_E_TLOG') && /payload hash/.test(e.message));
  // another bundle's (valid) log entry
  const swapped = vector();
  swapped.verificationMaterial.tlogEntries = other.verificationMaterial.tlogEntries!;
  await assert.rejects(verifier().verify(swapped), code('PERIM_E_TLOG'));
});

test('a bundle without a log entry, with two, or with a Rekor v2 entry fails PERIM_E_TLOG', async () => {
  const none = vector();
  none.verificationMaterial.tlogEntries = [];
  await assert.rejects(verifier().verify(none), code('PERIM_E_TLOG'));
  const two = vector();
  two.verificationMaterial.tlogEntries!.push(entryOf(two));
  await assert.rejects(verifier().verify(two), code('PERIM_E_TLOG'));
  const v2 = vector();
  entryOf(v2).kindVersion = { kind: 'hashedrekord', version: '0.0.2' };
  await assert.rejects(verifier().verify(v2), (e) => isPerimeterError(e, 'PERIM_E_TLOG') && /Rekor v2/.test(e.message));
  const intoto = vector();
  entryOf(intoto).kindVersion = { kind: 'intoto', version: '0.0.2' };
  await assert.rejects(verifier().verify(intoto), code('PERIM_E_TLOG'));
});

test('the log and the Fulcio CA must be in the trust root', async () => {
  const json = JSON.parse(read('sigstore-public-good.trusted_root.json'));
  const withoutCa = { ...json, certificateAuthorities: json.certificateAuthorities.slice(0, 1) };
  await assert.rejects(verifier({ trustRoot: parseTrustRoot(JSON.stringify(withoutCa)) }).verify(vector()), code('PERIM_E_CERT_CHAIN'));
  const noCa = { ...json, certificateAuthorities: [] };
  assert.throws(() => verifier({ trustRoot: parseTrustRoot(JSON.stringify(noCa)) }), code('PERIM_E_TRUST_ROOT'));
  const otherLog = structuredClone(json);
  otherLog.tlogs[0].logId.keyId = Buffer.alloc(32, 7).toString('base64');
  await assert.rejects(verifier({ trustRoot: parseTrustRoot(JSON.stringify(otherLog)) }).verify(vector()), code('PERIM_E_TLOG'));
  const lateLog = structuredClone(json);
  lateLog.tlogs[0].publicKey.validFor = { start: '2026-01-01T00:00:00Z' };
  await assert.rejects(verifier({ trustRoot: parseTrustRoot(JSON.stringify(lateLog)) }).verify(vector()), code('PERIM_E_TLOG'));
  const noCt = { ...json, ctlogs: [] };
  await assert.rejects(verifier({ trustRoot: parseTrustRoot(JSON.stringify(noCt)) }).verify(vector()), (e) => isPerimeterError(e, 'PERIM_E_TLOG') && /SCT/.test(e.message));
});

test('key and certificate bundles are the wrong method', async () => {
  await assert.rejects(verifier().verify(parseBundle(read('reference-cli/v1.1.0-elliptic-key/model.sig'))), code('PERIM_E_WRONG_METHOD'));
  await assert.rejects(verifier().verify(parseBundle(read('reference-cli/v1.1.0-certificate/model.sig'))), code('PERIM_E_WRONG_METHOD'));
});

test('the verification clock only bounds integratedTime from the future', async () => {
  const t = Number(entryOf(vector()).integratedTime) * 1000;
  await verifier({ now: new Date(t + 1000) }).verify(vector());
  await verifier({ now: new Date('2040-01-01T00:00:00Z') }).verify(vector());
  await assert.rejects(verifier({ now: new Date(t - 3600_000) }).verify(vector()), code('PERIM_E_TLOG'));
});

test('more than one DSSE signature is malformed; the default trust root is the shipped one', async () => {
  const b = vector();
  b.dsseEnvelope.signatures.push({ ...b.dsseEnvelope.signatures[0]! });
  await assert.rejects(verifier().verify(b), code('PERIM_E_BUNDLE_MALFORMED'));
  assert.equal(defaultTrustRoot().tlogs[0]!.baseUrl, 'https://rekor.sigstore.dev');
  assert.throws(() => new SigstoreVerifier({ identity: '', issuer: ISSUER }), code('PERIM_E_USAGE'));
});

test('random corruption of any bundle field only ever yields a PerimeterError', async () => {
  let seed = 1234;
  const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n;
  const corruptB64 = (s: string): string => {
    const b = Buffer.from(s, 'base64');
    if (b.length === 0) return s;
    for (let k = 0; k <= rnd(3); k++) b[rnd(b.length)] = rnd(256);
    return (rnd(5) === 0 ? b.subarray(0, rnd(b.length)) : b).toString('base64');
  };
  const corruptText = (s: string): string => {
    const i = rnd(s.length + 1);
    return s.slice(0, i) + String.fromCharCode(rnd(128)) + s.slice(i + 1);
  };
  const fields: ((b: Bundle) => void)[] = [
    (b) => (b.verificationMaterial.certificate!.rawBytes = corruptB64(b.verificationMaterial.certificate!.rawBytes)),
    (b) => (entryOf(b).canonicalizedBody = corruptB64(entryOf(b).canonicalizedBody)),
    (b) => (entryOf(b).inclusionPromise!.signedEntryTimestamp = corruptB64(entryOf(b).inclusionPromise!.signedEntryTimestamp)),
    (b) => (entryOf(b).inclusionProof!.rootHash = corruptB64(entryOf(b).inclusionProof!.rootHash)),
    (b) => (entryOf(b).inclusionProof!.checkpoint.envelope = corruptText(entryOf(b).inclusionProof!.checkpoint.envelope)),
    (b) => (entryOf(b).inclusionProof!.treeSize = corruptText(entryOf(b).inclusionProof!.treeSize)),
    (b) => (entryOf(b).integratedTime = corruptText(entryOf(b).integratedTime)),
    (b) => (entryOf(b).logIndex = corruptText(entryOf(b).logIndex)),
    (b) => (entryOf(b).logId.keyId = corruptB64(entryOf(b).logId.keyId)),
    (b) => (b.dsseEnvelope.payload = corruptB64(b.dsseEnvelope.payload)),
    (b) => (b.dsseEnvelope.signatures[0]!.sig = corruptB64(b.dsseEnvelope.signatures[0]!.sig)),
  ];
  const v = verifier();
  for (let i = 0; i < 400; i++) {
    const b = vector(VERSIONS[i % VERSIONS.length]);
    fields[rnd(fields.length)]!(b);
    try {
      await v.verify(b);
    } catch (e) {
      assert.ok(isPerimeterError(e), `iteration ${i}: ${String(e)}`);
      continue;
    }
    // a corruption that changed nothing (e.g. a byte set to its own value) may still verify
  }
});

test('the spec invalid vector missing-tlog-entries fails PERIM_E_TLOG', async () => {
  const b = parseBundle(read('spec/test-vectors/v1.0/invalid/missing-tlog-entries.bundle.json'));
  await assert.rejects(verifier().verify(b), (e) => isPerimeterError(e, 'PERIM_E_TLOG') && /no transparency-log entry/.test(e.message));
});
