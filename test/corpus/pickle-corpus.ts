/**
 * Model files built with the pickle writer, laid out as torch.save, numpy and joblib write them:
 * the benign side of the test corpus. Attack tricks live in pickle-attacks.ts.
 */
import { Float, PickleWriter, Tuple, call, float, glob, tuple } from './pickle-writer.ts';

export interface TensorSpec {
  key: string;
  shape: number[];
  /** torch storage class, e.g. FloatStorage. */
  storage?: string;
}

const strides = (shape: number[]): number[] => shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));

/**
 * The data.pkl of torch.save(model.state_dict()) (zip format): an OrderedDict of
 * _rebuild_tensor_v2(BINPERSID ('storage', torch.FloatStorage, key, 'cpu', numel), offset, size,
 * stride, requires_grad, OrderedDict()) entries, then BUILD with {'_metadata': OrderedDict(...)}.
 */
export function torchStateDict(tensors: TensorSpec[], protocol = 2, legacyIds = false): Buffer {
  const w = new PickleWriter(protocol).proto();
  w.global('collections', 'OrderedDict').emptyTuple().reduce();
  w.memoize();
  w.mark();
  tensors.forEach((t, i) => {
    const numel = t.shape.reduce((a, b) => a * b, 1);
    w.dumpStr(t.key);
    w.global('torch._utils', '_rebuild_tensor_v2');
    w.mark();
    // persistent id tuple, then BINPERSID
    w.mark().dumpStr('storage').global('torch', t.storage ?? 'FloatStorage').dumpStr(legacyIds ? `9400${i}` : String(i)).dumpStr('cpu').int(numel);
    if (legacyIds) w.none();
    w.tuple();
    w.memoize();
    w.binpersid(); // persistent_load results are not memoised
    w.int(0);
    w.dump(new Tuple(t.shape));
    w.dump(new Tuple(strides(t.shape)));
    w.bool(false);
    w.global('collections', 'OrderedDict').emptyTuple().reduce();
    w.memoize();
    w.tuple();
    w.memoize();
    w.reduce();
    w.memoize();
  });
  w.setitems();
  // state: {'_metadata': OrderedDict([('', {'version': 1})])}
  w.emptyDict();
  w.memoize();
  w.dumpStr('_metadata');
  w.global('collections', 'OrderedDict').emptyTuple().reduce();
  w.memoize();
  w.dumpStr('').dump({ version: 1 }).setitem();
  w.setitem();
  w.build();
  return w.stop().bytes();
}

export const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;

/**
 * A legacy (pre-1.6) torch.save file: pickles of the magic number, the protocol version, sys_info,
 * the object, the storage keys; then for each storage an 8-byte element count and raw data.
 */
export function legacyTorchFile(tensors: TensorSpec[], rawFill = 0x80): Buffer {
  const p = (v: unknown): Buffer => new PickleWriter(2).proto().dump(v).stop().bytes();
  const obj = torchStateDict(tensors, 2, true);
  const keys = p(tensors.map((_, i) => `9400${i}`));
  const raw = tensors.map((t) => {
    const numel = t.shape.reduce((a, b) => a * b, 1);
    const head = Buffer.alloc(8);
    head.writeBigUInt64LE(BigInt(numel));
    // Raw float data; the fill makes it look like pickle opcodes (0x80 = PROTO) to a careless parser.
    return Buffer.concat([head, Buffer.alloc(numel * 4, rawFill)]);
  });
  const sysInfo = { protocol_version: 1001, little_endian: true, type_sizes: { short: 2, int: 4, long: 4 } };
  return Buffer.concat([p(LEGACY_MAGIC), p(1001), p(sysInfo), obj, keys, ...raw]);
}

/** numpy.dtype((spec, False, True)) then BUILD (3, byteorder, None, names, fields, elsize, alignment, flags), as numpy pickles a dtype. */
function writeDtype(w: PickleWriter, spec: string, byteorder = '<', fields?: [string, string][]): void {
  w.global('numpy', 'dtype');
  w.dump(tuple(spec, false, true));
  w.reduce();
  w.memoize();
  const names = fields ? tuple(...fields.map(([n]) => n)) : null;
  w.mark().int(3).dumpStr(byteorder).none().dump(names);
  if (fields) {
    // fields: {name: (dtype, offset)}
    w.emptyDict().memoize();
    let off = 0;
    for (const [name, f] of fields) {
      w.dumpStr(name);
      writeDtype(w, f, f === 'O8' ? '|' : '<');
      w.int(off).tupleN(2).memoize().setitem();
      off += Number(f.slice(1));
    }
  } else w.none();
  w.int(fields ? fields.reduce((n, [, f]) => n + Number(f.slice(1)), 0) : -1).int(fields ? 1 : -1).int(fields ? 16 : 0).tuple();
  w.build();
}

