/**
 * A small, bounded DER (X.690) reader for untrusted input.
 *
 * Every element keeps its byte offsets into the input, so callers can slice the exact encoded
 * bytes of any element (the TBSCertificate that a signature covers, an extension list to rebuild).
 * Only definite-length, minimally encoded, single-byte-tag DER is accepted; anything else throws a
 * PerimeterError with the caller's code (PERIM_E_CERT_MALFORMED unless told otherwise).
 */
import { PerimeterError } from '../../errors/errors.ts';
import type { ErrorCode } from '../../errors/errors.ts';

/** Largest input accepted (a certificate is a few KiB). */
export const MAX_DER_BYTES = 1024 * 1024;
/** Deepest nesting accepted (certificates nest about 8 deep). */
export const MAX_DER_DEPTH = 32;
/** Most children one constructed element may have. */
export const MAX_DER_CHILDREN = 4096;

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  NUMERIC_STRING: 0x12,
  PRINTABLE_STRING: 0x13,
  T61_STRING: 0x14,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  VISIBLE_STRING: 0x1a,
  UNIVERSAL_STRING: 0x1c,
  BMP_STRING: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

export type DerCode = Extract<ErrorCode, 'PERIM_E_CERT_MALFORMED' | 'PERIM_E_BUNDLE_MALFORMED' | 'PERIM_E_TLOG' | 'PERIM_E_TRUST_ROOT'>;

/** One TLV. `start` is the identifier octet, `valueStart`..`end` the contents. */
export interface DerElement {
  readonly buf: Buffer;
  readonly tag: number;
  readonly start: number;
  readonly valueStart: number;
  readonly end: number;
  readonly depth: number;
  readonly code: DerCode;
}

export function derError(code: DerCode, message: string): never {
  throw new PerimeterError(code, message);
}

/** Reads one TLV at `offset`, bounded by `limit`. */
function readTlv(buf: Buffer, offset: number, limit: number, depth: number, code: DerCode): DerElement {
  if (depth > MAX_DER_DEPTH) derError(code, `DER nesting deeper than ${MAX_DER_DEPTH}`);
  if (offset + 2 > limit) derError(code, 'DER element truncated (no header)');
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) derError(code, 'DER high-tag-number form is not supported');
  const first = buf[offset + 1]!;
  let length: number;
  let valueStart: number;
  if (first < 0x80) {
    length = first;
    valueStart = offset + 2;
  } else {
    const n = first & 0x7f;
    if (n === 0) derError(code, 'DER indefinite length is not allowed');
    if (n > 4) derError(code, 'DER length field too long');
    if (offset + 2 + n > limit) derError(code, 'DER length truncated');
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + buf[offset + 2 + i]!;
    if (buf[offset + 2] === 0 || length < 0x80) derError(code, 'DER length is not minimally encoded');
    valueStart = offset + 2 + n;
  }
  const end = valueStart + length;
  if (end > limit) derError(code, `DER element length ${length} runs past its container`);
  return { buf, tag, start: offset, valueStart, end, depth, code };
}

/** Parses a buffer that must hold exactly one DER element. */
export function parseDer(input: Uint8Array, code: DerCode = 'PERIM_E_CERT_MALFORMED'): DerElement {
  if (input.length > MAX_DER_BYTES) derError(code, `DER input larger than ${MAX_DER_BYTES} bytes`);
  const buf = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.length);
  const el = readTlv(buf, 0, buf.length, 0, code);
  if (el.end !== buf.length) derError(code, 'trailing bytes after DER element');
  return el;
}

export function isConstructed(el: DerElement): boolean {
  return (el.tag & 0x20) !== 0;
}

/** The children of a constructed element, in order. */
export function children(el: DerElement): DerElement[] {
  if (!isConstructed(el)) derError(el.code, `DER tag 0x${el.tag.toString(16)} is not constructed`);
  const out: DerElement[] = [];
  let off = el.valueStart;
  while (off < el.end) {
    if (out.length >= MAX_DER_CHILDREN) derError(el.code, `DER element has more than ${MAX_DER_CHILDREN} children`);
    const child = readTlv(el.buf, off, el.end, el.depth + 1, el.code);
    out.push(child);
    off = child.end;
  }
  return out;
}

/** The exact encoded bytes of the element (header and contents). */
export function encoded(el: DerElement): Buffer {
  return el.buf.subarray(el.start, el.end);
}

/** The contents octets. */
export function contents(el: DerElement): Buffer {
  return el.buf.subarray(el.valueStart, el.end);
}

export function expectTag(el: DerElement | undefined, tag: number, what: string, code?: DerCode): DerElement {
  if (el === undefined) derError(code ?? 'PERIM_E_CERT_MALFORMED', `${what} is missing`);
  if (el.tag !== tag) derError(el.code, `${what}: expected DER tag 0x${tag.toString(16)}, found 0x${el.tag.toString(16)}`);
  return el;
}

/** Children of a SEQUENCE (checks the tag). */
export function sequence(el: DerElement | undefined, what: string, code?: DerCode): DerElement[] {
  return children(expectTag(el, TAG.SEQUENCE, what, code));
}

/** Context-specific tag number `n` (constructed when `constructed`). */
export function contextTag(n: number, constructed: boolean): number {
  return 0x80 | (constructed ? 0x20 : 0) | n;
}

export function readBoolean(el: DerElement): boolean {
  expectTag(el, TAG.BOOLEAN, 'BOOLEAN');
  const v = contents(el);
  if (v.length !== 1 || (v[0] !== 0 && v[0] !== 0xff)) derError(el.code, 'BOOLEAN is not DER (0x00 or 0xff)');
  return v[0] === 0xff;
}

