/**
 * A bounded reader of the protobuf wire format over a Blob: it walks fields of a message range
 * without reading payloads it does not need (a 2 GB ONNX initializer is skipped by its length).
 * Varints are at most 10 bytes, every length is checked against the enclosing message, groups
 * (wire types 3 and 4, unused by ONNX and TensorFlow) and unknown wire types are errors, and
 * callers bound recursion with `depth`.
 */
import type { Blob } from '../types.ts';
import { FormatError } from './cursor.ts';

export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_I32 = 5;

export interface PbField {
  no: number;
  wire: number;
  /** Varint value (as a double; exact below 2^53), or 0 for other wire types. */
  num: number;
  /** Payload range: the bytes of a length-delimited field, or of the fixed-size value. */
  start: number;
  end: number;
}

const WINDOW = 64 * 1024;
export const MAX_PROTO_DEPTH = 64;

export class ProtoReader {
  readonly blob: Blob;
  /** Fields visited so far; callers use it to check their deadline now and then. */
  visited = 0;
  #win: Buffer = Buffer.alloc(0);
  #winStart = 0;

  constructor(blob: Blob) {
    this.blob = blob;
  }

  #byte(pos: number): number {
    const rel = pos - this.#winStart;
    if (rel < 0 || rel >= this.#win.length) {
      this.#winStart = pos;
      this.#win = this.blob.read(pos, WINDOW);
      if (this.#win.length === 0) throw new FormatError(`read past the end at offset ${pos}`, pos);
      return this.#win[0]!;
    }
    return this.#win[rel]!;
  }

  /** Reads a varint at pos, not crossing end. */
  varint(pos: number, end: number): { value: number; next: number } {
    let value = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (pos + i >= end) throw new FormatError(`truncated varint at offset ${pos}`, pos);
      const b = this.#byte(pos + i);
      value += (b & 0x7f) * mul;
      mul *= 128;
      if ((b & 0x80) === 0) {
        if (i === 9 && b > 1) throw new FormatError(`varint overflows 64 bits at offset ${pos}`, pos);
        return { value, next: pos + i + 1 };
      }
    }
    throw new FormatError(`varint longer than 10 bytes at offset ${pos}`, pos);
  }

  /** The fields of the message occupying [start, end). Throws FormatError on malformed input. */
  *fields(start: number, end: number): Generator<PbField> {
    if (end > this.blob.size) throw new FormatError(`message end ${end} beyond the file (${this.blob.size} bytes)`, start);
    let pos = start;
    while (pos < end) {
      this.visited++;
      const tag = this.varint(pos, end);
      const no = Math.floor(tag.value / 8);
      const wire = tag.value % 8;
      if (no === 0 || no > 0x1fffffff) throw new FormatError(`invalid field number ${no} at offset ${pos}`, pos);
      pos = tag.next;
      if (wire === WIRE_VARINT) {
        const v = this.varint(pos, end);
        yield { no, wire, num: v.value, start: pos, end: v.next };
        pos = v.next;
      } else if (wire === WIRE_I64 || wire === WIRE_I32) {
        const n = wire === WIRE_I64 ? 8 : 4;
        if (pos + n > end) throw new FormatError(`truncated fixed-size field ${no} at offset ${pos}`, pos);
        yield { no, wire, num: 0, start: pos, end: pos + n };
        pos += n;
      } else if (wire === WIRE_LEN) {
        const len = this.varint(pos, end);
        const s = len.next;
        if (len.value > end - s) throw new FormatError(`field ${no} of ${len.value} bytes overruns its message at offset ${pos}`, pos);
        yield { no, wire, num: 0, start: s, end: s + len.value };
        pos = s + len.value;
      } else {
        throw new FormatError(`unsupported wire type ${wire} (field ${no}) at offset ${pos}`, pos);
      }
    }
  }

  /** A length-delimited field as UTF-8 text, at most `max` bytes (longer ones are cut and marked). */
  text(f: PbField, max = 4096): string {
    if (f.wire !== WIRE_LEN) throw new FormatError(`field ${f.no} should be length-delimited`, f.start);
    const n = f.end - f.start;
    const b = this.blob.read(f.start, Math.min(n, max));
    return b.toString('utf8') + (n > max ? '…' : '');
  }

  /** Checks that a field is length-delimited (a sub-message or string). */
  expectLen(f: PbField, what: string): void {
    if (f.wire !== WIRE_LEN) throw new FormatError(`${what} (field ${f.no}) has wire type ${f.wire}, expected a message`, f.start);
  }
}
