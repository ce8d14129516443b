/**
 * A pickle assembler for the test corpus: every pickle the tests and benchmarks use is written by
 * this code, opcode by opcode, for protocols 0-5 (no binary fixtures from elsewhere). `dump` also
 * serialises plain values the way CPython's pickler lays them out (memo, batching, framing).
 */

/** A tuple in `dump` input (JS arrays are lists). */
export class Tuple {
  readonly items: unknown[];
  constructor(items: unknown[]) {
    this.items = items;
  }
}
export const tuple = (...items: unknown[]): Tuple => new Tuple(items);

/** A Python float in `dump` input (JS numbers that are integers are written as ints). */
export class Float {
  readonly value: number;
  constructor(value: number) {
    this.value = value;
  }
}
export const float = (x: number): Float => new Float(x);

/** Something that writes itself (a global, a call): `dump` calls emit(writer). */
export class Emit {
  readonly emit: (w: PickleWriter) => void;
  constructor(emit: (w: PickleWriter) => void) {
    this.emit = emit;
  }
}
/** `module.name(*args)` in dump input, written as global + args tuple + REDUCE. */
export const call = (module: string, name: string, ...args: unknown[]): Emit =>
  new Emit((w) => {
    w.global(module, name);
    w.dump(new Tuple(args));
    w.reduce();
  });
/** A reference to a global (not called). */
export const glob = (module: string, name: string): Emit => new Emit((w) => w.global(module, name));

export type StrOp = 'STRING' | 'BINSTRING' | 'SHORT_BINSTRING' | 'UNICODE' | 'BINUNICODE' | 'SHORT_BINUNICODE' | 'BINUNICODE8';

const u32 = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32LE(n); return b; };
const i32 = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeInt32LE(n); return b; };
const u64 = (n: number | bigint): Buffer => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(n)); return b; };

/** Two's complement little-endian, shortest form (what pickle's encode_long writes). */
export function encodeLong(x: bigint): Buffer {
  if (x === 0n) return Buffer.alloc(0);
  const out: number[] = [];
  let v = x;
  for (;;) {
    out.push(Number(v & 0xffn));
    v >>= 8n;
    const signBit = (out[out.length - 1]! & 0x80) !== 0;
    if ((v === 0n && !signBit) || (v === -1n && signBit)) break;
  }
  return Buffer.from(out);
}

/** Python repr-style quoting for protocol 0 STRING. */
const quote = (b: Buffer): string => `'${[...b].map((c) => (c === 0x5c ? '\\\\' : c === 0x27 ? "\\'" : c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`)).join('')}'`;
/** raw-unicode-escape as pickle's save_str does for protocol 0 UNICODE. */
const rawUnicode = (s: string): string =>
  [...s].map((ch) => { const c = ch.codePointAt(0)!; return c === 0x5c || c === 0 || c === 0x0a || c === 0x0d || c === 0x1a || c > 0xff ? (c > 0xffff ? `\\U${c.toString(16).padStart(8, '0')}` : `\\u${c.toString(16).padStart(4, '0')}`) : ch; }).join('');

export interface WriterOptions {
  /** Wrap protocol 4+ output in FRAMEs of ~64 KiB as CPython does (default true). */
  frames?: boolean;
}

export class PickleWriter {
  readonly protocol: number;
  readonly #frames: boolean;
  #out: Buffer[] = [];
  #frame: Buffer[] = [];
  #frameLen = 0;
  #memoCount = 0;
  /** dump's memo: strings by value, globals by name. */
  readonly #memo = new Map<string, number>();

  constructor(protocol = 4, opts: WriterOptions = {}) {
    this.protocol = protocol;
    this.#frames = (opts.frames ?? true) && protocol >= 4;
  }

