/**
 * The symbolic executor's opcode loop: one pickle stream, from its first opcode to STOP. It reads
 * arguments with bounds checks, keeps a symbolic stack and memo, and records every import and call
 * (see machine.ts). It never unpickles: no object is created, no name is imported.
 */
import { decodeLong, decodeStringnl, decodeRawUnicodeEscape, isFloatText, isIdentifierPath } from './decode.ts';
import { wrapperLayout } from './joblib.ts';
import { Machine, type StreamOptions, type StreamResult } from './machine.ts';
import { HIGHEST_PROTOCOL, opName } from './opcodes.ts';
import { PickleStop, type StreamReader } from './reader.ts';
import {
  ARRAY_V, BOOL_V, BUFFER_V, ENC, FLOAT_V, K, NONE_V, PERSID_V, STR_DECODE_CAP, intV, pushItems, seqV, setItems,
  type DictV, type Enc, type SeqV, type StrV, type Val,
} from './values.ts';

const EMPTY_TUPLE: SeqV = Object.freeze({ k: K.TUPLE, items: Object.freeze([]) as unknown as Val[], n: 0 });
const MAX_INLINE_DEPTH = 8;

const strV = (off: number, len: number, enc: Enc, s: string | undefined): StrV => ({ k: K.STR, off, len, enc, s, memo: false });

