import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { isPerimeterError } from '../../errors/errors.ts';
import { getExtension, parseCertificate } from '../x509/certificate.ts';
import type { Certificate } from '../x509/certificate.ts';
import { parseDer, readOctetString } from '../x509/der.ts';
import { OID } from '../x509/extensions.ts';
import { parseSctList, precertificateTbs, verifyEmbeddedSct } from './sct.ts';
import { defaultTrustRoot } from './trust-root.ts';

const FIX = new URL('../../../test/fixtures/oms/reference-cli/v1.0.1-sigstore/model.sig', import.meta.url);
const tlog = (e: unknown) => isPerimeterError(e, 'PERIM_E_TLOG');
const leaf = parseCertificate(Buffer.from(JSON.parse(readFileSync(FIX, 'utf8')).verificationMaterial.certificate.rawBytes, 'base64'));
const root = defaultTrustRoot();
const intermediate = root.certificateAuthorities[1]!.certificates[0]!;
const sctListOf = (c: Certificate) => Buffer.from(readOctetString(parseDer(getExtension(c, OID.sctList)!.value)));

test('the Fulcio leaf carries one SCT from the 2022 CT log, and it verifies', () => {
  const scts = parseSctList(sctListOf(leaf));
  assert.equal(scts.length, 1);
  assert.equal(scts[0]!.logId.toString('base64'), '3T0wasbHETJjGR4cmWc3AqJKXrjePK3/h4pygC8p7o4=');
  assert.equal(scts[0]!.hashAlgorithm, 4);
  assert.match(verifyEmbeddedSct(leaf, intermediate, root.ctlogs), /ctfe\.sigstore\.dev\/2022/);
});

test('the precertificate TBS is the TBS without the SCT extension', () => {
  const pre = precertificateTbs(leaf);
  const ext = getExtension(leaf, OID.sctList)!;
  assert.ok(pre.length < leaf.tbs.length - ext.value.length);
  assert.ok(!pre.includes(ext.value));
  parseDer(pre); // well-formed
});

test('the SCT must be signed over this certificate, by a trusted log, with the right issuer key', () => {
  // the wrong issuer key hash (the root instead of the intermediate)
  assert.throws(() => verifyEmbeddedSct(leaf, root.certificateAuthorities[1]!.certificates[1]!, root.ctlogs), tlog);
  // no trusted CT log
  assert.throws(() => verifyEmbeddedSct(leaf, intermediate, root.ctlogs.slice(0, 1)), tlog);
  // the log key not valid at the SCT time
  const expired = root.ctlogs.map((l) => ({ ...l, validFor: { start: l.validFor.start, end: new Date('2023-01-01T00:00:00Z') } }));
  assert.throws(() => verifyEmbeddedSct(leaf, intermediate, expired), tlog);
});

test('malformed SCT lists fail PERIM_E_TLOG', () => {
  const list = sctListOf(leaf);
  assert.throws(() => parseSctList(list.subarray(0, list.length - 1)), tlog);
  const wrongLen = Buffer.from(list);
  wrongLen.writeUInt16BE(wrongLen.readUInt16BE(2) + 1, 2);
  assert.throws(() => parseSctList(wrongLen), tlog);
  const v2 = Buffer.from(list);
  v2[4] = 1;
  assert.throws(() => parseSctList(v2), tlog);
  assert.throws(() => parseSctList(Buffer.alloc(1)), tlog);
  assert.deepEqual(parseSctList(Buffer.from([0, 0])), []);
});
