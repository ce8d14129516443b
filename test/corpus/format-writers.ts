/**
 * Writers for the model-format test corpus: every test file is generated here, from the format
 * specifications, with no bytes taken from elsewhere. Each writer produces the valid file by
 * default; options let tests break one rule at a time.
 */
import { BENIGN_TEMPLATES } from './templates.ts';

// ---------------------------------------------------------------- safetensors

const ST_BITS: Record<string, number> = { BOOL: 8, U8: 8, I8: 8, F8_E4M3: 8, F8_E5M2: 8, I16: 16, U16: 16, F16: 16, BF16: 16, I32: 32, U32: 32, F32: 32, F64: 64, I64: 64, U64: 64, F4: 4, C64: 64 };
export interface StTensor {
  name: string;
  dtype: string;
  shape: number[];
}
export interface StOptions {
  metadata?: Record<string, string>;
  /** Replace the header JSON text entirely. */
  headerJson?: string;
  /** Edit the header object before it is serialised. */
  edit?: (h: Record<string, unknown>) => void;
  /** Bytes appended after the data (or negative: bytes cut from the end). */
  tail?: number;
  /** Only build the header; report the size the data would have. */
  headerOnly?: boolean;
}

export function safetensorsHeader(tensors: StTensor[], opts: StOptions = {}): { header: Buffer; dataBytes: number } {
  const h: Record<string, unknown> = {};
  if (opts.metadata) h.__metadata__ = opts.metadata;
  let off = 0;
  for (const t of tensors) {
    const n = (t.shape.reduce((a, b) => a * b, 1) * ST_BITS[t.dtype]!) / 8;
    h[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [off, off + n] };
    off += n;
  }
  opts.edit?.(h);
  let json = opts.headerJson ?? JSON.stringify(h);
  while (Buffer.byteLength(json) % 8 !== 0) json += ' '; // writers pad the header to 8 bytes with spaces
  const text = Buffer.from(json, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(text.length));
  return { header: Buffer.concat([len, text]), dataBytes: off };
}

export function safetensors(tensors: StTensor[], opts: StOptions = {}): Buffer {
  const { header, dataBytes } = safetensorsHeader(tensors, opts);
  const data = Buffer.alloc(Math.max(0, dataBytes + Math.min(0, opts.tail ?? 0)), 0x3c);
  const extra = Buffer.alloc(Math.max(0, opts.tail ?? 0), 0x41);
  return Buffer.concat([header, data, extra]);
}

export const SMALL_TENSORS: StTensor[] = [
  { name: 'model.embed_tokens.weight', dtype: 'BF16', shape: [16, 8] },
  { name: 'model.layers.0.self_attn.q_proj.weight', dtype: 'F16', shape: [8, 8] },
  { name: 'model.layers.0.input_layernorm.weight', dtype: 'F32', shape: [8] },
  { name: 'lm_head.bias', dtype: 'I64', shape: [] },
];

// ---------------------------------------------------------------- GGUF

export type GgufScalar = 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'f32' | 'bool' | 'str' | 'u64' | 'i64' | 'f64';
const GT: Record<GgufScalar | 'arr', number> = { u8: 0, i8: 1, u16: 2, i16: 3, u32: 4, i32: 5, f32: 6, bool: 7, str: 8, arr: 9, u64: 10, i64: 11, f64: 12 };
export type GgufValue = { t: GgufScalar; v: string | number | bigint | boolean } | { t: 'arr'; of: GgufScalar | 'arr'; items: GgufValue[] } | { t: 'raw'; type: number; bytes: Buffer };
export interface GgufTensor {
  name: string;
  dims: (number | bigint)[];
  type: number;
  /** Override the computed (sequential, aligned) offset. */
  offset?: bigint;
}
export interface GgufOptions {
  version?: number;
  alignment?: number;
  nTensors?: bigint;
  nKv?: bigint;
  bigEndian?: boolean;
  /** Bytes to cut from the end of the file. */
  cut?: number;
  /** Build only the header; `size` says how long the whole file would be. */
  headerOnly?: boolean;
}
/** [elements per block, bytes per block] for the ggml types the tests use (ggml.c type_traits). */
const GGML: Record<number, [number, number]> = { 0: [1, 4], 1: [1, 2], 2: [32, 18], 8: [32, 34], 12: [256, 144], 30: [1, 2] };

