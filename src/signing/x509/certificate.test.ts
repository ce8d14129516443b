import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isPerimeterError } from '../../errors/errors.ts';
import { certificatePublicKey, certificateToPem, getExtension, parseCertificate, pemCertificates } from './certificate.ts';
import { OID, decodeRawUtf8Extension, decodeUtf8StringExtension } from './extensions.ts';
import { certificateSignedBy } from './signature.ts';
import { makeCert } from './test-pki.ts';

const FIX = new URL('../../../test/fixtures/oms/', import.meta.url);
const pem = (name: string) => readFileSync(new URL(`reference-cli/keys/certificate/${name}`, FIX), 'utf8');
const malformed = (e: unknown): boolean => isPerimeterError(e, 'PERIM_E_CERT_MALFORMED');

function fulcioLeafDer(): Buffer {
  const b = JSON.parse(readFileSync(new URL('reference-cli/v1.1.0-sigstore/model.sig', FIX), 'utf8'));
  return Buffer.from(b.verificationMaterial.certificate.rawBytes, 'base64');
}

test('parses the reference CA certificates like OpenSSL does', () => {
  for (const name of ['ca-cert.pem', 'int-ca-cert.pem', 'signing-key-cert.pem']) {
    const [der] = pemCertificates(pem(name));
    const cert = parseCertificate(der!);
    const x = new X509Certificate(der!);
    assert.equal(cert.version, 3);
    assert.equal(cert.notBefore.getTime(), new Date(x.validFrom).getTime());
    assert.equal(cert.notAfter.getTime(), new Date(x.validTo).getTime());
    assert.equal(cert.subject.text, x.subject.replace(/\n/g, ', '));
    assert.equal(cert.issuer.text, x.issuer.replace(/\n/g, ', '));
    assert.equal(cert.serialNumber.toUpperCase().replace(/^0+/, ''), x.serialNumber.replace(/^0+/, ''));
    assert.ok(certificatePublicKey(cert).equals(x.publicKey));
    assert.equal(certificateToPem(der!).trim(), pem(name).trim());
  }
  const root = parseCertificate(pemCertificates(pem('ca-cert.pem'))[0]!);
  assert.deepEqual(root.basicConstraints, { cA: true });
  assert.equal(root.keyUsage?.keyCertSign, true);
  assert.equal(root.keyUsage?.digitalSignature, false);
  assert.ok(certificateSignedBy(root, certificatePublicKey(root)));
  const leaf = parseCertificate(pemCertificates(pem('signing-key-cert.pem'))[0]!);
  assert.equal(leaf.keyUsage?.digitalSignature, true);
  assert.deepEqual(leaf.extKeyUsage, [OID.ekuCodeSigning]);
  assert.equal(leaf.subject.text, 'CN=intermediate-ca');
  assert.ok(!certificateSignedBy(leaf, certificatePublicKey(root)));
});

test('parses a Fulcio leaf: empty subject, email SAN, issuer extensions, key ids', () => {
  const cert = parseCertificate(fulcioLeafDer());
  assert.equal(cert.subject.text, '');
  assert.equal(cert.issuer.text, 'O=sigstore.dev, CN=sigstore-intermediate');
  assert.deepEqual(cert.subjectAltNames, [{ type: 'email', value: 'stefanb@us.ibm.com' }]);
  assert.equal(getExtension(cert, OID.subjectAltName)?.critical, true);
  assert.equal(decodeUtf8StringExtension(getExtension(cert, OID.fulcioIssuerV2)!.value), 'https://sigstore.verify.ibm.com/oauth2');
  assert.equal(decodeRawUtf8Extension(getExtension(cert, OID.fulcioIssuerV1)!.value), 'https://sigstore.verify.ibm.com/oauth2');
  assert.throws(() => decodeUtf8StringExtension(getExtension(cert, OID.fulcioIssuerV1)!.value), malformed);
  assert.equal(cert.authorityKeyId?.toString('hex'), 'dfd3e9cf56241196f9a8d8e92855a2c62e18643f');
  assert.equal(cert.subjectKeyId?.toString('hex'), '3025ba703c0f5cb6f365e402926d7084aac9d667');
  assert.ok(getExtension(cert, OID.sctList));
  assert.equal(cert.notAfter.getTime() - cert.notBefore.getTime(), 600_000);
  // the TBS slice is what the issuer signed
  const x = new X509Certificate(fulcioLeafDer());
  assert.ok(cert.tbs.length > 0 && fulcioLeafDer().includes(cert.tbs));
  assert.equal(cert.signatureAlgorithm, '1.2.840.10045.4.3.3');
  assert.ok(x.publicKey.equals(certificatePublicKey(cert)));
});

test('decodes SANs of every common type and keyUsage bits', () => {
  const t = makeCert({
    subject: 'x',
    san: [{ email: 'a@b.c' }, { uri: 'https://github.com/o/r/.github/workflows/w.yml@refs/heads/main' }, { dns: 'example.org' }],
    keyUsage: ['digitalSignature', 'keyCertSign', 'decipherOnly'],
  });
  assert.deepEqual(t.cert.subjectAltNames, [
    { type: 'email', value: 'a@b.c' },
    { type: 'uri', value: 'https://github.com/o/r/.github/workflows/w.yml@refs/heads/main' },
    { type: 'dns', value: 'example.org' },
  ]);
  assert.equal(t.cert.keyUsage?.digitalSignature, true);
  assert.equal(t.cert.keyUsage?.keyCertSign, true);
  assert.equal(t.cert.keyUsage?.decipherOnly, true);
  assert.equal(t.cert.keyUsage?.cRLSign, false);
  assert.equal(t.cert.basicConstraints, undefined);
});

test('refuses duplicate extensions and signature-algorithm mismatch', () => {
  const dup = () =>
    makeCert({ subject: 'd', extensions: [{ oid: '1.2.3.4', value: Buffer.from([5, 0]) }, { oid: '1.2.3.4', value: Buffer.from([5, 0]) }] });
  assert.throws(dup, malformed);
  const der = Buffer.from(makeCert({ subject: 'm' }).der);
  // the outer AlgorithmIdentifier is the last 1.2.840.10045.4.3.x before the signature; flip its last arc
  const at = der.lastIndexOf(Buffer.from('2a8648ce3d0403', 'hex'));
  der[at + 7] = der[at + 7] === 2 ? 3 : 2;
  assert.throws(() => parseCertificate(der), malformed);
});

test('garbage and mutated certificates only ever throw PERIM_E_CERT_MALFORMED', () => {
  assert.throws(() => parseCertificate(Buffer.from('not a cert')), malformed);
  assert.throws(() => parseCertificate(Buffer.alloc(0)), malformed);
  const base = fulcioLeafDer();
  let seed = 42;
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
  let rejected = 0;
  for (let i = 0; i < 1500; i++) {
    const buf = Buffer.from(base);
    for (let k = 0; k < 2; k++) buf[rnd() % buf.length] = rnd() & 0xff;
    const input = i % 4 === 0 ? buf.subarray(0, rnd() % buf.length) : buf;
    try {
      const c = parseCertificate(input);
      certificatePublicKey(c);
    } catch (e) {
      assert.ok(malformed(e), `unexpected ${String(e)}`);
      rejected++;
    }
  }
  assert.ok(rejected > 100);
});
