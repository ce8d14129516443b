/**
 * Symbolic values on the executor's stack. Nothing here is a Python object: strings and bytes are
 * references into the blob (decoded only when a rule needs them), containers keep their first
 * ITEM_CAP items and a count, and a call is recorded, never made.
 */

/** Value kinds (numbers keep the hot loop monomorphic). */
export const K = {
  NONE: 0,
  BOOL: 1,
  INT: 2,
  FLOAT: 3,
  STR: 4,
  BYTES: 5,
  LIST: 6,
  TUPLE: 7,
  DICT: 8,
  SET: 9,
  FROZENSET: 10,
  GLOBAL: 11,
  OBJ: 12,
  PERSID: 13,
  EXT: 14,
  BUFFER: 15,
  /** A joblib array restored from the raw data after its wrapper. */
  ARRAY: 16,
} as const;

/** How a string's bytes map to text. */
export const ENC = { UTF8: 0, LATIN1: 1, ESCAPED: 2, RAW_UNICODE: 3 } as const;
export type Enc = (typeof ENC)[keyof typeof ENC];

/** Items kept per container; the rest are counted, not stored (memory stays bounded by opcodes anyway). */
export const ITEM_CAP = 64;
/** Strings longer than this are not decoded (a module or dict key never is). */
export const STR_DECODE_CAP = 1 << 16;

export interface GlobalRec {
  module: string;
  name: string;
  /** The dotted name Python resolves. */
  full: string;
  /** Offset of the opcode that first imported it. */
  offset: number;
  /** How it was reached: "GLOBAL", "STACK_GLOBAL from memo", "INST", "EXT1 code 7". */
  via: string;
  /** The first opcode that called it (REDUCE, NEWOBJ, NEWOBJ_EX, INST, OBJ, BUILD), if any. */
  calledBy?: string;
  callOffset?: number;
}

export interface ScalarV {
  k: typeof K.NONE | typeof K.BOOL | typeof K.FLOAT | typeof K.PERSID | typeof K.BUFFER | typeof K.ARRAY;
}
export interface IntV {
  k: typeof K.INT;
  /** undefined for LONG4 values that were skipped, not decoded. */
  v: number | bigint | undefined;
}
export interface StrV {
  k: typeof K.STR;
  /** Absolute offset and length of the encoded text in the blob. */
  off: number;
  len: number;
  enc: Enc;
  /** The decoded text, once decoded (always for short strings read from lines). */
  s: string | undefined;
  /** Read back from the memo by a GET at least once. */
  memo: boolean;
}
export interface BytesV {
  k: typeof K.BYTES;
  /** Where the literal bytes lie in the blob, when they are there verbatim. */
  off: number;
  len: number;
  /** Bytes that had to be decoded (protocol 0 escapes, _codecs.encode): computed on demand. */
  data?: () => Buffer | undefined;
}
export interface SeqV {
  k: typeof K.LIST | typeof K.TUPLE | typeof K.SET | typeof K.FROZENSET;
  items: Val[];
  n: number;
}
export interface DictV {
  k: typeof K.DICT;
  /** Flattened key, value pairs (first ITEM_CAP pairs). */
  kv: Val[];
  n: number;
}
export interface GlobalV {
  k: typeof K.GLOBAL;
  g: GlobalRec;
  memo: boolean;
}
export interface ExtV {
  k: typeof K.EXT;
  code: number;
}
export interface ObjV {
  k: typeof K.OBJ;
  /** What was called (a global, or another value for an indirect call). */
  fn: Val;
  args: Val | undefined;
  /** The BUILD state applied to it, if any. */
  state: Val | undefined;
  off: number;
}

export type Val = ScalarV | IntV | StrV | BytesV | SeqV | DictV | GlobalV | ExtV | ObjV;

export const NONE_V: ScalarV = Object.freeze({ k: K.NONE });
export const BOOL_V: ScalarV = Object.freeze({ k: K.BOOL });
export const FLOAT_V: ScalarV = Object.freeze({ k: K.FLOAT });
export const BUFFER_V: ScalarV = Object.freeze({ k: K.BUFFER });
export const PERSID_V: ScalarV = Object.freeze({ k: K.PERSID });
export const ARRAY_V: ScalarV = Object.freeze({ k: K.ARRAY });

const SMALL_INTS: IntV[] = Array.from({ length: 256 }, (_, v) => Object.freeze({ k: K.INT, v }));
export const intV = (v: number | bigint | undefined): IntV => (typeof v === 'number' && v >= 0 && v < 256 ? SMALL_INTS[v]! : { k: K.INT, v });

export const seqV = (k: SeqV['k'], items: Val[], n = items.length): SeqV => ({ k, items: items.length > ITEM_CAP ? items.slice(0, ITEM_CAP) : items, n });

/** Appends to a container's kept items, counting the rest. */
export function pushItems(c: SeqV, items: readonly Val[], from = 0): void {
  for (let i = from; i < items.length; i++) {
    if (c.items.length < ITEM_CAP) c.items.push(items[i]!);
    c.n++;
  }
}

export function setItems(d: DictV, kv: Val[], from = 0): void {
  if (d.n === 0 && from === 0 && kv.length <= 2 * ITEM_CAP) {
    d.kv = kv; // adopt the popped slice as is
    d.n = kv.length >> 1;
    return;
  }
  for (let i = from; i + 1 < kv.length; i += 2) {
    if (d.kv.length < 2 * ITEM_CAP) d.kv.push(kv[i]!, kv[i + 1]!);
    d.n++;
  }
}

const KIND_NAMES = ['None', 'bool', 'int', 'float', 'str', 'bytes', 'list', 'tuple', 'dict', 'set', 'frozenset', 'global', 'object', 'persistent id', 'extension', 'buffer', 'array'];
export const kindName = (v: Val): string => KIND_NAMES[v.k] ?? 'value';

/** Values that Python cannot call: calling one raises, so the load stops there. */
export const isNotCallable = (v: Val): boolean => v.k <= K.FROZENSET || v.k === K.BUFFER || v.k === K.ARRAY;
