import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPerimeterError } from '../../errors/errors.ts';
import {
  MAX_DER_DEPTH,
  TAG,
  children,
  contents,
  encoded,
  parseDer,
  readBitString,
  readBoolean,
  readInteger,
  readOctetString,
  readOid,
  readString,
  readTime,
} from './der.ts';
import { encodeInteger, encodeOid, encodeTime, seq, tlv } from './der-write.ts';

const malformed = (e: unknown): boolean => isPerimeterError(e, 'PERIM_E_CERT_MALFORMED');

test('children keep exact byte offsets so encoded() slices the original bytes', () => {
  const inner = seq(encodeInteger(5), tlv(TAG.OCTET_STRING, Buffer.from('hi')));
  const outer = seq(encodeOid('1.2.840.10045.4.3.2'), inner);
  const root = parseDer(outer);
  const [oid, sub] = children(root);
  assert.equal(readOid(oid!), '1.2.840.10045.4.3.2');
  assert.deepEqual(encoded(sub!), inner);
  const [n, s] = children(sub!);
  assert.equal(readInteger(n!), 5n);
  assert.equal(readOctetString(s!).toString(), 'hi');
  assert.equal(sub!.depth, 1);
});

test('long-form lengths are read and must be minimal', () => {
  const big = tlv(TAG.OCTET_STRING, Buffer.alloc(300, 7));
  assert.equal(contents(parseDer(big)).length, 300);
  // 0x81 0x05: long form for a length below 128 is not DER
  assert.throws(() => parseDer(Buffer.from([0x04, 0x81, 0x05, 1, 2, 3, 4, 5])), malformed);
  // leading zero length byte
  assert.throws(() => parseDer(Buffer.from([0x04, 0x82, 0x00, 0x81, ...Buffer.alloc(0x81)])), malformed);
});

test('truncation, trailing bytes, indefinite length and overlong lengths are refused', () => {
  assert.throws(() => parseDer(Buffer.from([0x30])), malformed);
  assert.throws(() => parseDer(Buffer.from([0x04, 0x05, 1, 2])), malformed);
  assert.throws(() => parseDer(Buffer.from([0x04, 0x01, 1, 0xff])), malformed);
  assert.throws(() => parseDer(Buffer.from([0x30, 0x80, 0x00, 0x00])), malformed);
  assert.throws(() => parseDer(Buffer.from([0x04, 0x85, 1, 0, 0, 0, 0])), malformed);
  assert.throws(() => parseDer(Buffer.from([0x1f, 0x81, 0x01, 0x00])), malformed);
  // a child running past its parent's end
  assert.throws(() => children(parseDer(Buffer.from([0x30, 0x03, 0x04, 0x05, 0x00]))), malformed);
});

test('nesting deeper than the limit is refused, not a stack overflow', () => {
  let el = tlv(TAG.NULL);
  for (let i = 0; i < MAX_DER_DEPTH + 2; i++) el = seq(el);
  let cur = parseDer(el);
  assert.throws(() => {
    for (;;) cur = children(cur)[0]!;
  }, malformed);
});

test('the error code can be chosen by the caller', () => {
  assert.throws(() => parseDer(Buffer.from([0x30]), 'PERIM_E_TLOG'), (e) => isPerimeterError(e, 'PERIM_E_TLOG'));
});

test('INTEGER: sign, minimal encoding', () => {
  assert.equal(readInteger(parseDer(encodeInteger(0))), 0n);
  assert.equal(readInteger(parseDer(encodeInteger(128))), 128n);
  assert.equal(readInteger(parseDer(encodeInteger(-129))), -129n);
  assert.equal(readInteger(parseDer(encodeInteger(2n ** 100n))), 2n ** 100n);
  assert.throws(() => readInteger(parseDer(Buffer.from([0x02, 0x02, 0x00, 0x05]))), malformed);
  assert.throws(() => readInteger(parseDer(Buffer.from([0x02, 0x00]))), malformed);
});

test('OID decoding, including large arcs and the 2.x arc', () => {
  for (const oid of ['1.3.6.1.4.1.57264.1.8', '2.5.29.19', '1.2.840.113549.1.9.1', '2.999.3', '1.3.6.1.4.1.11129.2.4.2']) {
    assert.equal(readOid(parseDer(encodeOid(oid))), oid);
  }
  assert.equal(readOid(parseDer(Buffer.from('06082a8648ce3d040303', 'hex'))), '1.2.840.10045.4.3.3');
  assert.throws(() => readOid(parseDer(Buffer.from([0x06, 0x02, 0x80, 0x01]))), malformed);
  assert.throws(() => readOid(parseDer(Buffer.from([0x06, 0x01, 0x81]))), malformed);
});

