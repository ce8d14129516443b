/**
 * NumPy .npy (format versions 1.0, 2.0, 3.0, as numpy/lib/format.py writes and reads them):
 * magic "\x93NUMPY", version, header length (u16 for 1.0, u32 after), then a Python dict literal
 * {'descr': ..., 'fortran_order': ..., 'shape': (...)}. Object dtypes store a pickle as data,
 * which goes to the pickle scanner; numeric data is only measured, never read.
 */
import { SliceBlob } from '../blob.ts';
import type { Blob, FormatScanner, ScanContext } from '../types.ts';
import { parsePyLiteral, PyDict, PyLiteralError, PyTuple, type PyVal } from './pyliteral.ts';
import { printable } from './cursor.ts';

/** numpy refuses longer headers unless allow_pickle=True (format._MAX_HEADER_SIZE). */
export const NUMPY_MAX_HEADER = 10_000;
const READ_CAP = 1 << 20;
const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);

export interface Dtype {
  itemsize: bigint;
  hasObject: boolean;
}

class DescrError extends Error {}

/** Size and object-ness of a numpy descr (a dtype string, a structured field list, or a subarray tuple). */
export function parseDescr(d: PyVal, depth = 0): Dtype {
  if (depth > 16) throw new DescrError('descr nested too deeply');
  if (typeof d === 'string') return simpleDescr(d);
  if (d instanceof PyTuple) {
    const [base, shape] = d.items;
    if (d.items.length !== 2 || base === undefined || shape === undefined) throw new DescrError('subarray descr must be (descr, shape)');
    const inner = parseDescr(base, depth + 1);
    return { itemsize: inner.itemsize * product(shapeOf(shape)), hasObject: inner.hasObject };
  }
  if (Array.isArray(d)) {
    let itemsize = 0n;
    let hasObject = false;
    for (const field of d) {
      const parts = field instanceof PyTuple ? field.items : undefined;
      if (!parts || parts.length < 2 || parts.length > 3) throw new DescrError('structured field must be (name, descr[, shape])');
      const name = parts[0];
      if (typeof name !== 'string' && !(name instanceof PyTuple)) throw new DescrError('field name must be a string or (title, name)');
      const t = parseDescr(parts.length === 3 ? new PyTuple([parts[1]!, parts[2]!]) : parts[1]!, depth + 1);
      itemsize += t.itemsize;
      hasObject ||= t.hasObject;
    }
    return { itemsize, hasObject };
  }
  throw new DescrError('descr is not a string, list or tuple');
}

const FIXED: Record<string, number[]> = { b: [1], '?': [1], i: [1, 2, 4, 8], u: [1, 2, 4, 8], f: [2, 4, 8, 10, 12, 16], c: [8, 16, 20, 24, 32], M: [8], m: [8] };

function simpleDescr(s: string): Dtype {
  if (/^(O|object_?|object0)$/.test(s.replace(/^[<>|=]/, ''))) return { itemsize: 8n, hasObject: true };
  const m = /^([<>|=]?)([biufcSaUVOMm?])(\d*)(\[[A-Za-z0-9]+\])?$/.exec(s);
  if (!m) throw new DescrError(`unrecognised dtype ${JSON.stringify(s)}`);
  const [, , kind, digits, unit] = m as unknown as [string, string, string, string, string | undefined];
  const n = digits === '' ? undefined : BigInt(digits);
  if (unit && kind !== 'M' && kind !== 'm') throw new DescrError(`unit on non-datetime dtype ${s}`);
  if (kind === 'O') {
    if (n !== undefined && n !== 4n && n !== 8n) throw new DescrError(`object dtype of size ${n}`);
    return { itemsize: n ?? 8n, hasObject: true };
  }
  if (kind === 'S' || kind === 'a' || kind === 'V') return { itemsize: n ?? 0n, hasObject: false };
  if (kind === 'U') return { itemsize: 4n * (n ?? 0n), hasObject: false };
  const sizes = FIXED[kind]!;
  const size = n ?? BigInt(sizes[0]!);
  if (!sizes.includes(Number(size))) throw new DescrError(`no ${kind} dtype of ${size} bytes`);
  return { itemsize: size, hasObject: false };
}

function shapeOf(v: PyVal): bigint[] {
  if (typeof v === 'bigint') return [v]; // numpy accepts an int where a 1-tuple is meant in subarrays
  if (!(v instanceof PyTuple) || !v.items.every((x) => typeof x === 'bigint')) throw new DescrError('shape must be a tuple of ints');
  const dims = v.items as bigint[];
  if (dims.some((x) => x < 0n)) throw new DescrError('negative dimension in shape');
  return dims;
}
const product = (dims: bigint[]): bigint => dims.reduce((a, b) => a * b, 1n);

export interface NpyHeader {
  version: string;
  dataOffset: number;
  headerLength: number;
  shape: bigint[];
  fortranOrder: boolean;
  descr: PyVal;
  dtype?: Dtype;
  descrError?: string;
}

