/**
 * State of the symbolic executor for one pickle stream: stack with marks (the "fence" below which
 * an opcode may not pop, as in CPython's C unpickler), memo, the globals imported, and the events
 * that become findings. Calls are recorded, never made.
 */
import { BufferBlob, SliceBlob } from '../blob.ts';
import type { Blob, Severity } from '../types.ts';
import { decodeRawUnicodeEscape, escapeDecode } from './decode.ts';
import { opName } from './opcodes.ts';
import { classifyGlobal, NESTED_LOADERS, resolvedName, type PolicyContext, type Verdict } from './policy.ts';
import { PickleStop, type StreamReader } from './reader.ts';
import { ENC, K, kindName, isNotCallable, STR_DECODE_CAP, type BytesV, type GlobalRec, type GlobalV, type ObjV, type StrV, type Val } from './values.ts';

export interface StreamOptions {
  maxOpcodes: number;
  /** Bytes of pickle data per stream (raw joblib array data does not count). */
  maxBytes: number;
  /** Content that merely starts like a protocol 0/1 pickle: GLOBAL/INST operands must look like Python names. */
  probe: boolean;
  policy: PolicyContext;
  /** Called every 65536 opcodes (ctx.checkDeadline). */
  tick: () => void;
  /** Nesting of joblib's inline object-array pickles. */
  depth: number;
  /** Symbolic stack entries allowed (legitimate pickles stay in the thousands). Default MAX_STACK. */
  maxStack?: number;
  /** Memo entries allowed. Default MAX_MEMO. */
  maxMemo?: number;
}

/** Bounds on what a stream may make the executor hold, whatever the opcode limit: memory stays bounded. */
export const MAX_STACK = 1 << 20;
export const MAX_MEMO = 1 << 23;

export interface StreamEvent {
  ruleId: string;
  severity?: Severity;
  message: string;
  evidence?: string;
  offset: number;
}

export interface NestedLoad {
  offset: number;
  /** The loader called, e.g. torch.storage._load_from_bytes. */
  loader: string;
  /** The embedded bytes, when they could be recovered. */
  blob: Blob | undefined;
}

export type GlobalEntry = GlobalRec & { verdict: Verdict };

export interface StreamResult {
  start: number;
  /** Offset just after STOP, or where the stream stopped. */
  end: number;
  /** Why it stopped before STOP (malformed, truncated, limit). */
  stop: PickleStop | undefined;
  /** Analysis could not go on (joblib array of unknown length); an event says why. */
  halted: boolean;
  /** The value STOP returned. */
  top: Val | undefined;
  /** A GLOBAL, INST, STACK_GLOBAL, REDUCE or EXT ran: this is code-bearing pickle, not text that looks like one. */
  sawCode: boolean;
  globals: GlobalEntry[];
  events: StreamEvent[];
  nested: NestedLoad[];
  /** Inline pickles (joblib object arrays) read inside this one. */
  inner: StreamResult[];
  /** Something dangerous was seen (an error after it is dangerous too). */
  dangerous: boolean;
  opcodes: number;
}

const MEMO_ARRAY_MAX = 1 << 26;
const ENC_OPS = ['BINUNICODE', 'BINSTRING', 'STRING', 'UNICODE'];
const JOBLIB_WRAPPER = 'joblib.numpy_pickle.NumpyArrayWrapper';

export class Machine {
  readonly r: StreamReader;
  readonly opts: StreamOptions;
  readonly stack: Val[] = [];
  readonly marks: number[] = [];
  fence = 0;
  readonly memoArr: (Val | undefined)[] = [];
  readonly memoMap = new Map<number | bigint, Val>();
  memoCount = 0;
  readonly globals = new Map<string, GlobalEntry>();
  readonly events: StreamEvent[] = [];
  readonly nested: NestedLoad[] = [];
  readonly inner: StreamResult[] = [];
  readonly once = new Set<string>();
  sawCode = false;
  dangerous = false;
  /** Offset of the opcode being executed. */
  at = 0;

  readonly maxStack: number;
  readonly maxMemo: number;

  constructor(r: StreamReader, opts: StreamOptions) {
    this.r = r;
    this.opts = opts;
    this.maxStack = opts.maxStack ?? MAX_STACK;
    this.maxMemo = opts.maxMemo ?? MAX_MEMO;
  }

  fail(message: string, kind: 'malformed' | 'truncated' | 'limit' = 'malformed'): PickleStop {
    return new PickleStop(kind, message, this.at);
  }

  underflow(op: number): PickleStop {
    return this.fail(this.marks.length && this.stack.length === this.fence ? `${opName(op)} reached into a MARK (stack underflow)` : `${opName(op)} on an empty stack (stack underflow)`);
  }

  pop(op: number): Val {
    if (this.stack.length <= this.fence) throw this.underflow(op);
    return this.stack.pop()!;
  }

  top(op: number, depth = 1): Val {
    if (this.stack.length - depth < this.fence) throw this.underflow(op);
    return this.stack[this.stack.length - depth]!;
  }