export function gguf(kv: [string, GgufValue][], tensors: GgufTensor[] = [], opts: GgufOptions = {}): { bytes: Buffer; size: number; header: Buffer } {
  const le = !opts.bigEndian;
  const parts: Buffer[] = [];
  const u32 = (n: number): void => {
    const b = Buffer.alloc(4);
    le ? b.writeUInt32LE(n >>> 0) : b.writeUInt32BE(n >>> 0);
    parts.push(b);
  };
  const i32 = (n: number): void => {
    const b = Buffer.alloc(4);
    le ? b.writeInt32LE(n) : b.writeInt32BE(n);
    parts.push(b);
  };
  const u64 = (n: number | bigint): void => {
    const b = Buffer.alloc(8);
    le ? b.writeBigUInt64LE(BigInt(n)) : b.writeBigUInt64BE(BigInt(n));
    parts.push(b);
  };
  const str = (s: string): void => {
    const b = Buffer.from(s, 'utf8');
    u64(b.length);
    parts.push(b);
  };
  const scalar = (t: GgufScalar, v: GgufValue & { t: GgufScalar }): void => {
    const x = v.v;
    const b = Buffer.alloc(t === 'u8' || t === 'i8' || t === 'bool' ? 1 : t === 'u16' || t === 'i16' ? 2 : t === 'u64' || t === 'i64' || t === 'f64' ? 8 : 4);
    if (t === 'str') return str(String(x));
    if (t === 'bool') b[0] = x ? 1 : 0;
    else if (t === 'u8') b.writeUInt8(Number(x));
    else if (t === 'i8') b.writeInt8(Number(x));
    else if (t === 'u16') le ? b.writeUInt16LE(Number(x)) : b.writeUInt16BE(Number(x));
    else if (t === 'i16') le ? b.writeInt16LE(Number(x)) : b.writeInt16BE(Number(x));
    else if (t === 'u32') le ? b.writeUInt32LE(Number(x)) : b.writeUInt32BE(Number(x));
    else if (t === 'i32') le ? b.writeInt32LE(Number(x)) : b.writeInt32BE(Number(x));
    else if (t === 'f32') le ? b.writeFloatLE(Number(x)) : b.writeFloatBE(Number(x));
    else if (t === 'u64') le ? b.writeBigUInt64LE(BigInt(x as number)) : b.writeBigUInt64BE(BigInt(x as number));
    else if (t === 'i64') le ? b.writeBigInt64LE(BigInt(x as number)) : b.writeBigInt64BE(BigInt(x as number));
    else le ? b.writeDoubleLE(Number(x)) : b.writeDoubleBE(Number(x));
    parts.push(b);
  };
  const payload = (v: GgufValue): void => {
    if (v.t === 'raw') parts.push(v.bytes);
    else if (v.t === 'arr') {
      i32(GT[v.of]);
      u64(v.items.length);
      for (const it of v.items) payload(it);
    } else scalar(v.t, v);
  };
  parts.push(Buffer.from('GGUF', 'latin1'));
  u32(opts.version ?? 3);
  u64(opts.nTensors ?? BigInt(tensors.length));
  u64(opts.nKv ?? BigInt(kv.length));
  for (const [k, v] of kv) {
    str(k);
    i32(v.t === 'raw' ? v.type : GT[v.t]);
    payload(v);
  }
  const align = BigInt(opts.alignment ?? 32);
  const pad = (x: bigint): bigint => ((x + align - 1n) / align) * align;
  let off = 0n;
  for (const t of tensors) {
    str(t.name);
    u32(t.dims.length);
    for (const d of t.dims) u64(BigInt(d));
    i32(t.type);
    const [blk, size] = GGML[t.type] ?? [1, 1];
    const bytes = (t.dims.reduce<bigint>((a, b) => a * BigInt(b), 1n) / BigInt(blk)) * BigInt(size);
    u64(t.offset ?? off);
    off += pad(bytes);
  }
  let header = Buffer.concat(parts);
  const dataStart = tensors.length ? Number(pad(BigInt(header.length))) : header.length;
  header = Buffer.concat([header, Buffer.alloc(dataStart - header.length)]);
  const size = dataStart + Number(off) - (opts.cut ?? 0);
  // Data is zeros; absurd sizes (a broken dimension) get no data at all.
  const data = opts.headerOnly || off > 1n << 26n ? Buffer.alloc(0) : Buffer.alloc(Math.max(0, Number(off) - (opts.cut ?? 0)));
  const bytes = Buffer.concat([header, data]).subarray(0, Math.max(0, size));
  return { bytes, size, header };
}

const s = (v: string): GgufValue => ({ t: 'str', v });
const u32 = (v: number): GgufValue => ({ t: 'u32', v });

/** A realistic llama-style GGUF header with a vocabulary of `vocab` tokens and the given chat template. */
export function ggufModelKv(template = BENIGN_TEMPLATES.CHATML_TOOLS!, vocab = 64): [string, GgufValue][] {
  const tokens = Array.from({ length: vocab }, (_, i) => (i < 3 ? ['<unk>', '<s>', '</s>'][i]! : `tok${i}`));
  return [
    ['general.architecture', s('llama')],
    ['general.name', s('perimeter-test-model')],
    ['general.file_type', u32(1)],
    ['general.quantization_version', u32(2)],
    ['llama.context_length', u32(4096)],
    ['llama.embedding_length', u32(64)],
    ['llama.block_count', u32(1)],
    ['llama.attention.head_count', u32(4)],
    ['llama.rope.freq_base', { t: 'f32', v: 10000 }],
    ['tokenizer.ggml.model', s('gpt2')],
    ['tokenizer.ggml.tokens', { t: 'arr', of: 'str', items: tokens.map(s) }],
    ['tokenizer.ggml.token_type', { t: 'arr', of: 'i32', items: tokens.map((_, i) => ({ t: 'i32', v: i < 3 ? 3 : 1 })) }],
    ['tokenizer.ggml.merges', { t: 'arr', of: 'str', items: [s('t o'), s('to k')] }],
    ['tokenizer.ggml.bos_token_id', u32(1)],
    ['tokenizer.ggml.eos_token_id', u32(2)],
    ['tokenizer.ggml.add_bos_token', { t: 'bool', v: true }],
    ['tokenizer.chat_template', s(template)],
  ];
}

