/**
 * GGUF v2/v3 headers, checked against the rules llama.cpp's gguf.cpp enforces: magic, version,
 * counts, key-value pairs (all value types; arrays of arrays are read but llama.cpp refuses them),
 * string and array bounds, unique keys and tensor names, at most 4 dimensions, known ggml types
 * whose block size divides the row, general.alignment (u32, power of two), offsets that follow
 * each other with alignment padding, and tensor data inside the file. gguf-py (which transformers
 * uses for GGUF) is more lenient, so the parse goes on past violations whenever the layout allows.
 * Only the header is read, up to limits.maxBytes; tensor data is never touched. Chat templates
 * (tokenizer.chat_template and tokenizer.chat_template.<name>) go to the template checker.
 */
import type { Blob, FormatScanner, ScanContext } from '../types.ts';
import { BlobCursor, FormatError, LimitError, printable } from './cursor.ts';
import {
  GGML_MAX_DIMS,
  GGML_MAX_NAME,
  GGML_TYPES,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAX_ARRAY_ELEMENTS,
  GGUF_MAX_STRING_LENGTH,
  GGUF_TYPE_ARRAY,
  GGUF_TYPE_STRING,
  GGUF_TYPE_UINT32,
  GGUF_VALUE_TYPES,
} from './gguf-types.ts';
import { reportTemplate } from './template.ts';

const INT64_MAX = (1n << 63n) - 1n;
const MAX_TEMPLATE_BYTES = 4 * 1024 * 1024;
const MAX_NESTING = 8;

export interface GgufHeader {
  version: number;
  bigEndian: boolean;
  nTensors: bigint;
  nKv: bigint;
  keys: string[];
  templates: [string, string][];
  alignment: number;
  tensors: number;
  dataStart?: number;
  /** Loader-rule violations, in file order. */
  errors: string[];
}

