/**
 * A bounded, windowed reader over a Blob: the pickle is read through blob.read in chunks, never
 * whole, and every length is checked against what remains before anything is read. Long arguments
 * (tensor bytes inside a pickle) are skipped, not read, so cost follows the opcode count.
 */
import type { Blob } from '../types.ts';
import { parseDecimal } from './decode.ts';

/** Why a stream stopped early. 'truncated' and 'malformed' are PICKLE_MALFORMED; 'limit' is PICKLE_LIMIT. */
export type StopKind = 'truncated' | 'malformed' | 'limit';

export class PickleStop extends Error {
  readonly kind: StopKind;
  /** Offset in the blob where the problem was seen. */
  readonly offset: number;
  constructor(kind: StopKind, message: string, offset: number) {
    super(message);
    this.kind = kind;
    this.offset = offset;
  }
}

const CHUNK = 1 << 20;

export class StreamReader {
  readonly blob: Blob;
  /** The window: buf[0] is at blob offset `base`; `p` is the read position inside it. */
  buf: Buffer;
  base: number;
  p: number;
  /** Absolute offset past which reading is a limit breach (start + maxBytes, moved by skipRaw). */
  limitEnd: number;

  constructor(blob: Blob, start: number, maxBytes: number) {
    this.blob = blob;
    this.buf = Buffer.alloc(0);
    this.base = start;
    this.p = 0;
    this.limitEnd = start + maxBytes;
  }

  get pos(): number {
    return this.base + this.p;
  }

  /** Moves to an absolute offset (drops the window if it is outside it). */
  seek(abs: number): void {
    if (abs >= this.base && abs <= this.base + this.buf.length) this.p = abs - this.base;
    else {
      this.buf = Buffer.alloc(0);
      this.base = abs;
      this.p = 0;
    }
  }

  /** Throws unless n bytes from the current position are in the window (reading more if needed). */
  need(n: number): void {
    if (this.p + n <= this.buf.length) return;
    const at = this.base + this.p;
    if (at + n > this.limitEnd) throw new PickleStop('limit', `pickle larger than the byte limit (reading ${n} bytes at ${at})`, at);
    if (at + n > this.blob.size) throw new PickleStop('truncated', `pickle truncated: ${n} bytes needed at offset ${at}, ${Math.max(0, this.blob.size - at)} left`, at);
    const want = Math.min(Math.max(CHUNK, n), this.limitEnd - at);
    this.buf = this.blob.read(at, want);
    this.base = at;
    this.p = 0;
    if (this.buf.length < n) throw new PickleStop('truncated', `pickle truncated at offset ${at}`, at);
  }

  /** True when the current position is at the end of the blob. */
  atEnd(): boolean {
    return this.pos >= this.blob.size;
  }

  /** The byte at the current position without consuming it, or -1 at the end. */
  peek(): number {
    if (this.p < this.buf.length) return this.buf[this.p]!;
    if (this.pos >= this.blob.size || this.pos >= this.limitEnd) return -1;
    this.need(1);
    return this.buf[this.p]!;
  }

