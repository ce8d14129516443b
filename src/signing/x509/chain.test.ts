import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { isPerimeterError } from '../../errors/errors.ts';
import type { ErrorCode } from '../../errors/errors.ts';
import { parseCertificate, pemCertificates } from './certificate.ts';
import type { Certificate } from './certificate.ts';
import { verifyChain } from './chain.ts';
import { makeChain, makeCert, makeKeyPair } from './test-pki.ts';

const KEYS = new URL('../../../test/fixtures/oms/reference-cli/keys/certificate/', import.meta.url);
const load = (name: string) => parseCertificate(pemCertificates(readFileSync(new URL(name, KEYS), 'utf8'))[0]!);
const code = (c: ErrorCode) => (e: unknown) => isPerimeterError(e, c);
const NOW = new Date();

test('the reference chain verifies: leaf → intermediate → root', () => {
  const root = load('ca-cert.pem');
  const inter = load('int-ca-cert.pem');
  const leaf = load('signing-key-cert.pem');
  const path = verifyChain(leaf, { at: leaf.notBefore, intermediates: [inter], anchors: [root] });
  assert.deepEqual(
    path.map((c) => c.subject.text),
    ['CN=intermediate-ca', 'CN=intermediate-ca', 'CN=root-ca'],
  );
  assert.equal(path[0], leaf);
  // without the intermediate there is no path
  assert.throws(() => verifyChain(leaf, { at: leaf.notBefore, anchors: [root] }), code('PERIM_E_CERT_CHAIN'));
  // the intermediate itself as an anchor is also a valid path
  assert.equal(verifyChain(leaf, { at: leaf.notBefore, anchors: [inter] }).length, 2);
});

test('a generated three-level chain verifies, and is refused against another root', () => {
  const { root, intermediate, leaf } = makeChain();
  const path = verifyChain(leaf.cert, { at: NOW, intermediates: [intermediate.cert], anchors: [root.cert] });
  assert.equal(path.length, 3);
  const other = makeChain();
  assert.throws(() => verifyChain(leaf.cert, { at: NOW, intermediates: [intermediate.cert], anchors: [other.root.cert] }), code('PERIM_E_CERT_CHAIN'));
  // same root name, different key: names chain but key ids and signature do not
  const impostor = makeCert({ subject: 'test-root', ca: { cA: true }, keyUsage: ['keyCertSign'] });
  assert.throws(() => verifyChain(leaf.cert, { at: NOW, intermediates: [intermediate.cert], anchors: [impostor.cert] }), code('PERIM_E_CERT_CHAIN'));
});

test('every certificate must be valid at the given time', () => {
  const { root, intermediate, leaf } = makeChain();
  const opts = { intermediates: [intermediate.cert], anchors: [root.cert] };
  assert.throws(() => verifyChain(leaf.cert, { ...opts, at: new Date(NOW.getTime() + 2 * 365 * 86400_000) }), code('PERIM_E_CERT_EXPIRED'));
  assert.throws(() => verifyChain(leaf.cert, { ...opts, at: new Date(NOW.getTime() - 2 * 86400_000) }), code('PERIM_E_CERT_EXPIRED'));
  // an intermediate that expired before the leaf's time
  const day = 86400_000;
  const shortInter = makeCert({ subject: 'short', issuer: root, ca: { cA: true }, keyUsage: ['keyCertSign'], notAfter: new Date(NOW.getTime() + day) });
  const leaf2 = makeCert({ subject: 'l2', issuer: shortInter, notAfter: new Date(NOW.getTime() + 10 * day) });
  verifyChain(leaf2.cert, { at: NOW, intermediates: [shortInter.cert], anchors: [root.cert] });
  assert.throws(
    () => verifyChain(leaf2.cert, { at: new Date(NOW.getTime() + 5 * day), intermediates: [shortInter.cert], anchors: [root.cert] }),
    code('PERIM_E_CERT_EXPIRED'),
  );
});

test('a tampered certificate fails its issuer signature', () => {
  const { root, intermediate, leaf } = makeChain();
  const der = Buffer.from(leaf.der);
  const at = der.indexOf(Buffer.from('test-leaf'));
  der[at] = 'T'.charCodeAt(0);
  const tampered = parseCertificate(der);
  assert.equal(tampered.subject.text, 'CN=Test-leaf');
  assert.throws(
    () => verifyChain(tampered, { at: NOW, intermediates: [intermediate.cert], anchors: [root.cert] }),
    (e) => isPerimeterError(e, 'PERIM_E_CERT_CHAIN') && /not signed by/.test(e.message),
  );
});

