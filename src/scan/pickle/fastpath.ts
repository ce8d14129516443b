/**
 * A structural fast path for pure-data pickles: lists, dicts, tuples, strings and numbers, with
 * no opcode that can import or call anything (GLOBAL, STACK_GLOBAL, INST, OBJ, REDUCE, NEWOBJ,
 * BUILD, EXT, PERSID) and no protocol-0 text opcode. Such a stream cannot run code on load, and
 * the full symbolic executor would report nothing for it; this pass proves that shape using only
 * integers (a stack of kind tags, a memo of kinds), so it allocates nothing per opcode.
 *
 * It answers only "a well-formed pure-data pickle ends at offset N", or undefined: any other
 * opcode, any stack, memo or bounds anomaly, any limit, and the stream goes to the full executor,
 * which then reports whatever is wrong. So it can make a scan faster, never less thorough.
 */
import type { Blob } from '../types.ts';

// Kind tags on the integer stack.
const OTHER = 0;
const LIST = 1;
const DICT = 2;
const SET = 3;

/** Streams smaller than this use the full executor directly (the legacy-torch check needs values). */
export const FAST_PATH_MIN_BYTES = 64 * 1024;

export interface FastPathLimits {
  /** Called every 2^20 opcodes; false (time is up) defers to the full executor, which reports it. */
  inTime?: () => boolean;
  maxOpcodes: number;
  maxBytes: number;
  maxStack: number;
  maxMemo: number;
}