  /** Raw bytes: an opcode and its argument, or deliberate garbage. */
  raw(...parts: (Buffer | string | number[])[]): this {
    for (const p of parts) {
      const b = typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.isBuffer(p) ? p : Buffer.from(p);
      this.#frame.push(b);
      this.#frameLen += b.length;
    }
    if (this.#frames && this.#frameLen >= 64 * 1024) this.commitFrame();
    return this;
  }
  op(code: string, ...arg: (Buffer | string | number[])[]): this {
    return this.raw(code, ...arg);
  }

  /** Ends the current frame (joblib does this before writing raw array bytes). */
  commitFrame(): this {
    if (!this.#frameLen) return this;
    const data = Buffer.concat(this.#frame);
    if (this.#frames && data.length >= 4) this.#out.push(Buffer.from([0x95]), u64(data.length));
    this.#out.push(data);
    this.#frame = [];
    this.#frameLen = 0;
    return this;
  }
  /** Bytes outside any frame (joblib array data). */
  unframed(b: Buffer): this {
    this.commitFrame();
    this.#out.push(b);
    return this;
  }
  /** Everything written so far (including a PROTO already written by proto()). */
  bytes(): Buffer {
    this.commitFrame();
    return Buffer.concat(this.#out);
  }
  get length(): number {
    return this.#out.reduce((n, b) => n + b.length, 0) + this.#frameLen;
  }

  // ---- machine control
  proto(v = this.protocol): this {
    if (v < 2) return this;
    this.commitFrame();
    this.#out.push(Buffer.from([0x80, v]));
    return this;
  }
  stop(): this { return this.op('.').commitFrame(); }
  mark(): this { return this.op('('); }
  pop(): this { return this.op('0'); }
  popMark(): this { return this.op('1'); }
  dup(): this { return this.op('2'); }

  // ---- scalars
  none(): this { return this.op('N'); }
  bool(b: boolean): this { return this.protocol >= 2 ? this.op(b ? '\x88' : '\x89') : this.op('I', b ? '01\n' : '00\n'); }
  int(n: number | bigint): this {
    if (this.protocol === 0) return typeof n === 'bigint' ? this.op('L', `${n}L\n`) : this.op('I', `${n}\n`);
    const x = BigInt(n);
    if (x >= 0n && x < 256n) return this.op('K', [Number(x)]);
    if (x >= 0n && x < 65536n) { const b = Buffer.alloc(2); b.writeUInt16LE(Number(x)); return this.op('M', b); }
    if (x >= -(2n ** 31n) && x < 2n ** 31n) return this.op('J', i32(Number(x)));
    if (this.protocol < 2) return this.op('L', `${x}L\n`);
    const e = encodeLong(x);
    return e.length < 256 ? this.op('\x8a', [e.length], e) : this.op('\x8b', i32(e.length), e);
  }
  float(x: number): this {
    if (this.protocol === 0) return this.op('F', `${Number.isInteger(x) ? x.toFixed(1) : String(x)}\n`); // repr(float)
    const b = Buffer.alloc(8);
    b.writeDoubleBE(x);
    return this.op('G', b);
  }

  // ---- strings and bytes
  str(s: string, how?: StrOp): this {
    const u = Buffer.from(s, 'utf8');
    const l = Buffer.from(s, 'latin1');
    const op = how ?? (this.protocol === 0 ? 'UNICODE' : this.protocol >= 4 && u.length < 256 ? 'SHORT_BINUNICODE' : 'BINUNICODE');
    switch (op) {
      case 'STRING': return this.op('S', `${quote(l)}\n`);
      case 'BINSTRING': return this.op('T', i32(l.length), l);
      case 'SHORT_BINSTRING': return this.op('U', [l.length], l);
      case 'UNICODE': return this.op('V', Buffer.from(`${rawUnicode(s)}\n`, 'latin1'));
      case 'BINUNICODE': return this.op('X', u32(u.length), u);
      case 'SHORT_BINUNICODE': return this.op('\x8c', [u.length], u);
      case 'BINUNICODE8': return this.op('\x8d', u64(u.length), u);
    }
  }
  /** bytes as the protocol writes them: BINBYTES forms for 3+, _codecs.encode(latin1 str) before. */
  bin(b: Buffer, how?: 'BINBYTES8' | 'BYTEARRAY8'): this {
    if (how === 'BINBYTES8') return this.op('\x8e', u64(b.length), b);
    if (how === 'BYTEARRAY8') return this.op('\x96', u64(b.length), b);
    if (this.protocol >= 3) return b.length < 256 ? this.op('C', [b.length], b) : this.op('B', u32(b.length), b);
    if (b.length === 0) return this.global('builtins', 'bytes').dump(new Tuple([])).reduce();
    this.global('_codecs', 'encode');
    if (this.protocol < 2) this.mark();
    this.str(b.toString('latin1')).str('latin1');
    return (this.protocol >= 2 ? this.tupleN(2) : this.tuple()).reduce();
  }

  // ---- containers
  emptyList(): this { return this.op(']'); }
  emptyTuple(): this { return this.op(')'); }
  emptyDict(): this { return this.op('}'); }
  emptySet(): this { return this.op('\x8f'); }
  list(): this { return this.op('l'); }
  tuple(): this { return this.op('t'); }
  tupleN(n: 1 | 2 | 3): this { return this.op(n === 1 ? '\x85' : n === 2 ? '\x86' : '\x87'); }
  dict(): this { return this.op('d'); }
  append(): this { return this.op('a'); }
  appends(): this { return this.op('e'); }
  setitem(): this { return this.op('s'); }
  setitems(): this { return this.op('u'); }
  additems(): this { return this.op('\x90'); }
  frozenset(): this { return this.op('\x91'); }

  // ---- memo
  /** Memoises the top of stack with the protocol's opcode (index: lastMemo). */
  memoize(): this {
    const i = this.#memoCount++;
    return this.protocol >= 4 ? this.op('\x94') : this.put(i);
  }
  /** The memo index the last memoize() used. */
  get lastMemo(): number {
    return this.#memoCount - 1;
  }
  put(i: number): this {
    if (this.protocol === 0) return this.op('p', `${i}\n`);
    return i < 256 ? this.op('q', [i]) : this.op('r', u32(i));
  }
  get(i: number): this {
    if (this.protocol === 0) return this.op('g', `${i}\n`);
    return i < 256 ? this.op('h', [i]) : this.op('j', u32(i));
  }

  // ---- imports and calls
  /** GLOBAL for protocols < 4, STACK_GLOBAL of two strings for 4+ (as CPython); memoised and reused by name. */
  global(module: string, name: string): this {
    if (this.protocol < 3 && module === 'builtins') module = '__builtin__'; // fix_imports, as CPython writes
    const key = `g\0${module}\0${name}`;
    const seen = this.#memo.get(key);
    if (seen !== undefined) return this.get(seen);
    if (this.protocol >= 4) {
      this.dumpStr(module);
      this.dumpStr(name);
      this.op('\x93');
    } else this.op('c', `${module}\n${name}\n`);
    this.#memo.set(key, this.memoize().lastMemo);
    return this;
  }
  globalOp(module: string, name: string): this { return this.op('c', `${module}\n${name}\n`); }
  stackGlobal(): this { return this.op('\x93'); }
  inst(module: string, name: string): this { return this.op('i', `${module}\n${name}\n`); }
  obj(): this { return this.op('o'); }
  reduce(): this { return this.op('R'); }
  build(): this { return this.op('b'); }
  newobj(): this { return this.op('\x81'); }
  newobjEx(): this { return this.op('\x92'); }
  persid(id: string): this { return this.op('P', `${id}\n`); }
  binpersid(): this { return this.op('Q'); }
  ext(code: number): this {
    if (code < 256) return this.op('\x82', [code]);
    if (code < 65536) { const b = Buffer.alloc(2); b.writeUInt16LE(code); return this.op('\x83', b); }
    return this.op('\x84', i32(code));
  }
  nextBuffer(): this { return this.op('\x97'); }
  readonlyBuffer(): this { return this.op('\x98'); }

  // ---- values
  dumpStr(s: string): this {
    const key = `s\0${s}`;
    const seen = this.#memo.get(key);
    if (seen !== undefined) return this.get(seen);
    this.str(s);
    this.#memo.set(key, this.memoize().lastMemo);
    return this;
  }

  /** Writes a value as CPython's pickler would (lists and dicts in batches of 1000, memo by value). */
  dump(v: unknown): this {
    if (v === null || v === undefined) return this.none();
    if (typeof v === 'boolean') return this.bool(v);
    if (typeof v === 'bigint') return this.int(v);
    if (typeof v === 'number') return Number.isInteger(v) && !Object.is(v, -0) ? this.int(v) : this.float(v);
    if (typeof v === 'string') return this.dumpStr(v);
    if (Buffer.isBuffer(v)) { this.bin(v); this.memoize(); return this; }
    if (v instanceof Emit) { v.emit(this); return this; }
    if (v instanceof Float) return this.float(v.value);
    if (v instanceof Tuple) {
      const n = v.items.length;
      if (n === 0) return this.protocol >= 1 ? this.emptyTuple() : this.mark().tuple();
      if (n <= 3 && this.protocol >= 2) {
        for (const x of v.items) this.dump(x);
        this.tupleN(n as 1 | 2 | 3);
      } else {
        this.mark();
        for (const x of v.items) this.dump(x);
        this.tuple();
      }
      this.memoize();
      return this;
    }
    if (Array.isArray(v)) {
      if (this.protocol === 0) this.mark().list(); else this.emptyList();
      this.memoize();
      for (let i = 0; i < v.length; i += 1000) {
        const batch = v.slice(i, i + 1000);
        if (batch.length === 1 || this.protocol === 0) for (const x of batch) this.dump(x).append();
        else { this.mark(); for (const x of batch) this.dump(x); this.appends(); }
      }
      return this;
    }
    const entries = v instanceof Map ? [...v.entries()] : Object.entries(v as object);
    if (this.protocol === 0) this.mark().dict(); else this.emptyDict();
    this.memoize();
    for (let i = 0; i < entries.length; i += 1000) {
      const batch = entries.slice(i, i + 1000);
      if (batch.length === 1 || this.protocol === 0) for (const [k, x] of batch) this.dump(k).dump(x).setitem();
      else { this.mark(); for (const [k, x] of batch) this.dump(k).dump(x); this.setitems(); }
    }
    return this;
  }
}

/** One complete pickle of `v`: PROTO, value, STOP. */
export function dumps(v: unknown, protocol = 4, opts?: WriterOptions): Buffer {
  return new PickleWriter(protocol, opts).proto().dump(v).stop().bytes();
}