  popMark(op: number): Val[] {
    const m = this.marks.pop();
    if (m === undefined) throw this.fail(`${opName(op)} without a MARK`);
    this.fence = this.marks.length ? this.marks[this.marks.length - 1]! : 0;
    return this.stack.splice(m);
  }

  mark(): void {
    if (this.marks.length >= this.maxStack) this.checkStack();
    this.marks.push(this.stack.length);
    this.fence = this.stack.length;
  }

  memoPut(key: number | bigint, v: Val): void {
    if (typeof key === 'number' && key < MEMO_ARRAY_MAX) {
      if (this.memoArr[key] === undefined) this.memoCount++;
      this.memoArr[key] = v;
    } else {
      if (!this.memoMap.has(key)) this.memoCount++;
      this.memoMap.set(key, v);
    }
    if (this.memoCount > this.maxMemo) throw this.fail(`more than ${this.maxMemo} memo entries`, 'limit');
  }

  /** Called when the stack has grown by a power of two: keeps the stack and marks bounded. */
  checkStack(): void {
    if (this.stack.length > this.maxStack || this.marks.length > this.maxStack) throw this.fail(`symbolic stack deeper than ${this.maxStack} entries`, 'limit');
  }

  memoGet(key: number | bigint): Val {
    const v = typeof key === 'number' && key < MEMO_ARRAY_MAX ? this.memoArr[key] : this.memoMap.get(key);
    if (v === undefined) throw this.fail(`memo key ${key} read before it was written`);
    if (v.k === K.STR) v.memo = true; // shared: "this string was read back from the memo" (evidence only)
    if (v.k === K.GLOBAL) return { k: K.GLOBAL, g: v.g, memo: true };
    return v;
  }

  event(e: Omit<StreamEvent, 'offset'> & { offset?: number }, onceKey?: string): void {
    if (onceKey !== undefined) {
      if (this.once.has(onceKey)) return;
      this.once.add(onceKey);
    }
    if (e.severity === 'dangerous') this.dangerous = true;
    this.events.push({ ...e, offset: e.offset ?? this.at });
  }

  /** Records an import; one record per resolved name per stream, keeping the first offset. */
  global(module: string, name: string, via: string): GlobalV {
    const full = resolvedName(module, name);
    let g = this.globals.get(full);
    if (!g) {
      const verdict = classifyGlobal(module, name, this.opts.policy);
      g = { module, name, full, offset: this.at, via, verdict };
      this.globals.set(full, g);
      if ((verdict.kind === 'deny' || verdict.kind === 'nested') && verdict.severity === 'dangerous') this.dangerous = true;
    }
    this.sawCode = true;
    return { k: K.GLOBAL, g, memo: false };
  }

  /** The text of a string value (decoded on demand); undefined when too long or undecodable. */
  text(v: StrV, cap = STR_DECODE_CAP): string | undefined {
    if (v.s !== undefined) return v.s;
    if (v.len > cap) return undefined;
    const b = this.r.bytesAt(v.off, v.len);
    let s: string | undefined;
    if (v.enc === ENC.UTF8) s = b.toString('utf8');
    else if (v.enc === ENC.LATIN1) s = b.toString('latin1');
    else if (v.enc === ENC.ESCAPED) s = escapeDecode(b)?.toString('latin1');
    else s = decodeRawUnicodeEscape(b);
    if (v.len <= 4096) v.s = s;
    return s;
  }

  stackGlobal(op: number): Val {
    const nameV = this.pop(op);
    const modV = this.pop(op);
    if (modV.k === K.STR && nameV.k === K.STR) {
      const module = this.text(modV, 4096) ?? `${this.r.bytesAt(modV.off, 200).toString('latin1')}…`;
      const name = this.text(nameV, 4096) ?? `${this.r.bytesAt(nameV.off, 200).toString('latin1')}…`;
      const srcs = new Set([modV.enc, nameV.enc].filter((e) => e !== ENC.UTF8).map((e) => ENC_OPS[e]));
      const via = `STACK_GLOBAL${modV.memo || nameV.memo ? ' from memo' : ''}${srcs.size ? ` (operands from ${[...srcs].join(', ')})` : ''}`;
      return this.global(module, name, via);
    }
    const dynamic = (v: Val): boolean => v.k === K.OBJ || v.k === K.PERSID || v.k === K.EXT || v.k === K.GLOBAL;
    if ((modV.k === K.STR || dynamic(modV)) && (nameV.k === K.STR || dynamic(nameV))) {
      this.sawCode = true;
      this.event({ ruleId: 'PICKLE_DYNAMIC_GLOBAL', message: 'STACK_GLOBAL imports a name computed while loading, which cannot be checked before it runs', evidence: `module from ${kindName(modV)}, name from ${kindName(nameV)}` }, 'dynamic');
      return { k: K.OBJ, fn: modV, args: nameV, state: undefined, off: this.at };
    }
    throw this.fail(`STACK_GLOBAL needs two strings, got ${kindName(modV)} and ${kindName(nameV)}`);
  }