/** Runs one stream from the reader's position. Never throws for bad input: problems end up in `stop`. */
export function runStream(r: StreamReader, opts: StreamOptions): StreamResult {
  const m = new Machine(r, opts);
  const start = r.pos;
  const stack = m.stack;
  let count = 0;
  try {
    for (;;) {
      if (++count > opts.maxOpcodes) throw new PickleStop('limit', `more than ${opts.maxOpcodes} opcodes in one pickle`, r.pos);
      if ((count & 0xffff) === 0) opts.tick();
      if (stack.length > m.maxStack) m.checkStack();
      const op = r.p < r.buf.length ? r.buf[r.p++]! : r.u1();
      m.at = r.base + r.p - 1;
      switch (op) {
        case 0x80: { // PROTO
          const v = r.u1();
          if (v > HIGHEST_PROTOCOL) throw m.fail(`unsupported pickle protocol ${v}`);
          break;
        }
        case 0x95: r.check(r.u8()); break; // FRAME: the frame must be there; its bounds do not matter to Python's C unpickler
        case 0x2e: { // STOP
          const top = m.pop(op);
          return m.result(start, r.pos, undefined, top, count);
        }
        // ---- constants and numbers
        case 0x4e: stack.push(NONE_V); break; // NONE
        case 0x88: case 0x89: stack.push(BOOL_V); break; // NEWTRUE, NEWFALSE
        case 0x4b: stack.push(intV(r.u1())); break; // BININT1
        case 0x4d: stack.push(intV(r.u2())); break; // BININT2
        case 0x4a: stack.push(intV(r.i4())); break; // BININT
        case 0x47: r.need(8); r.p += 8; stack.push(FLOAT_V); break; // BINFLOAT
        case 0x8a: stack.push(intV(decodeLong(r.take(r.u1())))); break; // LONG1
        case 0x8b: { // LONG4
          const n = r.i4();
          if (n < 0) throw m.fail('LONG4 with a negative byte count');
          stack.push(intV(n <= 64 ? decodeLong(r.take(n)) : (r.skip(n), undefined)));
          break;
        }
        case 0x49: case 0x4c: { // INT (00 and 01 are False and True: ints to us), LONG
          const v = r.lineInt(op === 0x4c);
          if (v === undefined) throw m.fail(`${opName(op)} argument is not an integer`);
          stack.push(intV(v));
          break;
        }
        case 0x46: { // FLOAT
          const nl = r.lineEnd();
          const t = r.buf.toString('latin1', r.p, nl);
          r.p = nl + 1;
          if (!isFloatText(t)) throw m.fail('FLOAT argument is not a number');
          stack.push(FLOAT_V);
          break;
        }
        // ---- strings and bytes
        case 0x8c: { // SHORT_BINUNICODE (inline fast path)
          const n = r.u1();
          const off = r.p + n <= r.buf.length ? r.base + (r.p += n) - n : r.skip(n);
          stack.push(strV(off, n, ENC.UTF8, undefined));
          break;
        }
        case 0x58: { const n = r.u4(); stack.push(strV(r.skip(n), n, ENC.UTF8, undefined)); break; } // BINUNICODE
        case 0x8d: { const n = r.u8(); stack.push(strV(r.skip(n), n, ENC.UTF8, undefined)); break; } // BINUNICODE8
        case 0x55: { const n = r.u1(); stack.push(strV(r.skip(n), n, ENC.LATIN1, undefined)); break; } // SHORT_BINSTRING
        case 0x54: { // BINSTRING
          const n = r.i4();
          if (n < 0) throw m.fail('BINSTRING with a negative length');
          stack.push(strV(r.skip(n), n, ENC.LATIN1, undefined));
          break;
        }
        case 0x53: { // STRING: quoted, with Python escapes (decoded now only when there are escapes, to check them)
          const nl = r.lineEnd();
          const b = r.buf;
          const q = b[r.p];
          if (nl - r.p < 2 || b[nl - 1] !== q || (q !== 0x27 && q !== 0x22)) throw m.fail('STRING argument is not quoted');
          let s: string | undefined;
          if (hasBackslash(b, r.p, nl) && nl - r.p <= STR_DECODE_CAP) {
            const d = decodeStringnl(b.subarray(r.p, nl));
            if (!d) throw m.fail('STRING argument has an invalid escape');
            s = d.toString('latin1');
          }
          stack.push(strV(r.pos + 1, nl - r.p - 2, ENC.ESCAPED, s));
          r.p = nl + 1;
          break;
        }
        case 0x56: { // UNICODE: raw-unicode-escape (checked now when it has escapes)
          const nl = r.lineEnd();
          let s: string | undefined;
          if (hasBackslash(r.buf, r.p, nl) && nl - r.p <= STR_DECODE_CAP) {
            s = decodeRawUnicodeEscape(r.buf.subarray(r.p, nl));
            if (s === undefined) throw m.fail('UNICODE argument has an invalid \\u escape');
          }
          stack.push(strV(r.pos, nl - r.p, ENC.RAW_UNICODE, s));
          r.p = nl + 1;
          break;
        }
        case 0x43: { const n = r.u1(); stack.push({ k: K.BYTES, off: r.skip(n), len: n }); break; } // SHORT_BINBYTES
        case 0x42: { const n = r.u4(); stack.push({ k: K.BYTES, off: r.skip(n), len: n }); break; } // BINBYTES
        case 0x8e: case 0x96: { const n = r.u8(); stack.push({ k: K.BYTES, off: r.skip(n), len: n }); break; } // BINBYTES8, BYTEARRAY8
        case 0x97: // NEXT_BUFFER
          m.event({ ruleId: 'PICKLE_OUT_OF_BAND_BUFFER', message: 'pickle takes out-of-band buffers (protocol 5 NEXT_BUFFER): part of the data lives outside this file and was not scanned', evidence: 'NEXT_BUFFER' }, 'oob');
          stack.push(BUFFER_V);
          break;
        case 0x98: m.top(op); break; // READONLY_BUFFER
        // ---- containers
        case 0x5d: stack.push({ k: K.LIST, items: [], n: 0 }); break; // EMPTY_LIST
        case 0x29: stack.push(EMPTY_TUPLE); break; // EMPTY_TUPLE
        case 0x7d: stack.push({ k: K.DICT, kv: [], n: 0 }); break; // EMPTY_DICT
        case 0x8f: stack.push({ k: K.SET, items: [], n: 0 }); break; // EMPTY_SET
        case 0x6c: stack.push(seqV(K.LIST, m.popMark(op))); break; // LIST
        case 0x74: { const it = m.popMark(op); stack.push(seqV(K.TUPLE, it)); break; } // TUPLE
        case 0x91: stack.push(seqV(K.FROZENSET, m.popMark(op))); break; // FROZENSET
        case 0x85: stack.push(seqV(K.TUPLE, [m.pop(op)])); break; // TUPLE1
        case 0x86: { const b = m.pop(op); const a = m.pop(op); stack.push(seqV(K.TUPLE, [a, b])); break; } // TUPLE2
        case 0x87: { const c = m.pop(op); const b = m.pop(op); const a = m.pop(op); stack.push(seqV(K.TUPLE, [a, b, c])); break; } // TUPLE3
        case 0x64: { // DICT
          const it = m.popMark(op);
          if (it.length % 2) throw m.fail('DICT with an odd number of items');
          const d: DictV = { k: K.DICT, kv: [], n: 0 };
          setItems(d, it);
          stack.push(d);
          break;
        }
        case 0x61: { // APPEND
          const v = m.pop(op);
          append(m, m.top(op), [v], op);
          break;
        }
        case 0x65: { const it = m.popMark(op); append(m, m.top(op), it, op); break; } // APPENDS
        case 0x73: { // SETITEM
          const v = m.pop(op);
          const k = m.pop(op);
          setitems(m, m.top(op), [k, v], op);
          break;
        }
        case 0x75: { // SETITEMS
          const it = m.popMark(op);
          if (it.length % 2) throw m.fail('SETITEMS with an odd number of items');
          setitems(m, m.top(op), it, op);
          break;
        }
        case 0x90: { // ADDITEMS
          const it = m.popMark(op);
          const t = m.top(op);
          if (t.k === K.SET) pushItems(t, it);
          else if (t.k === K.GLOBAL) m.mutated(t, op);
          else if (t.k !== K.OBJ && t.k !== K.PERSID && t.k !== K.EXT) throw m.fail(`ADDITEMS on a ${t.k === K.FROZENSET ? 'frozenset' : 'non-set'}`);
          break;
        }
        // ---- stack and memo
        case 0x30: // POP
          if (stack.length > m.fence) stack.pop();
          else if (m.marks.length) m.popMark(op);
          else throw m.underflow(op);
          break;
        case 0x32: stack.push(m.top(op)); break; // DUP
        case 0x28: m.mark(); break; // MARK
        case 0x31: m.popMark(op); break; // POP_MARK
        case 0x68: stack.push(m.memoGet(r.u1())); break; // BINGET
        case 0x6a: stack.push(m.memoGet(r.u4())); break; // LONG_BINGET
        case 0x71: m.memoPut(r.u1(), m.top(op)); break; // BINPUT
        case 0x72: m.memoPut(r.u4(), m.top(op)); break; // LONG_BINPUT
        case 0x94: m.memoPut(m.memoCount, m.top(op)); break; // MEMOIZE
        case 0x67: case 0x70: { // GET, PUT
          const key = r.lineInt();
          if (key === undefined) throw m.fail(`${opName(op)} argument is not an integer`);
          if (op === 0x67) stack.push(m.memoGet(key));
          else if (key < 0) throw m.fail('negative PUT argument');
          else m.memoPut(key, m.top(op));
          break;
        }
        // ---- imports and calls
        case 0x63: case 0x69: { // GLOBAL, INST
          const module = r.line().text.toString('utf8');
          const name = r.line().text.toString('utf8');
          if (opts.probe && !m.sawCode && !(isIdentifierPath(module) && isIdentifierPath(name))) throw m.fail(`${opName(op)} operands are not Python names`);
          const g = m.global(module, name, opName(op));
          if (op === 0x63) stack.push(g);
          else stack.push(m.call(g, seqV(K.TUPLE, m.popMark(op)), op));
          break;
        }
        case 0x93: stack.push(m.stackGlobal(op)); break; // STACK_GLOBAL
        case 0x82: case 0x83: case 0x84: { // EXT1, EXT2, EXT4
          const code = op === 0x82 ? r.u1() : op === 0x83 ? r.u2() : r.i4();
          if (code <= 0) throw m.fail(`${opName(op)} with extension code ${code} <= 0`);
          // Stock Python registers no extension codes, so EXT alone does not show that probed content
          // is a pickle (random bytes often start with 0x82-0x84); in a confirmed pickle it is reported.
          if (!opts.probe) m.sawCode = true;
          m.event({ ruleId: 'PICKLE_EXTENSION_CODE', message: `pickle imports a global by extension code ${code} (${opName(op)}), resolved from the loading process's copyreg registry: it cannot be checked here`, evidence: `${opName(op)} code ${code}` }, `ext:${code}`);
          stack.push({ k: K.EXT, code });
          break;
        }
        case 0x52: { const args = m.pop(op); stack.push(m.call(m.pop(op), args, op)); break; } // REDUCE
        case 0x81: { const args = m.pop(op); stack.push(m.call(m.pop(op), args, op)); break; } // NEWOBJ
        case 0x92: { m.pop(op); const args = m.pop(op); stack.push(m.call(m.pop(op), args, op)); break; } // NEWOBJ_EX
        case 0x6f: { // OBJ
          const it = m.popMark(op);
          if (!it.length) throw m.fail('OBJ without a class');
          stack.push(m.call(it[0]!, seqV(K.TUPLE, it.slice(1)), op));
          break;
        }
        case 0x62: { // BUILD
          const wrapper = m.build(op);
          if (wrapper) {
            const halted = joblibArray(m, wrapper.state, opts);
            if (halted) return halted === true ? m.result(start, r.pos, undefined, undefined, count, true) : m.result(start, halted.end, halted.stop, undefined, count);
          }
          break;
        }
        case 0x50: { // PERSID
          const t = r.line().text;
          if (t.some((b) => b > 0x7f)) throw m.fail('PERSID argument is not ASCII');
          stack.push(PERSID_V);
          break;
        }
        case 0x51: m.pop(op); stack.push(PERSID_V); break; // BINPERSID
        default:
          throw m.fail(`unknown opcode ${opName(op)}`);
      }
    }
  } catch (e) {
    if (!(e instanceof PickleStop)) throw e;
    return m.result(start, e.offset, e, undefined, count);
  }
}

