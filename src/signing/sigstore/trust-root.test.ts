import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { isPerimeterError } from '../../errors/errors.ts';
import { defaultTrustRoot, isValidAt, loadTrustRoot, parseTrustRoot } from './trust-root.ts';

const FIXTURE = new URL('../../../test/fixtures/oms/sigstore-public-good.trusted_root.json', import.meta.url);
const SHIPPED = new URL('./trusted_root.public-good.json', import.meta.url);
const json = () => JSON.parse(readFileSync(FIXTURE, 'utf8'));
const bad = (e: unknown) => isPerimeterError(e, 'PERIM_E_TRUST_ROOT');

test('the shipped default is the public-good root, byte for byte the fixture', () => {
  assert.deepEqual(readFileSync(SHIPPED), readFileSync(FIXTURE));
  const root = defaultTrustRoot();
  assert.equal(root.tlogs.length, 1);
  assert.equal(root.tlogs[0]!.logId.toString('base64'), 'wNI9atQGlz+VWfO6LRygH4QUfY/8W4RFwiT5i5WRgB0=');
  assert.equal(root.tlogs[0]!.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  assert.equal(root.certificateAuthorities.length, 2);
  assert.deepEqual(root.certificateAuthorities.map((c) => c.certificates.length), [1, 2]);
  assert.equal(root.certificateAuthorities[1]!.certificates[0]!.subject.text, 'O=sigstore.dev, CN=sigstore-intermediate');
  assert.equal(root.certificateAuthorities[0]!.validFor.end?.toISOString(), '2022-12-31T23:59:59.999Z');
  assert.equal(root.ctlogs.length, 2);
  assert.equal(root.timestampAuthorities.length, 1);
  assert.equal(defaultTrustRoot(), root);
});

test('validity windows', () => {
  const v = { start: new Date('2022-01-01T00:00:00Z'), end: new Date('2023-01-01T00:00:00Z') };
  assert.ok(isValidAt(v, new Date('2022-06-01T00:00:00Z')));
  assert.ok(!isValidAt(v, new Date('2021-12-31T23:59:59Z')));
  assert.ok(!isValidAt(v, new Date('2023-01-01T00:00:01Z')));
  assert.ok(isValidAt({ start: v.start }, new Date('2099-01-01T00:00:00Z')));
});

test('malformed trust roots fail PERIM_E_TRUST_ROOT', () => {
  const cases: [string, (j: any) => unknown][] = [
    ['media type', (j) => ({ ...j, mediaType: 'application/json' })],
    ['tlogs not a list', (j) => ({ ...j, tlogs: {} })],
    ['bad key bytes', (j) => (j.tlogs[0].publicKey.rawBytes = 'AAAA', j)],
    ['no validFor', (j) => (delete j.tlogs[0].publicKey.validFor, j)],
    ['bad time', (j) => (j.certificateAuthorities[0].validFor.start = 'yesterday', j)],
    ['bad certificate', (j) => (j.certificateAuthorities[1].certChain.certificates[0].rawBytes = 'MIIB', j)],
    ['empty chain', (j) => (j.certificateAuthorities[1].certChain.certificates = [], j)],
    ['no logId', (j) => (delete j.ctlogs[0].logId, j)],
  ];
  for (const [what, mutate] of cases) {
    assert.throws(() => parseTrustRoot(JSON.stringify(mutate(json()))), bad, what);
  }
  assert.throws(() => parseTrustRoot('{'), bad);
  assert.throws(() => parseTrustRoot('[]'), bad);
});

test('loadTrustRoot reads a file; a missing file is an I/O error', () => {
  assert.equal(loadTrustRoot(FIXTURE.pathname).ctlogs.length, 2);
  assert.throws(() => loadTrustRoot('/nonexistent/trusted_root.json'), (e) => isPerimeterError(e, 'PERIM_E_IO'));
});