export const GGUF_TENSORS: GgufTensor[] = [
  { name: 'token_embd.weight', dims: [64, 64], type: 1 },
  { name: 'blk.0.attn_q.weight', dims: [64, 64], type: 8 },
  { name: 'blk.0.attn_norm.weight', dims: [64], type: 0 },
  { name: 'output.weight', dims: [256, 4], type: 12 },
];

// ---------------------------------------------------------------- NumPy

export interface NpyOptions {
  version?: 1 | 2 | 3;
  /** Header dict text (a Python literal); defaults to numpy's own formatting. */
  header?: string;
  data?: Buffer;
}
export function npy(descr: string, shape: number[], opts: NpyOptions = {}): Buffer {
  const version = opts.version ?? 1;
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let h = opts.header ?? `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const pre = version === 1 ? 10 : 12;
  h += ' '.repeat((64 - ((pre + Buffer.byteLength(h) + 1) % 64)) % 64) + '\n';
  const hb = Buffer.from(h, version === 3 ? 'utf8' : 'latin1');
  const len = Buffer.alloc(version === 1 ? 2 : 4);
  version === 1 ? len.writeUInt16LE(hb.length) : len.writeUInt32LE(hb.length);
  return Buffer.concat([Buffer.from([0x93]), Buffer.from('NUMPY', 'latin1'), Buffer.from([version, 0]), len, hb, opts.data ?? Buffer.alloc(0)]);
}

// ---------------------------------------------------------------- Keras and HDF5

const dense = (name: string, units: number): unknown => ({ module: 'keras.layers', class_name: 'Dense', config: { name, units, activation: 'relu', use_bias: true }, registered_name: null });

/** A Keras 3 .keras config.json; `extraLayers` are inserted into the functional model. */
export function kerasConfig(extraLayers: unknown[] = []): string {
  return JSON.stringify({
    module: 'keras',
    class_name: 'Sequential',
    config: { name: 'sequential', layers: [{ module: 'keras.layers', class_name: 'InputLayer', config: { batch_shape: [null, 8], name: 'input' }, registered_name: null }, dense('dense', 16), ...extraLayers, dense('out', 1)] },
    registered_name: null,
    build_config: { input_shape: [null, 8] },
    compile_config: { optimizer: { module: 'keras.optimizers', class_name: 'Adam', config: { learning_rate: 0.001 }, registered_name: null }, loss: 'mse' },
  });
}

/** A Keras 3 Lambda layer as keras serialises it: base64 of marshalled bytecode (here: filler). */
export const KERAS3_LAMBDA = {
  module: 'keras.layers',
  class_name: 'Lambda',
  config: { name: 'lambda', function: { class_name: '__lambda__', config: { value: ['4wEAAAAAAAAAAAAAAAEAAAACAAAAQwAAAHMIAAAAdABkAYMBUwCpAU4p', null, null] } } },
  registered_name: null,
};

/** A Keras 2 model_config (as stored in .h5), optionally with a Lambda layer. */
export function keras2Config(lambda: boolean): string {
  const layers: unknown[] = [{ class_name: 'Dense', config: { name: 'dense', units: 4, activation: 'linear' } }];
  if (lambda) layers.push({ class_name: 'Lambda', config: { name: 'lambda', function: ['4wEAAAAAAAAAAAAAAAEAAAAEAAAAQwAAAHMOAAAAZAF9AA==', null, null], function_type: 'lambda', output_shape: null } });
  return JSON.stringify({ class_name: 'Sequential', config: { name: 'sequential', layers }, keras_version: '2.15.0', backend: 'tensorflow' });
}

/**
 * NOT a full HDF5 file: the 8-byte HDF5 signature, some superblock-sized filler and the model_config
 * attribute text where h5py would place it, enough to exercise the heuristic config search.
 */
export function hdf5Like(modelConfig: string | undefined, size = 4096): Buffer {
  const sig = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);
  const parts = [sig, Buffer.alloc(504, 0)];
  if (modelConfig !== undefined) parts.push(Buffer.from('model_config\0', 'latin1'), Buffer.from(modelConfig, 'utf8'), Buffer.alloc(1));
  const body = Buffer.concat(parts);
  return Buffer.concat([body, Buffer.alloc(Math.max(0, size - body.length), 0)]);
}
