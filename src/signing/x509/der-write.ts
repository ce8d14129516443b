/**
 * Minimal DER encoding: enough to rebuild a TBSCertificate without one extension (SCT checks)
 * and to build small test certificates. Inputs are trusted (our own values).
 */
import { TAG } from './der.ts';

export function encodeLength(n: number): Buffer {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`bad DER length ${n}`);
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One TLV whose contents are the concatenation of `parts`. */
export function tlv(tag: number, ...parts: Uint8Array[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), encodeLength(body.length), body]);
}

export function seq(...parts: Uint8Array[]): Buffer {
  return tlv(TAG.SEQUENCE, ...parts);
}

export function set(...parts: Uint8Array[]): Buffer {
  return tlv(TAG.SET, ...parts);
}

export function encodeInteger(n: bigint | number): Buffer {
  let v = BigInt(n);
  const bytes: number[] = [];
  if (v === 0n) bytes.push(0);
  const negative = v < 0n;
  while (v !== 0n && v !== -1n) {
    bytes.unshift(Number(v & 0xffn));
    v >>= 8n;
  }
  if (negative && (bytes.length === 0 || bytes[0]! < 0x80)) bytes.unshift(0xff);
  if (!negative && bytes[0]! >= 0x80) bytes.unshift(0);
  return tlv(TAG.INTEGER, Buffer.from(bytes));
}

export function encodeBoolean(b: boolean): Buffer {
  return tlv(TAG.BOOLEAN, Buffer.from([b ? 0xff : 0]));
}

export function encodeOid(oid: string): Buffer {
  const arcs = oid.split('.').map((a) => BigInt(a));
  if (arcs.length < 2) throw new RangeError(`bad OID ${oid}`);
  const out: number[] = [];
  const push = (n: bigint): void => {
    const chunk: number[] = [Number(n & 0x7fn)];
    for (let v = n >> 7n; v > 0n; v >>= 7n) chunk.unshift(Number(v & 0x7fn) | 0x80);
    out.push(...chunk);
  };
  push(arcs[0]! * 40n + arcs[1]!);
  for (const a of arcs.slice(2)) push(a);
  return tlv(TAG.OID, Buffer.from(out));
}

export function encodeOctetString(b: Uint8Array): Buffer {
  return tlv(TAG.OCTET_STRING, b);
}

export function encodeBitString(b: Uint8Array, unusedBits = 0): Buffer {
  return tlv(TAG.BIT_STRING, Buffer.from([unusedBits]), b);
}

export function encodeUtf8String(s: string): Buffer {
  return tlv(TAG.UTF8_STRING, Buffer.from(s, 'utf8'));
}

/** UTCTime for 1950..2049, GeneralizedTime otherwise (RFC 5280 4.1.2.5). */
export function encodeTime(d: Date): Buffer {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  const y = d.getUTCFullYear();
  const rest = `${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  if (y >= 1950 && y < 2050) return tlv(TAG.UTC_TIME, Buffer.from(p(y % 100) + rest, 'latin1'));
  return tlv(TAG.GENERALIZED_TIME, Buffer.from(p(y, 4) + rest, 'latin1'));
}