/** Returns the offset just past STOP and the opcode count, or undefined to defer to the full executor. */
export function pureDataPickleEnd(blob: Blob, start: number, limits: FastPathLimits): { end: number; opcodes: number } | undefined {
  const size = Math.min(blob.size, start + limits.maxBytes);
  if (size - start < FAST_PATH_MIN_BYTES) return undefined;
  // Reads start small (a short stream followed by raw data, as in legacy torch files, stays cheap)
  // and grow to 1 MiB.
  let chunk = 64 * 1024;
  let buf = blob.read(start, Math.min(chunk, size - start));
  let base = start;
  let p = 0;
  const stack = new Uint8Array(limits.maxStack + 8);
  let sp = 0;
  const marks: number[] = [];
  const memo: number[] = []; // kind + 1 per key (0 = unset); keys are small ints in practice
  let memoCount = 0;
  let opcodes = 0;

  /** Makes n bytes available at p (sliding the window); false if the stream ends first. */
  const need = (n: number): boolean => {
    if (p + n <= buf.length) return true;
    const at = base + p;
    if (at + n > size) return false;
    chunk = Math.min(chunk * 2, 1 << 20);
    buf = blob.read(at, Math.max(n, Math.min(chunk, size - at)));
    base = at;
    p = 0;
    return buf.length >= n;
  };
  const fence = (): number => (marks.length ? marks[marks.length - 1]! : 0);
  const push = (k: number): boolean => {
    if (sp >= limits.maxStack) return false;
    stack[sp++] = k;
    return true;
  };
  const popMark = (): number => {
    const m = marks.pop();
    return m === undefined ? -1 : m;
  };
  const put = (key: number): boolean => {
    if (sp <= fence() || key < 0 || key > 1 << 24) return false;
    if (memo[key] === undefined) memoCount++;
    memo[key] = stack[sp - 1]! + 1;
    return memoCount <= limits.maxMemo;
  };
  const get = (key: number): boolean => {
    const k = memo[key];
    return k !== undefined && push(k - 1);
  };
  /** Skips a length-prefixed argument of `width` bytes (1, 4 or 8). */
  const skipLen = (width: 1 | 4 | 8): boolean => {
    if (!need(width)) return false;
    let n: number;
    if (width === 1) n = buf[p]!;
    else if (width === 4) n = buf.readUInt32LE(p);
    else {
      const big = buf.readBigUInt64LE(p);
      if (big > BigInt(Number.MAX_SAFE_INTEGER)) return false;
      n = Number(big);
    }
    p += width;
    if (base + p + n > size) return false;
    if (p + n <= buf.length) p += n;
    else {
      const to = base + p + n;
      buf = Buffer.alloc(0);
      base = to;
      p = 0;
    }
    return true;
  };

  for (;;) {
    if (++opcodes > limits.maxOpcodes) return undefined;
    if ((opcodes & 0xfffff) === 0 && limits.inTime && !limits.inTime()) return undefined;
    if (!need(1)) return undefined;
    const op = buf[p++]!;
    switch (op) {
      case 0x80: // PROTO
        if (!need(1) || buf[p++]! > 5) return undefined;
        break;
      case 0x95: { // FRAME: its bytes must all be there (the C unpickler reads the frame at once)
        if (!need(8)) return undefined;
        const len = buf.readBigUInt64LE(p);
        p += 8;
        if (len > BigInt(size - (base + p))) return undefined;
        break;
      }
      case 0x2e: // STOP
        if (sp !== 1 || marks.length) return undefined;
        return { end: base + p, opcodes };
      case 0x4e: case 0x88: case 0x89: // NONE, NEWTRUE, NEWFALSE
        if (!push(OTHER)) return undefined;
        break;
      case 0x4b: if (!need(1)) return undefined; p += 1; if (!push(OTHER)) return undefined; break; // BININT1
      case 0x4d: if (!need(2)) return undefined; p += 2; if (!push(OTHER)) return undefined; break; // BININT2
      case 0x4a: if (!need(4)) return undefined; p += 4; if (!push(OTHER)) return undefined; break; // BININT
      case 0x47: if (!need(8)) return undefined; p += 8; if (!push(OTHER)) return undefined; break; // BINFLOAT
      case 0x8a: case 0x55: case 0x43: case 0x8c: // LONG1, SHORT_BINSTRING, SHORT_BINBYTES, SHORT_BINUNICODE
        if (!skipLen(1) || !push(OTHER)) return undefined;
        break;
      case 0x8b: case 0x54: case 0x42: case 0x58: // LONG4, BINSTRING, BINBYTES, BINUNICODE
        if (!skipLen(4) || !push(OTHER)) return undefined;
        break;
      case 0x8e: case 0x8d: case 0x96: // BINBYTES8, BINUNICODE8, BYTEARRAY8
        if (!skipLen(8) || !push(OTHER)) return undefined;
        break;
      case 0x5d: if (!push(LIST)) return undefined; break; // EMPTY_LIST
      case 0x7d: if (!push(DICT)) return undefined; break; // EMPTY_DICT
      case 0x8f: if (!push(SET)) return undefined; break; // EMPTY_SET
      case 0x29: if (!push(OTHER)) return undefined; break; // EMPTY_TUPLE
      case 0x28: // MARK
        if (marks.length >= limits.maxStack) return undefined;
        marks.push(sp);
        break;
      case 0x6c: case 0x74: case 0x91: case 0x64: { // LIST, TUPLE, FROZENSET, DICT
        const m = popMark();
        if (m < 0 || (op === 0x64 && (sp - m) % 2)) return undefined;
        sp = m;
        if (!push(op === 0x6c ? LIST : op === 0x64 ? DICT : OTHER)) return undefined;
        break;
      }
      case 0x85: case 0x86: case 0x87: { // TUPLE1, TUPLE2, TUPLE3
        const n = op - 0x84;
        if (sp - n < fence()) return undefined;
        sp -= n;
        if (!push(OTHER)) return undefined;
        break;
      }
      case 0x61: // APPEND
        if (sp - 2 < fence() || stack[sp - 2] !== LIST) return undefined;
        sp -= 1;
        break;
      case 0x73: // SETITEM
        if (sp - 3 < fence() || stack[sp - 3] !== DICT) return undefined;
        sp -= 2;
        break;
      case 0x65: case 0x75: case 0x90: { // APPENDS, SETITEMS, ADDITEMS
        const m = popMark();
        if (m < 1 || m - 1 < fence()) return undefined;
        const want = op === 0x65 ? LIST : op === 0x75 ? DICT : SET;
        if (stack[m - 1] !== want || (op === 0x75 && (sp - m) % 2)) return undefined;
        sp = m;
        break;
      }
      case 0x30: // POP
        if (sp > fence()) sp--;
        else return undefined;
        break;
      case 0x31: { // POP_MARK
        const m = popMark();
        if (m < 0) return undefined;
        sp = m;
        break;
      }
      case 0x32: // DUP
        if (sp <= fence() || !push(stack[sp - 1]!)) return undefined;
        break;
      case 0x71: if (!need(1) || !put(buf[p++]!)) return undefined; break; // BINPUT
      case 0x72: { if (!need(4)) return undefined; const k = buf.readUInt32LE(p); p += 4; if (!put(k)) return undefined; break; } // LONG_BINPUT
      case 0x94: if (!put(memoCount)) return undefined; break; // MEMOIZE (key = number of entries so far)
      case 0x68: if (!need(1) || !get(buf[p++]!)) return undefined; break; // BINGET
      case 0x6a: { if (!need(4)) return undefined; const k = buf.readUInt32LE(p); p += 4; if (!get(k)) return undefined; break; } // LONG_BINGET
      default:
        // Imports, calls, persistent ids, extension codes, out-of-band buffers, protocol 0 text
        // opcodes and unknown bytes: not pure data, or not provable here.
        return undefined;
    }
  }
}