  u1(): number {
    this.need(1);
    return this.buf[this.p++]!;
  }
  u2(): number {
    this.need(2);
    const v = this.buf.readUInt16LE(this.p);
    this.p += 2;
    return v;
  }
  i4(): number {
    this.need(4);
    const v = this.buf.readInt32LE(this.p);
    this.p += 4;
    return v;
  }
  u4(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.p);
    this.p += 4;
    return v;
  }
  /** An 8-byte length; anything beyond 2^53 cannot fit in a file and is reported as truncation. */
  u8(): number {
    this.need(8);
    const v = this.buf.readBigUInt64LE(this.p);
    this.p += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new PickleStop('truncated', `length ${v} exceeds the file`, this.pos - 8);
    return Number(v);
  }
  f8(): number {
    this.need(8);
    const v = this.buf.readDoubleBE(this.p);
    this.p += 8;
    return v;
  }

  /** Checks that n bytes exist from here (limit, then file size) without reading them; returns their offset. */
  check(n: number): number {
    const at = this.pos;
    if (n < 0) throw new PickleStop('malformed', `negative length ${n}`, at);
    if (at + n > this.limitEnd) throw new PickleStop('limit', `pickle larger than the byte limit (an argument of ${n} bytes at ${at})`, at);
    if (at + n > this.blob.size) throw new PickleStop('truncated', `pickle truncated: an argument of ${n} bytes at offset ${at}, ${this.blob.size - at} left`, at);
    return at;
  }

  /** Skips n argument bytes (after check); returns the offset they started at. */
  skip(n: number): number {
    const at = this.check(n);
    if (this.p + n <= this.buf.length) this.p += n;
    else this.seek(at + n);
    return at;
  }

  /** Skips n bytes that are not pickle data (joblib's raw arrays): they do not count against the byte limit. */
  skipRaw(n: number): number {
    const at = this.pos;
    if (at + n > this.blob.size) throw new PickleStop('truncated', `raw array data of ${n} bytes at offset ${at} runs past the end of the file (${this.blob.size - at} left)`, at);
    this.limitEnd += n;
    this.seek(at + n);
    return at;
  }

  /** n bytes from here as a Buffer (a view of the window, valid until the next read); n must be small. */
  take(n: number): Buffer {
    this.check(n);
    this.need(n);
    const b = this.buf.subarray(this.p, this.p + n);
    this.p += n;
    return b;
  }

  /**
   * Makes the rest of the current line (up to its newline) available in the window and returns the
   * index of the newline in `buf`; the line starts at `p`. The window grows to hold the line, within
   * the byte limit. The caller moves `p` past the newline.
   */
  lineEnd(): number {
    let scanned = this.p;
    for (;;) {
      const nl = this.buf.indexOf(0x0a, scanned);
      if (nl >= 0) return nl;
      const at = this.pos;
      const have = this.buf.length - this.p;
      if (at + have >= this.blob.size) throw new PickleStop('truncated', `pickle truncated: no newline after offset ${at}`, at);
      if (at + have >= this.limitEnd) throw new PickleStop('limit', `pickle larger than the byte limit (a line at ${at})`, at);
      const grow = Math.min(Math.max(CHUNK, have * 2), this.limitEnd - at);
      this.buf = this.blob.read(at, grow);
      this.base = at;
      this.p = 0;
      scanned = have;
    }
  }

  /** Reads a line; returns it without the newline, and the offset where it started. */
  line(): { text: Buffer; offset: number } {
    const nl = this.lineEnd();
    const offset = this.pos;
    const text = this.buf.subarray(this.p, nl);
    this.p = nl + 1;
    return { text, offset };
  }

  /** Reads a line holding an integer (INT, LONG, GET, PUT); undefined when it is not one. A trailing L is dropped when `long`. */
  lineInt(long = false): number | bigint | undefined {
    const nl = this.lineEnd();
    const b = this.buf;
    let end = nl;
    if (long && end > this.p && b[end - 1] === 0x4c) end--;
    let i = this.p;
    const neg = b[i] === 0x2d;
    if (neg) i++;
    if (end - i >= 1 && end - i <= 15) {
      let v = 0;
      for (; i < end; i++) {
        const c = b[i]! - 0x30;
        if (c < 0 || c > 9) break;
        v = v * 10 + c;
      }
      if (i === end) {
        this.p = nl + 1;
        return neg ? -v : v;
      }
    }
    const t = b.toString('latin1', this.p, end);
    this.p = nl + 1;
    return parseDecimal(t);
  }

  /** Reads `len` bytes at an absolute offset directly from the blob (for lazily decoded values). */
  bytesAt(offset: number, len: number): Buffer {
    if (offset >= this.base && offset + len <= this.base + this.buf.length) return this.buf.subarray(offset - this.base, offset - this.base + len);
    return this.blob.read(offset, len);
  }
}