/** pickle.dumps(np.zeros(shape, dtype)) as numpy 1.x / 2.x writes it: _reconstruct then BUILD (1, shape, dtype, is_fortran, data). */
export function numpyArrayPickle(shape: number[], spec = 'f8', protocol = 2, numpy2 = false, data?: Buffer): Buffer {
  const count = shape.reduce((a, b) => a * b, 1);
  const w = new PickleWriter(protocol).proto();
  w.global(numpy2 ? 'numpy._core.multiarray' : 'numpy.core.multiarray', '_reconstruct');
  w.dump(tuple(glob('numpy', 'ndarray'), tuple(0), Buffer.from('b')));
  w.reduce().memoize();
  w.mark().int(1).dump(new Tuple(shape));
  writeDtype(w, spec);
  w.bool(false).bin(data ?? Buffer.alloc(count * Number(spec.slice(1)), 0x2e)).tuple().build();
  return w.stop().bytes();
}

export interface JoblibArray {
  shape: number[];
  spec?: string;
  /** joblib >= 1.2 writes an alignment padding byte (default true). */
  aligned?: boolean;
  /** Raw data (default: bytes that look like pickle opcodes). */
  data?: Buffer;
  /** Structured dtype fields, e.g. [['a', 'f8'], ['o', 'O8']]. */
  fields?: [string, string][];
  /** For object arrays: the value the inline protocol 2 pickle holds. */
  objects?: unknown;
}

/** joblib.dump of a list of arrays (and an optional extra value after them), protocol 4 by default. */
export function joblibFile(arrays: JoblibArray[], protocol = 4, after: unknown = 'done'): Buffer {
  const w = new PickleWriter(protocol).proto();
  w.emptyList().memoize();
  w.mark();
  for (const a of arrays) {
    const spec = a.spec ?? 'f8';
    // NumpyArrayWrapper via object.__reduce_ex__: NEWOBJ(cls, ()) then BUILD(state dict)
    w.global('joblib.numpy_pickle', 'NumpyArrayWrapper').emptyTuple().newobj().memoize();
    w.emptyDict().memoize().mark();
    w.dumpStr('subclass').global('numpy', 'ndarray');
    w.dumpStr('shape').dump(new Tuple(a.shape));
    w.dumpStr('order').dumpStr('C');
    w.dumpStr('dtype');
    writeDtype(w, spec, spec.startsWith('O') || spec.startsWith('V') ? '|' : '<', a.fields);
    w.dumpStr('allow_mmap').bool(!a.objects);
    if (a.aligned !== false) w.dumpStr('numpy_array_alignment_bytes').int(16);
    w.setitems().build();
    if (a.objects !== undefined) {
      w.unframed(new PickleWriter(2).proto().dump(a.objects).stop().bytes());
      continue;
    }
    const nbytes = a.shape.reduce((x, y) => x * y, 1) * (a.fields ? a.fields.reduce((n, [, f]) => n + Number(f.slice(1)), 0) : Number(spec.slice(1)) * (spec[0] === 'U' ? 4 : 1));
    const data = a.data ?? Buffer.alloc(nbytes, "cos\nsystem\n(S'echo hi'\ntR.");
    w.commitFrame();
    if (a.aligned !== false) {
      const pos = w.length + 1;
      const pad = 16 - (pos % 16);
      w.unframed(Buffer.concat([Buffer.from([pad]), Buffer.alloc(pad, 0xff)]));
    }
    w.unframed(data);
  }
  w.appends();
  if (after !== undefined) w.dump(after).append();
  return w.stop().bytes();
}

/** A scikit-learn-like estimator pickle: unknown class, NEWOBJ + BUILD of its state. */
export function sklearnLike(protocol = 4): Buffer {
  const w = new PickleWriter(protocol).proto();
  w.global('sklearn.linear_model._base', 'LinearRegression').emptyTuple().newobj().memoize();
  w.dump({ fit_intercept: true, n_features_in_: 3, coef_: float(0.5), _sklearn_version: '1.5.0' }).build();
  return w.stop().bytes();
}

export { Float, call, float, glob, tuple };
