/**
 * Zip records and fields shared by the directory readers (PKWARE APPNOTE 4.3): signatures, entry
 * and local header shapes, ZIP64 extra fields, name decoding, and a windowed blob reader.
 */
import type { Blob, FindingInput } from '../types.ts';
import { MiB } from './common.ts';

export const SIG_LOCAL = 0x04034b50;
export const SIG_CENTRAL = 0x02014b50;
export const SIG_EOCD = 0x06054b50;
export const SIG_EOCD64 = 0x06064b50;
export const SIG_LOCATOR64 = 0x07064b50;
export const SIG_DESCRIPTOR = 0x08074b50;
export const EOCD_SIZE = 22;
export const MAX_COMMENT = 0xffff;

export interface ZipEntry {
  index: number;
  name: string;
  nameBytes: Buffer;
  flags: number;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  /** Offset of the local header (after any prepended-data shift). */
  localOffset: number;
  /** Unix mode bits from the external attributes when the entry was made on Unix, else 0. */
  unixMode: number;
  /** Set when the entry came from walking local headers (no usable central directory). */
  dataStart?: number;
  /** Offset as written, when a prepended-data shift was applied (tried if the shifted one fails). */
  unshiftedOffset?: number;
  /** Streamed entry whose sizes and CRC were not found (local-header walk only). */
  unknownSizes?: boolean;
}

export interface ZipDirectory {
  entries: ZipEntry[];
  /** Entries the end record declares (or entries found, for a local-header walk). */
  declared: number;
  source: 'central' | 'local';
  /** More entries exist than maxMembers; only the first maxMembers were read. */
  overLimit: boolean;
  issues: FindingInput[];
}

export interface LocalHeader {
  flags: number;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  nameBytes: Buffer;
  dataStart: number;
}

/** Reads windows of a blob so that walking thousands of small headers costs few reads. */
export class WindowReader {
  readonly blob: Blob;
  #start = 0;
  #buf: Buffer = Buffer.alloc(0);
  readonly #window: number;
  /** `window`: bytes read per miss; small for scattered headers, large for sequential walks. */
  constructor(blob: Blob, window = MiB) {
    this.blob = blob;
    this.#window = window;
  }
  /** Up to n bytes at offset (fewer at the end of the blob). */
  bytes(offset: number, n: number): Buffer {
    if (offset < this.#start || offset + n > this.#start + this.#buf.length) {
      if (offset >= this.blob.size) return Buffer.alloc(0);
      this.#start = offset;
      this.#buf = this.blob.read(offset, Math.max(n, this.#window));
    }
    return this.#buf.subarray(offset - this.#start, offset - this.#start + n);
  }
}

const decoder = new TextDecoder('utf-8', { fatal: true });
export function decodeName(bytes: Buffer): string {
  try {
    return decoder.decode(bytes);
  } catch {
    return bytes.toString('latin1');
  }
}

export function u64(b: Buffer, at: number): number | undefined {
  const v = b.readBigUInt64LE(at);
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? undefined : Number(v);
}

/** The body of the first extra field with this id, if any. */
function extraField(extra: Buffer, id: number): Buffer | undefined {
  for (let p = 0; p + 4 <= extra.length; ) {
    const len = extra.readUInt16LE(p + 2);
    if (extra.readUInt16LE(p) === id) return extra.subarray(p + 4, p + 4 + len);
    p += 4 + len;
  }
  return undefined;
}

type Zip64Values = { size: number; compressedSize: number; localOffset: number };

/**
 * Applies a ZIP64 extended-information extra field (0x0001). A central header's field holds only
 * the values saturated at 0xFFFFFFFF, in order; a local header's holds both sizes. False when a
 * needed value is missing.
 */
export function applyZip64(extra: Buffer, v: Zip64Values, local: boolean): boolean {
  const keys: (keyof Zip64Values)[] = local
    ? ['size', 'compressedSize']
    : (['size', 'compressedSize', 'localOffset'] as const).filter((k) => v[k] === 0xffffffff);
  if (keys.length === 0) return true;
  const body = extraField(extra, 0x0001);
  if (!body) return false;
  let q = 0;
  for (const k of keys) {
    if (q + 8 > body.length) return false;
    const x = u64(body, q);
    if (x === undefined) return false;
    v[k] = x;
    q += 8;
  }
  return true;
}

/** The local header at `offset`, or undefined when there is no local header signature. */
export function readLocalHeader(r: WindowReader, offset: number): LocalHeader | undefined {
  const h = r.bytes(offset, 30);
  if (h.length < 30 || h.readUInt32LE(0) !== SIG_LOCAL) return undefined;
  const nameLen = h.readUInt16LE(26);
  const extraLen = h.readUInt16LE(28);
  const rest = r.bytes(offset + 30, nameLen + extraLen);
  const v = { size: h.readUInt32LE(22), compressedSize: h.readUInt32LE(18), localOffset: offset };
  if (v.size === 0xffffffff || v.compressedSize === 0xffffffff) applyZip64(rest.subarray(nameLen), v, true);
  return {
    flags: h.readUInt16LE(6),
    method: h.readUInt16LE(8),
    crc: h.readUInt32LE(14),
    compressedSize: v.compressedSize,
    size: v.size,
    nameBytes: Buffer.from(rest.subarray(0, nameLen)),
    dataStart: offset + 30 + nameLen + extraLen,
  };
}