function hasBackslash(b: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (b[i] === 0x5c) return true;
  return false;
}

function append(m: Machine, t: Val, items: Val[], op: number): void {
  if (t.k === K.LIST) pushItems(t, items);
  else if (t.k === K.GLOBAL) m.mutated(t, op);
  else if (t.k !== K.OBJ && t.k !== K.PERSID && t.k !== K.EXT) throw m.fail(`${opName(op)} on a value that is not a list`);
}

function setitems(m: Machine, t: Val, kv: Val[], op: number): void {
  if (t.k === K.DICT) setItems(t, kv);
  else if (t.k === K.GLOBAL) m.mutated(t, op);
  else if (t.k !== K.OBJ && t.k !== K.PERSID && t.k !== K.EXT) throw m.fail(`${opName(op)} on a value that is not a dict`);
}

/**
 * After a NumpyArrayWrapper BUILD: skip the raw array bytes joblib wrote there, or read the inline
 * object-array pickle. Returns true when the length cannot be worked out (analysis halts, an event
 * says why), a stop when the inline pickle failed, undefined to carry on.
 */
function joblibArray(m: Machine, state: Val | undefined, opts: StreamOptions): true | { end: number; stop: PickleStop | undefined } | undefined {
  const r = m.r;
  const layout = wrapperLayout(state, (s) => m.text(s, 256));
  m.stack[m.stack.length - 1] = ARRAY_V;
  if (layout.kind === 'unknown') {
    m.event({ ruleId: 'PICKLE_JOBLIB_ARRAY', message: `joblib array data follows at offset ${r.pos} but its length cannot be worked out (${layout.why}); the rest of the file was not scanned`, evidence: 'joblib.numpy_pickle.NumpyArrayWrapper' });
    return true;
  }
  if (layout.kind === 'raw') {
    if (layout.padded) {
      r.limitEnd += 1; // the padding-length byte is not pickle data either
      r.skipRaw(r.u1());
    }
    r.skipRaw(layout.nbytes);
    return undefined;
  }
  if (opts.depth >= MAX_INLINE_DEPTH) throw new PickleStop('limit', `joblib object arrays nested deeper than ${MAX_INLINE_DEPTH}`, r.pos);
  const inner = runStream(r, { ...opts, depth: opts.depth + 1 });
  m.inner.push(inner);
  if (inner.dangerous) m.dangerous = true;
  if (inner.stop || inner.halted) {
    const stop = inner.stop;
    inner.stop = undefined;
    return inner.halted ? true : { end: inner.end, stop };
  }
  return undefined;
}