/** INTEGER as a bigint (two's complement), checking minimal encoding. */
export function readInteger(el: DerElement, tag: number = TAG.INTEGER): bigint {
  expectTag(el, tag, 'INTEGER');
  const v = contents(el);
  if (v.length === 0) derError(el.code, 'INTEGER has no content');
  if (v.length > 1 && ((v[0] === 0 && v[1]! < 0x80) || (v[0] === 0xff && v[1]! >= 0x80))) {
    derError(el.code, 'INTEGER is not minimally encoded');
  }
  let n = 0n;
  for (const b of v) n = (n << 8n) | BigInt(b);
  if (v[0]! >= 0x80) n -= 1n << BigInt(v.length * 8);
  return n;
}

/** A non-negative INTEGER that must fit a safe JS number. */
export function readSmallInt(el: DerElement, what: string): number {
  const n = readInteger(el);
  if (n < 0n || n > BigInt(Number.MAX_SAFE_INTEGER)) derError(el.code, `${what} is out of range`);
  return Number(n);
}

export interface BitString {
  unusedBits: number;
  bytes: Buffer;
}

export function readBitString(el: DerElement): BitString {
  expectTag(el, TAG.BIT_STRING, 'BIT STRING');
  const v = contents(el);
  if (v.length === 0) derError(el.code, 'BIT STRING has no content');
  const unusedBits = v[0]!;
  if (unusedBits > 7 || (v.length === 1 && unusedBits !== 0)) derError(el.code, 'BIT STRING has a bad unused-bits count');
  const bytes = v.subarray(1);
  if (unusedBits > 0 && (bytes[bytes.length - 1]! & ((1 << unusedBits) - 1)) !== 0) {
    derError(el.code, 'BIT STRING unused bits are not zero');
  }
  return { unusedBits, bytes };
}

export function readOctetString(el: DerElement): Buffer {
  return contents(expectTag(el, TAG.OCTET_STRING, 'OCTET STRING'));
}

/** OBJECT IDENTIFIER in dotted form. */
export function readOid(el: DerElement): string {
  const v = contents(expectTag(el, TAG.OID, 'OBJECT IDENTIFIER'));
  if (v.length === 0 || v.length > 128) derError(el.code, 'OBJECT IDENTIFIER has a bad length');
  const arcs: bigint[] = [];
  let n = 0n;
  let fresh = true;
  for (let i = 0; i < v.length; i++) {
    const b = v[i]!;
    if (fresh && b === 0x80) derError(el.code, 'OBJECT IDENTIFIER arc is not minimally encoded');
    n = (n << 7n) | BigInt(b & 0x7f);
    fresh = (b & 0x80) === 0;
    if (fresh) {
      arcs.push(n);
      n = 0n;
    }
  }
  if (!fresh) derError(el.code, 'OBJECT IDENTIFIER is truncated');
  const first = arcs[0]!;
  const head = first < 40n ? [0n, first] : first < 80n ? [1n, first - 40n] : [2n, first - 80n];
  return [...head, ...arcs.slice(1)].join('.');
}

/** UTCTime or GeneralizedTime, in the RFC 5280 DER forms (UTC, seconds, "Z"). */
export function readTime(el: DerElement): Date {
  const s = contents(el).toString('latin1');
  let m: RegExpExecArray | null;
  let year: number;
  if (el.tag === TAG.UTC_TIME) {
    m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s);
    if (!m) derError(el.code, `UTCTime "${s.slice(0, 20)}" is not YYMMDDHHMMSSZ`);
    const yy = Number(m[1]);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
  } else if (el.tag === TAG.GENERALIZED_TIME) {
    m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s);
    if (!m) derError(el.code, `GeneralizedTime "${s.slice(0, 20)}" is not YYYYMMDDHHMMSSZ`);
    year = Number(m[1]);
  } else {
    derError(el.code, `expected a time, found DER tag 0x${el.tag.toString(16)}`);
  }
  const [mo, d, h, mi, se] = [m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number];
  const date = new Date(0);
  date.setUTCFullYear(year, mo - 1, d); // unlike Date.UTC, keeps years 0..99 as written
  date.setUTCHours(h, mi, se, 0);
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d || h > 23 || mi > 59 || se > 59) {
    derError(el.code, `time "${s}" is not a valid date`);
  }
  return date;
}

const decoderUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Any of the ASN.1 character string types used in names and general names. */
export function readString(el: DerElement): string {
  const v = contents(el);
  switch (el.tag) {
    case TAG.UTF8_STRING:
      try {
        return decoderUtf8.decode(v);
      } catch {
        return derError(el.code, 'UTF8String is not valid UTF-8');
      }
    case TAG.PRINTABLE_STRING:
    case TAG.IA5_STRING:
    case TAG.NUMERIC_STRING:
    case TAG.VISIBLE_STRING:
      if (v.some((b) => b > 0x7f)) derError(el.code, 'ASCII string holds a non-ASCII byte');
      return v.toString('latin1');
    case TAG.T61_STRING:
      return v.toString('latin1');
    case TAG.BMP_STRING: {
      if (v.length % 2 !== 0) derError(el.code, 'BMPString has an odd length');
      let out = '';
      for (let i = 0; i < v.length; i += 2) out += String.fromCharCode(v.readUInt16BE(i));
      return out;
    }
    case TAG.UNIVERSAL_STRING: {
      if (v.length % 4 !== 0) derError(el.code, 'UniversalString length is not a multiple of 4');
      let out = '';
      for (let i = 0; i < v.length; i += 4) {
        const cp = v.readUInt32BE(i);
        if (cp > 0x10ffff) derError(el.code, 'UniversalString holds an invalid code point');
        out += String.fromCodePoint(cp);
      }
      return out;
    }
    default:
      return derError(el.code, `expected a string, found DER tag 0x${el.tag.toString(16)}`);
  }
}