test('an intermediate that is not a CA, or lacks keyCertSign, cannot issue', () => {
  const root = makeCert({ subject: 'r', ca: { cA: true }, keyUsage: ['keyCertSign'] });
  for (const bad of [
    makeCert({ subject: 'i', issuer: root, ca: { cA: false }, keyUsage: ['keyCertSign'] }),
    makeCert({ subject: 'i', issuer: root, keyUsage: ['keyCertSign'] }),
    makeCert({ subject: 'i', issuer: root, ca: { cA: true }, keyUsage: ['digitalSignature'] }),
  ]) {
    const leaf = makeCert({ subject: 'l', issuer: bad });
    assert.throws(() => verifyChain(leaf.cert, { at: NOW, intermediates: [bad.cert], anchors: [root.cert] }), code('PERIM_E_CERT_CHAIN'));
  }
  // a non-CA anchor is refused too
  const plain = makeCert({ subject: 'p' });
  const leaf = makeCert({ subject: 'l', issuer: plain });
  assert.throws(() => verifyChain(leaf.cert, { at: NOW, anchors: [plain.cert] }), code('PERIM_E_CERT_CHAIN'));
});

test('pathLen constraints are respected', () => {
  const root = makeCert({ subject: 'r', ca: { cA: true, pathLen: 0 }, keyUsage: ['keyCertSign'] });
  const inter = makeCert({ subject: 'i', issuer: root, ca: { cA: true }, keyUsage: ['keyCertSign'] });
  const leaf = makeCert({ subject: 'l', issuer: inter });
  assert.throws(
    () => verifyChain(leaf.cert, { at: NOW, intermediates: [inter.cert], anchors: [root.cert] }),
    (e) => isPerimeterError(e, 'PERIM_E_CERT_CHAIN') && /allows 0/.test(e.message),
  );
  const direct = makeCert({ subject: 'l', issuer: root });
  assert.equal(verifyChain(direct.cert, { at: NOW, anchors: [root.cert] }).length, 2);
});

test('an unknown critical extension is refused anywhere in the path; a non-critical one is fine', () => {
  const { root, intermediate } = makeChain();
  const weird = { oid: '1.2.3.4.5', value: Buffer.from([0x05, 0x00]) };
  const ok = makeCert({ subject: 'l', issuer: intermediate, extensions: [weird] });
  verifyChain(ok.cert, { at: NOW, intermediates: [intermediate.cert], anchors: [root.cert] });
  const bad = makeCert({ subject: 'l', issuer: intermediate, extensions: [{ ...weird, critical: true }] });
  assert.throws(() => verifyChain(bad.cert, { at: NOW, intermediates: [intermediate.cert], anchors: [root.cert] }), code('PERIM_E_CERT_CHAIN'));
  const badInter = makeCert({ subject: 'bi', issuer: root, ca: { cA: true }, keyUsage: ['keyCertSign'], extensions: [{ ...weird, critical: true }] });
  const leaf = makeCert({ subject: 'l', issuer: badInter });
  assert.throws(() => verifyChain(leaf.cert, { at: NOW, intermediates: [badInter.cert], anchors: [root.cert] }), code('PERIM_E_CERT_CHAIN'));
});

test('chains longer than the limit are refused; cross-signed loops terminate', () => {
  const root = makeCert({ subject: 'c0', ca: { cA: true }, keyUsage: ['keyCertSign'] });
  const inters: Certificate[] = [];
  let issuer = root;
  for (let i = 1; i <= 10; i++) {
    issuer = makeCert({ subject: `c${i}`, issuer, ca: { cA: true }, keyUsage: ['keyCertSign'] });
    inters.push(issuer.cert);
  }
  const leaf = makeCert({ subject: 'leaf', issuer });
  assert.throws(() => verifyChain(leaf.cert, { at: NOW, intermediates: inters, anchors: [root.cert] }), code('PERIM_E_CERT_CHAIN'));
  assert.equal(verifyChain(leaf.cert, { at: NOW, intermediates: inters, anchors: [root.cert], maxLength: 12 }).length, 12);

  // two CAs with the same names issuing each other: no anchor reachable, search must end
  const ka = makeKeyPair();
  const kb = makeKeyPair();
  const a0 = makeCert({ subject: 'A', keys: ka, ca: { cA: true } });
  const b = makeCert({ subject: 'B', issuer: a0, keys: kb, ca: { cA: true } });
  const a = makeCert({ subject: 'A', issuer: b, keys: ka, ca: { cA: true } });
  const l = makeCert({ subject: 'l', issuer: a });
  const unrelated = makeChain().root;
  assert.throws(() => verifyChain(l.cert, { at: NOW, intermediates: [a.cert, b.cert, a0.cert], anchors: [unrelated.cert] }), code('PERIM_E_CERT_CHAIN'));
});