/** Parses the header; throws Error with a message for the finding. */
export function readNpyHeader(blob: Blob): NpyHeader {
  const pre = blob.read(0, 12);
  if (pre.length < 10 || !pre.subarray(0, 6).equals(MAGIC)) throw new Error('no .npy magic');
  const major = pre[6]!;
  const minor = pre[7]!;
  if (minor !== 0 || major < 1 || major > 3) throw new Error(`unsupported .npy version ${major}.${minor}`);
  if (major > 1 && pre.length < 12) throw new Error('truncated header length');
  const hlen = major === 1 ? pre.readUInt16LE(8) : pre.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  if (start + hlen > blob.size) throw new Error(`header of ${hlen} bytes runs past the end of the file`);
  if (hlen > READ_CAP) throw new Error(`header of ${hlen} bytes is larger than any array needs`);
  const raw = blob.read(start, hlen);
  const text = major === 3 ? new TextDecoder('utf-8', { fatal: true }).decode(raw) : raw.toString('latin1');
  let lit: PyVal;
  try {
    lit = parsePyLiteral(text);
  } catch (e) {
    throw new Error(`header is not a Python literal: ${(e as PyLiteralError).message}`);
  }
  if (!(lit instanceof PyDict)) throw new Error('header is not a dict');
  const keys = lit.entries.map(([k]) => k);
  const want = ['descr', 'fortran_order', 'shape'];
  if (keys.length !== 3 || !want.every((k) => keys.includes(k))) throw new Error(`header keys must be exactly descr, fortran_order, shape; got ${printable(JSON.stringify(keys.map(String)))}`);
  const fortran = lit.get('fortran_order');
  if (typeof fortran !== 'boolean') throw new Error('fortran_order is not a bool');
  const shape = lit.get('shape')!;
  if (!(shape instanceof PyTuple) || !shape.items.every((x) => typeof x === 'bigint')) throw new Error('shape is not a tuple of ints');
  const dims = shape.items as bigint[];
  if (dims.some((x) => x < 0n)) throw new Error('shape has a negative dimension');
  const h: NpyHeader = { version: `${major}.${minor}`, dataOffset: start + hlen, headerLength: hlen, shape: dims, fortranOrder: fortran, descr: lit.get('descr')! };
  try {
    h.dtype = parseDescr(h.descr);
  } catch (e) {
    if (!(e instanceof DescrError)) throw e;
    h.descrError = e.message;
  }
  return h;
}

export const numpyScanner: FormatScanner = {
  async scan(blob: Blob, ctx: ScanContext): Promise<void> {
    const rest = (from: number): SliceBlob => new SliceBlob(blob, from, blob.size - from);
    let h: NpyHeader;
    try {
      h = readNpyHeader(blob);
    } catch (e) {
      ctx.report({ ruleId: 'NUMPY_MALFORMED', message: `${ctx.name}: ${(e as Error).message}` });
      // numpy.load(allow_pickle=True) unpickles a file without the magic: let the pickle scanner look.
      if (!blob.read(0, 6).equals(MAGIC)) await ctx.scanMember(`${ctx.name}:pickle`, blob, 'pickle-probe');
      return;
    }
    if (h.headerLength > NUMPY_MAX_HEADER) {
      ctx.report({ ruleId: 'NUMPY_MALFORMED', message: `${ctx.name}: header of ${h.headerLength} bytes; numpy refuses headers over ${NUMPY_MAX_HEADER} unless allow_pickle=True` });
    }
    const evidence = `descr=${printable(String(JSON.stringify(h.descr, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v instanceof PyTuple ? v.items : v))))} shape=(${h.shape.join(', ')})`;
    if (!h.dtype) {
      ctx.report({ ruleId: 'NUMPY_MALFORMED', message: `${ctx.name}: ${h.descrError}`, evidence });
      await ctx.scanMember(`${ctx.name}:pickle`, rest(h.dataOffset), 'pickle-probe');
      return;
    }
    if (h.dtype.hasObject) {
      ctx.report({ ruleId: 'NUMPY_OBJECT_ARRAY', message: `${ctx.name}: object array; numpy.load needs allow_pickle=True and unpickles the data`, evidence, offset: h.dataOffset });
      await ctx.scanMember(`${ctx.name}:pickle`, rest(h.dataOffset), 'pickle');
      return;
    }
    const expected = product(h.shape) * h.dtype.itemsize;
    const have = BigInt(blob.size - h.dataOffset);
    if (have < expected) {
      ctx.report({ ruleId: 'NUMPY_MALFORMED', message: `${ctx.name}: data is ${have} bytes, shape and dtype need ${expected} (truncated)`, evidence, offset: h.dataOffset });
    } else if (have > expected) {
      ctx.report({ ruleId: 'NUMPY_TRAILING_DATA', message: `${ctx.name}: ${have - expected} bytes after the array data`, evidence, offset: Number(BigInt(h.dataOffset) + expected) });
    }
  },
};
