/**
 * joblib's NumpyPickler writes each numpy array as a NumpyArrayWrapper object followed, right after
 * the wrapper's BUILD, by the array's raw bytes (not pickle opcodes): an optional padding-length
 * byte and padding (joblib >= 1.2 aligns to 16 bytes), then count x itemsize bytes. Arrays of
 * Python objects are instead followed by a whole protocol 2 pickle. NumpyUnpickler.load_build
 * reads those bytes, so the scanner must skip exactly as many, worked out from the wrapper's
 * symbolic state: shape, dtype, numpy_array_alignment_bytes.
 */
import { K, type DictV, type StrV, type Val } from './values.ts';

export type WrapperLayout =
  /** `padded`: a padding-length byte (and that much padding) comes first. */
  | { kind: 'raw'; nbytes: number; padded: boolean }
  /** An object array: a nested pickle follows. */
  | { kind: 'pickle' }
  | { kind: 'unknown'; why: string };

type Text = (s: StrV) => string | undefined;

function field(d: DictV, key: string, text: Text): Val | undefined {
  for (let i = 0; i + 1 < d.kv.length; i += 2) {
    const k = d.kv[i]!;
    if (k.k === K.STR && text(k) === key) return d.kv[i + 1];
  }
  return undefined;
}

const KIND_SIZE_MULT: Readonly<Record<string, number>> = { b: 1, i: 1, u: 1, f: 1, c: 1, S: 1, a: 1, V: 1, M: 1, m: 1, U: 4, O: 1 };

interface DtypeInfo {
  itemsize: number;
  hasObject: boolean;
}

/** A numpy.dtype(...) value as pickled: REDUCE numpy.dtype(('f8', False, True)) then BUILD (3, '<', ..., fields, ...). */
export function dtypeInfo(v: Val | undefined, text: Text, depth = 0): DtypeInfo | string {
  if (depth > 8) return 'dtype nested too deeply';
  if (v?.k !== K.OBJ || v.fn.k !== K.GLOBAL || v.fn.g.full !== 'numpy.dtype') return 'dtype is not a numpy.dtype(...) call';
  const spec = v.args?.k === K.TUPLE ? v.args.items[0] : undefined;
  const s = spec?.k === K.STR ? text(spec) : undefined;
  const m = s === undefined ? null : /^[<>|=]?([a-zA-Z])(\d+)$/.exec(s);
  if (!m) return `unrecognised dtype string ${s === undefined ? '(not a string)' : JSON.stringify(s)}`;
  const kind = m[1]!;
  const mult = KIND_SIZE_MULT[kind];
  if (mult === undefined) return `unrecognised dtype kind ${kind}`;
  let hasObject = kind === 'O';
  if (kind === 'V') {
    // Structured: fields live in the BUILD state (version, byteorder, subarray, names, fields, ...).
    const st = v.state;
    if (st?.k === K.TUPLE && st.items.length >= 5) {
      const sub = st.items[2];
      if (sub && sub.k !== K.NONE) return 'sub-array dtypes are not supported';
      const fields = st.items[4];
      if (fields?.k === K.DICT) {
        if (fields.n * 2 > fields.kv.length) return 'too many structured fields to check';
        for (let i = 1; i < fields.kv.length; i += 2) {
          const f = fields.kv[i]!;
          const fd = f.k === K.TUPLE ? dtypeInfo(f.items[0], text, depth + 1) : 'malformed field';
          if (typeof fd === 'string') return fd;
          hasObject ||= fd.hasObject;
        }
      } else if (fields && fields.k !== K.NONE) return 'structured dtype fields are not a dict';
    }
  }
  return { itemsize: Number(m[2]) * mult, hasObject };
}

/** How many bytes follow a NumpyArrayWrapper's BUILD, from its state dict. */
export function wrapperLayout(state: Val | undefined, text: Text): WrapperLayout {
  if (state?.k !== K.DICT) return { kind: 'unknown', why: 'wrapper state is not a dict' };
  if (state.n * 2 > state.kv.length) return { kind: 'unknown', why: 'wrapper state has too many entries' };
  const dt = dtypeInfo(field(state, 'dtype', text), text);
  if (typeof dt === 'string') return { kind: 'unknown', why: dt };
  if (dt.hasObject) return { kind: 'pickle' };
  const shape = field(state, 'shape', text);
  if (shape?.k !== K.TUPLE || shape.n !== shape.items.length) return { kind: 'unknown', why: 'shape is not a tuple of integers' };
  let count = 1;
  for (const d of shape.items) {
    const n = d.k === K.INT ? d.v : undefined;
    if (typeof n !== 'number' || n < 0 || !Number.isSafeInteger(n)) return { kind: 'unknown', why: 'shape is not a tuple of integers' };
    count *= n;
  }
  const nbytes = count * dt.itemsize;
  if (!Number.isSafeInteger(nbytes)) return { kind: 'unknown', why: 'array size overflows' };
  const align = field(state, 'numpy_array_alignment_bytes', text);
  if (align !== undefined && align.k !== K.NONE && align.k !== K.INT) return { kind: 'unknown', why: 'numpy_array_alignment_bytes is not an integer' };
  return { kind: 'raw', nbytes, padded: align !== undefined && align.k === K.INT };
}