  /** A call made by REDUCE / NEWOBJ / NEWOBJ_EX / OBJ / INST: recorded on the callee, never made. */
  call(fn: Val, args: Val | undefined, op: number): Val {
    if (fn.k === K.GLOBAL) {
      const g = fn.g;
      if (g.calledBy === undefined) {
        g.calledBy = fn.memo ? `${opName(op)} after a memo GET` : opName(op);
        g.callOffset = this.at;
      }
      if (NESTED_LOADERS.has(g.full)) this.nestedLoad(g.full, args);
      if ((g.full === '_codecs.encode' || g.full === 'codecs.encode') && args?.k === K.TUPLE) return this.encode(args.items);
    } else if (isNotCallable(fn)) {
      throw this.fail(`${opName(op)} calls a ${kindName(fn)}, which is not callable`);
    } else if (fn.k !== K.EXT && !this.once.has('indirect')) {
      this.event({ ruleId: 'PICKLE_INDIRECT_CALL', message: `${opName(op)} calls the result of an earlier call (${kindName(fn)}): a gadget chain, not something weights need`, evidence: describe(fn) }, 'indirect');
    }
    if (op === 0x52 && !(this.opts.probe && fn.k === K.EXT)) this.sawCode = true;
    return { k: K.OBJ, fn, args, state: undefined, off: this.at };
  }

  /** _codecs.encode(str, 'latin1'): how protocol 2 writes bytes; kept so embedded pickles can be recovered. */
  encode(items: Val[]): Val {
    const [s, enc] = items;
    const encoding = enc?.k === K.STR ? this.text(enc, 64)?.toLowerCase().replace(/[-_]/g, '') : 'utf8';
    const bufEnc = encoding === 'latin1' || encoding === 'iso88591' ? 'latin1' : encoding === 'utf8' ? 'utf8' : undefined;
    const out: BytesV = { k: K.BYTES, off: -1, len: -1 };
    if (s?.k === K.STR && bufEnc) {
      out.data = () => {
        const t = this.text(s, this.opts.maxBytes);
        return t === undefined ? undefined : Buffer.from(t, bufEnc);
      };
    }
    return out;
  }

  nestedLoad(loader: string, args: Val | undefined): void {
    const b = args?.k === K.TUPLE ? args.items[0] : undefined;
    let blob: Blob | undefined;
    if (b?.k === K.BYTES) {
      if (b.data) {
        const d = b.data();
        if (d) blob = new BufferBlob(d);
      } else if (b.off >= 0) blob = new SliceBlob(this.r.blob, b.off, b.len);
    } else if (b?.k === K.STR && b.enc === ENC.LATIN1) blob = new SliceBlob(this.r.blob, b.off, b.len);
    else if (b?.k === K.STR && b.enc === ENC.ESCAPED && b.len <= this.opts.maxBytes) {
      const d = escapeDecode(this.r.bytesAt(b.off, b.len));
      if (d) blob = new BufferBlob(Buffer.from(d));
    }
    this.nested.push({ offset: this.at, loader, blob });
  }

  /** APPEND(S) / SETITEM(S) / ADDITEMS / BUILD on an imported object itself rewrites a module or class. */
  mutated(target: Val, op: number): void {
    if (target.k !== K.GLOBAL) return;
    this.event({
      ruleId: 'PICKLE_GLOBAL_MUTATION',
      message: `${opName(op)} modifies the imported object ${target.g.full} itself (monkey-patching a module or class while loading)`,
      evidence: `${target.g.full} via ${opName(op)}`,
    }, `mut:${target.g.full}`);
  }

  /** BUILD: sets the state of the object on top (calls its class's __setstate__ if it has one). */
  build(op: number): ObjV | undefined {
    const state = this.pop(op);
    const inst = this.top(op);
    if (inst.k === K.GLOBAL) this.mutated(inst, op);
    if (inst.k !== K.OBJ) return undefined;
    inst.state = state;
    if (inst.fn.k === K.GLOBAL) {
      const g = inst.fn.g;
      if (g.calledBy === undefined) {
        g.calledBy = opName(op);
        g.callOffset = this.at;
      }
      if (g.full === JOBLIB_WRAPPER) return inst;
    }
    return undefined;
  }

  result(start: number, end: number, stop: PickleStop | undefined, top: Val | undefined, opcodes: number, halted = false): StreamResult {
    return {
      start, end, stop, halted, top, sawCode: this.sawCode, globals: [...this.globals.values()], events: this.events,
      nested: this.nested, inner: this.inner, dangerous: this.dangerous, opcodes,
    };
  }
}

/** A short description of a value for evidence (a call chain is followed a few levels only). */
export function describe(v: Val): string {
  let calls = 0;
  while (v.k === K.OBJ && calls < 4) {
    v = v.fn;
    calls++;
  }
  const base = v.k === K.GLOBAL ? v.g.full : v.k === K.EXT ? `extension code ${v.code}` : v.k === K.OBJ ? '...' : kindName(v);
  return base + '(...)'.repeat(calls);
}
