/**
 * Shared pieces of the format scanners: a coded parse error, and a sequential reader over a Blob
 * that reads through a small window (never the whole file) and stops at a hard limit.
 */
import type { Blob } from '../types.ts';

/** A violation of a format rule; scanners turn it into their *_MALFORMED finding. */
export class FormatError extends Error {
  readonly offset: number | undefined;
  constructor(message: string, offset?: number) {
    super(message);
    this.name = 'FormatError';
    this.offset = offset;
  }
}

/** Reading would go past the scanner's byte limit (not past the file): a limit, not a malformation. */
export class LimitError extends Error {
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(message);
    this.name = 'LimitError';
    this.offset = offset;
  }
}

const WINDOW = 1 << 20;

export class BlobCursor {
  readonly blob: Blob;
  /** Absolute position of the next read. */
  pos: number;
  littleEndian = true;
  readonly #limit: number;
  #win: Buffer = Buffer.alloc(0);
  #winStart = 0;

  /** `limit`: bytes from the start of the blob the cursor may read (it never reads beyond). */
  constructor(blob: Blob, limit: number, start = 0) {
    this.blob = blob;
    this.#limit = Math.min(limit, blob.size);
    this.pos = start;
  }

  get remaining(): number {
    return this.blob.size - this.pos;
  }

  /** Makes sure `n` bytes at pos are in the window; FormatError at end of file, LimitError past the limit. */
  #ensure(n: number, what: string): number {
    if (this.pos + n > this.blob.size) throw new FormatError(`truncated: ${what} needs ${n} bytes at offset ${this.pos}, file has ${this.blob.size}`, this.pos);
    if (this.pos + n > this.#limit) throw new LimitError(`${what} at offset ${this.pos} lies beyond the ${this.#limit}-byte scan limit`, this.pos);
    const rel = this.pos - this.#winStart;
    if (rel >= 0 && rel + n <= this.#win.length) return rel;
    this.#winStart = this.pos;
    this.#win = this.blob.read(this.pos, Math.max(n, Math.min(WINDOW, this.#limit - this.pos)));
    if (this.#win.length < n) throw new FormatError(`short read at offset ${this.pos}`, this.pos);
    return 0;
  }

  u8(what = 'u8'): number {
    const r = this.#ensure(1, what);
    this.pos += 1;
    return this.#win[r]!;
  }
  u32(what = 'u32'): number {
    const r = this.#ensure(4, what);
    this.pos += 4;
    return this.littleEndian ? this.#win.readUInt32LE(r) : this.#win.readUInt32BE(r);
  }
  i32(what = 'i32'): number {
    const r = this.#ensure(4, what);
    this.pos += 4;
    return this.littleEndian ? this.#win.readInt32LE(r) : this.#win.readInt32BE(r);
  }
  u64(what = 'u64'): bigint {
    const r = this.#ensure(8, what);
    this.pos += 8;
    return this.littleEndian ? this.#win.readBigUInt64LE(r) : this.#win.readBigUInt64BE(r);
  }
  i64(what = 'i64'): bigint {
    const r = this.#ensure(8, what);
    this.pos += 8;
    return this.littleEndian ? this.#win.readBigInt64LE(r) : this.#win.readBigInt64BE(r);
  }
  /** A copy of the next n bytes (n is checked against the file and the limit first). */
  bytes(n: number, what = 'bytes'): Buffer {
    if (n <= WINDOW) {
      const r = this.#ensure(n, what);
      this.pos += n;
      return Buffer.from(this.#win.subarray(r, r + n));
    }
    if (this.pos + n > this.blob.size) throw new FormatError(`truncated: ${what} needs ${n} bytes at offset ${this.pos}`, this.pos);
    if (this.pos + n > this.#limit) throw new LimitError(`${what} at offset ${this.pos} lies beyond the scan limit`, this.pos);
    const b = this.blob.read(this.pos, n);
    this.pos += n;
    return b;
  }
  /** Skips n bytes that must exist in the file (nothing is read unless the limit is crossed). */
  skip(n: number, what = 'bytes'): void {
    if (this.pos + n > this.blob.size) throw new FormatError(`truncated: ${what} needs ${n} bytes at offset ${this.pos}, file has ${this.blob.size}`, this.pos);
    if (this.pos + n > this.#limit) throw new LimitError(`${what} at offset ${this.pos} lies beyond the ${this.#limit}-byte scan limit`, this.pos);
    this.pos += n;
  }
}

/** One line for a message: control characters escaped, cut at `max` characters. */
export const printable = (s: string, max = 200): string => {
  const t = s.slice(0, max + 1).replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return s.length > max || t.length > max ? t.slice(0, max) + '…' : t;
};

const utf8 = new TextDecoder('utf-8', { fatal: true });
/** Strict UTF-8 decoding; undefined when the bytes are not valid UTF-8. */
export function decodeUtf8(b: Uint8Array): string | undefined {
  try {
    return utf8.decode(b);
  } catch {
    return undefined;
  }
}