test('BIT STRING, BOOLEAN', () => {
  assert.deepEqual(readBitString(parseDer(Buffer.from([0x03, 0x02, 0x07, 0x80]))), { unusedBits: 7, bytes: Buffer.from([0x80]) });
  assert.throws(() => readBitString(parseDer(Buffer.from([0x03, 0x02, 0x07, 0x81]))), malformed);
  assert.throws(() => readBitString(parseDer(Buffer.from([0x03, 0x01, 0x01]))), malformed);
  assert.equal(readBoolean(parseDer(Buffer.from([0x01, 0x01, 0xff]))), true);
  assert.throws(() => readBoolean(parseDer(Buffer.from([0x01, 0x01, 0x01]))), malformed);
});

test('UTCTime and GeneralizedTime', () => {
  assert.equal(readTime(parseDer(Buffer.from('170d3235303530323233333632385a', 'hex'))).toISOString(), '2025-05-02T23:36:28.000Z');
  assert.equal(readTime(parseDer(encodeTime(new Date('1999-12-31T23:59:59Z')))).toISOString(), '1999-12-31T23:59:59.000Z');
  assert.equal(readTime(parseDer(encodeTime(new Date('2051-01-02T03:04:05Z')))).toISOString(), '2051-01-02T03:04:05.000Z');
  const gt = (s: string) => tlv(TAG.GENERALIZED_TIME, Buffer.from(s));
  assert.equal(readTime(parseDer(gt('99991231235959Z'))).toISOString(), '9999-12-31T23:59:59.000Z');
  assert.throws(() => readTime(parseDer(gt('20250230000000Z'))), malformed); // Feb 30
  assert.throws(() => readTime(parseDer(gt('20250101000000.5Z'))), malformed);
  assert.throws(() => readTime(parseDer(tlv(TAG.UTC_TIME, Buffer.from('2501010000Z')))), malformed);
  assert.throws(() => readTime(parseDer(tlv(TAG.OCTET_STRING, Buffer.from('250101000000Z')))), malformed);
});

test('strings: UTF-8 checked, BMP decoded, non-strings refused', () => {
  assert.equal(readString(parseDer(tlv(TAG.UTF8_STRING, Buffer.from('héllo')))), 'héllo');
  assert.equal(readString(parseDer(tlv(TAG.BMP_STRING, Buffer.from([0, 0x41, 0x00, 0xe9])))), 'Aé');
  assert.equal(readString(parseDer(tlv(TAG.PRINTABLE_STRING, Buffer.from('ab c')))), 'ab c');
  assert.throws(() => readString(parseDer(tlv(TAG.UTF8_STRING, Buffer.from([0xc3])))), malformed);
  assert.throws(() => readString(parseDer(tlv(TAG.IA5_STRING, Buffer.from([0xe9])))), malformed);
  assert.throws(() => readString(parseDer(tlv(TAG.INTEGER, Buffer.from([1])))), malformed);
});

test('random and truncated input only ever throws PERIM_E_CERT_MALFORMED', () => {
  const sample = seq(encodeOid('2.5.29.19'), seq(encodeInteger(1), tlv(TAG.UTF8_STRING, Buffer.from('x'))), encodeTime(new Date()));
  const walk = (el: ReturnType<typeof parseDer>): void => {
    if (el.tag & 0x20) for (const c of children(el)) walk(c);
    else if (el.tag === TAG.OID) readOid(el);
    else if (el.tag === TAG.INTEGER) readInteger(el);
    else if (el.tag === TAG.UTF8_STRING) readString(el);
    else if (el.tag === TAG.UTC_TIME) readTime(el);
  };
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
  for (let i = 0; i < 2000; i++) {
    const buf = Buffer.from(sample);
    for (let k = 0; k < 3; k++) buf[rnd() % buf.length] = rnd() & 0xff;
    const cut = i % 5 === 0 ? buf.subarray(0, rnd() % buf.length) : buf;
    try {
      walk(parseDer(cut));
    } catch (e) {
      assert.ok(malformed(e), `unexpected error ${String(e)}`);
    }
  }
});