/** Parses a GGUF header. FormatError: the layout cannot be followed further; LimitError: past the byte limit. */
export function readGgufHeader(blob: Blob, limit: number, tick: () => void, h: GgufHeader): void {
  const c = new BlobCursor(blob, limit);
  const magic = c.bytes(4, 'magic').toString('latin1');
  if (magic !== 'GGUF') throw new FormatError(`bad magic ${JSON.stringify(magic)}`, 0);
  let version = c.u32('version');
  if (version !== 0 && (version & 0xffff) === 0) {
    const swapped = ((version >>> 24) | ((version >>> 8) & 0xff00)) >>> 0;
    if (swapped === 2 || swapped === 3) {
      c.littleEndian = false;
      h.bigEndian = true;
      version = swapped;
    }
  }
  h.version = version;
  if (version === 0 || version > 3) throw new FormatError(`unsupported GGUF version ${version}`, 4);
  if (version === 1) return; // v1 used 32-bit counts; llama.cpp dropped it
  const nTensors = c.i64('n_tensors');
  const nKv = c.i64('n_kv');
  h.nTensors = nTensors;
  h.nKv = nKv;
  if (nTensors < 0n || nKv < 0n) throw new FormatError(`negative count (n_tensors ${nTensors}, n_kv ${nKv})`, 8);
  // Smallest encodings: a pair is 14 bytes (length, 1-byte key, type, 1-byte value), a tensor info 24.
  if (nKv * 14n + nTensors * 24n > BigInt(c.remaining)) throw new FormatError(`${nKv} key-value pairs and ${nTensors} tensor infos cannot fit in the ${c.remaining} bytes that follow`, 8);

  const str = (what: string, keep: number): { len: number; text?: string } => {
    const at = c.pos;
    const n = c.u64(`${what} length`);
    if (n > BigInt(GGUF_MAX_STRING_LENGTH)) throw new FormatError(`${what} of ${n} bytes exceeds GGUF_MAX_STRING_LENGTH`, at);
    if (n > BigInt(c.remaining)) throw new FormatError(`${what} of ${n} bytes runs past the end of the file`, at);
    const len = Number(n);
    if (len <= keep) return { len, text: c.bytes(len, what).toString('utf8') };
    if (keep > 0) {
      const text = c.bytes(keep, what).toString('utf8');
      c.skip(len - keep, what);
      return { len, text };
    }
    c.skip(len, what);
    return { len };
  };

  /** Skips (or, for templates, reads) one value of `type`; `depth` counts array nesting. */
  const value = (type: number, what: string, depth: number, keep: number): string | number | undefined => {
    if (type === GGUF_TYPE_STRING) return str(what, keep).text;
    if (type === GGUF_TYPE_ARRAY) {
      const at = c.pos;
      const inner = c.i32(`${what} element type`);
      const n = c.u64(`${what} element count`);
      if (!(inner in GGUF_VALUE_TYPES)) throw new FormatError(`${what}: invalid array element type ${inner}`, at);
      if (n > BigInt(GGUF_MAX_ARRAY_ELEMENTS)) throw new FormatError(`${what}: array of ${n} elements exceeds GGUF_MAX_ARRAY_ELEMENTS`, at);
      if (inner === GGUF_TYPE_ARRAY) {
        if (depth >= MAX_NESTING) throw new FormatError(`${what}: arrays nested deeper than ${MAX_NESTING}`, at);
        h.errors.push(`${what}: array of arrays (llama.cpp refuses it)`);
      }
      const size = GGUF_VALUE_TYPES[inner]!.size;
      if (size > 0) c.skip(Number(n) * size, `${what} array`);
      else for (let i = 0; i < Number(n); i++) {
        if ((i & 0xffff) === 0xffff) tick();
        value(inner, `${what}[${i}]`, depth + 1, 0);
      }
      return undefined;
    }
    const t = GGUF_VALUE_TYPES[type];
    if (!t) throw new FormatError(`${what}: invalid value type ${type}`, c.pos - 4);
    if (type === GGUF_TYPE_UINT32) return c.u32(what);
    c.skip(t.size, what);
    return undefined;
  };

  const seenKeys = new Set<string>();
  let alignment: number | undefined;
  for (let i = 0n; i < nKv; i++) {
    if ((i & 0xfffn) === 0xfffn) tick();
    const k = str(`key ${i}`, 4096);
    const key = k.text ?? '';
    if (key === '') h.errors.push(`key ${i} is empty`);
    if (seenKeys.has(key)) h.errors.push(`duplicate key ${printable(key, 80)}`);
    seenKeys.add(key);
    if (h.keys.length < 10_000) h.keys.push(key);
    const type = c.i32(`type of ${key}`);
    const isTemplate = key === 'tokenizer.chat_template' || key.startsWith('tokenizer.chat_template.');
    const v = value(type, `value of ${printable(key, 80)}`, 0, isTemplate ? MAX_TEMPLATE_BYTES : 0);
    if (isTemplate && typeof v === 'string') h.templates.push([key, v]);
    if (key === 'general.alignment') {
      if (type !== GGUF_TYPE_UINT32 || typeof v !== 'number') h.errors.push(`general.alignment has type ${GGUF_VALUE_TYPES[type]?.name ?? type}, must be u32`);
      else if (v === 0 || (v & (v - 1)) !== 0) h.errors.push(`general.alignment ${v} is not a power of two`);
      else alignment = v;
    }
  }
  h.alignment = alignment ?? GGUF_DEFAULT_ALIGNMENT;

  const names = new Set<string>();
  const infos: { name: string; offset: bigint; bytes: bigint }[] = [];
  for (let i = 0n; i < nTensors; i++) {
    if ((i & 0xfffn) === 0xfffn) tick();
    const nm = str(`tensor ${i} name`, GGML_MAX_NAME * 4);
    const name = nm.text ?? '';
    const where = `tensor ${printable(name, 80)}`;
    if (nm.len >= GGML_MAX_NAME) h.errors.push(`${where}: name of ${nm.len} bytes (llama.cpp allows ${GGML_MAX_NAME - 1})`);
    if (names.has(name)) h.errors.push(`duplicate tensor name ${printable(name, 80)}`);
    names.add(name);
    const nDims = c.u32(`${where} n_dims`);
    if (nDims > GGML_MAX_DIMS) throw new FormatError(`${where}: ${nDims} dimensions, at most ${GGML_MAX_DIMS}`, c.pos - 4);
    const ne = [1n, 1n, 1n, 1n];
    for (let j = 0; j < nDims; j++) ne[j] = c.i64(`${where} dim ${j}`);
    const type = c.i32(`${where} type`);
    const offset = c.u64(`${where} offset`);
    if (ne.some((d) => d < 0n)) {
      h.errors.push(`${where}: negative dimension (${ne.join(', ')})`);
      continue;
    }
    const elements = ne.reduce((a, b) => a * b, 1n);
    if (elements > INT64_MAX) {
      h.errors.push(`${where}: element count overflows int64`);
      continue;
    }
    const t = GGML_TYPES[type];
    if (!t) {
      h.errors.push(`${where}: unknown or removed ggml type ${type}`);
      continue;
    }
    const [tname, block, size] = t;
    if (ne[0]! % BigInt(block) !== 0n) {
      h.errors.push(`${where}: row of ${ne[0]} elements is not a multiple of the ${tname} block size ${block}`);
      continue;
    }
    infos.push({ name, offset, bytes: (elements / BigInt(block)) * BigInt(size) });
  }
  h.tensors = infos.length;
  if (nTensors === 0n) return;
  const align = BigInt(h.alignment);
  const pad = (x: bigint): bigint => ((x + align - 1n) / align) * align;
  const dataStart = pad(BigInt(c.pos));
  if (dataStart > BigInt(blob.size)) throw new FormatError(`data section starts at ${dataStart}, past the end of the file`, c.pos);
  h.dataStart = Number(dataStart);
  let expect = 0n;
  for (const t of infos) {
    const where = `tensor ${printable(t.name, 80)}`;
    if (t.offset % align !== 0n) h.errors.push(`${where}: offset ${t.offset} is not aligned to ${align}`);
    else if (t.offset !== expect) h.errors.push(`${where}: offset ${t.offset}, expected ${expect} (${t.offset < expect ? 'overlap' : 'gap'} or out of order)`);
    if (dataStart + t.offset + t.bytes > BigInt(blob.size)) h.errors.push(`${where}: data [${dataStart + t.offset}, ${dataStart + t.offset + t.bytes}) lies outside the ${blob.size}-byte file`);
    expect = (t.offset > expect ? t.offset : expect) + pad(t.bytes);
  }
}

const MAX_REPORTS = 10;

export const ggufScanner: FormatScanner = {
  async scan(blob: Blob, ctx: ScanContext): Promise<void> {
    const h: GgufHeader = { version: 0, bigEndian: false, nTensors: 0n, nKv: 0n, keys: [], templates: [], alignment: GGUF_DEFAULT_ALIGNMENT, tensors: 0, errors: [] };
    let stop: string | undefined;
    try {
      readGgufHeader(blob, ctx.limits.maxBytes, () => ctx.checkDeadline(), h);
    } catch (e) {
      if (e instanceof LimitError) {
        ctx.report({ ruleId: 'GGUF_HEADER_TOO_LARGE', message: `${ctx.name}: header continues past the ${ctx.limits.maxBytes}-byte scan limit; the rest of the metadata was not checked`, offset: e.offset });
      } else if (e instanceof FormatError) stop = e.message;
      else throw e;
    }
    if (h.version === 1) ctx.report({ ruleId: 'GGUF_UNSUPPORTED', message: `${ctx.name}: GGUF v1 (no longer loaded by llama.cpp; not checked)` });
    else if (stop?.startsWith('unsupported GGUF version')) ctx.report({ ruleId: 'GGUF_UNSUPPORTED', message: `${ctx.name}: ${stop}` });
    else if (stop) h.errors.push(stop);
    h.errors.slice(0, MAX_REPORTS).forEach((m, i) =>
      ctx.report({ ruleId: 'GGUF_MALFORMED', message: `${ctx.name}: ${m}${i === MAX_REPORTS - 1 && h.errors.length > MAX_REPORTS ? ` (and ${h.errors.length - MAX_REPORTS} more problems)` : ''}` }),
    );
    for (const [key, text] of h.templates) reportTemplate(ctx, text, `${ctx.name} ${key}`);
  },
};
