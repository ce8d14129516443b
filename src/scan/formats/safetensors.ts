/**
 * safetensors, validated the way huggingface/safetensors (safetensors/src/tensor.rs) loads it:
 * u64 LE header length n (at most 100,000,000), n bytes of UTF-8 JSON: an object whose
 * "__metadata__" is string → string and whose other entries are {dtype, shape, data_offsets}.
 * Sorted by offsets, tensors must tile the data section from 0 without gaps or overlaps, each
 * exactly product(shape) × bits(dtype) / 8 bytes, and 8 + n + last end must be the file size.
 * Only the header is read; the tensor data is never touched.
 */
import type { Blob, FormatScanner, ScanContext } from '../types.ts';
import { decodeUtf8, printable } from './cursor.ts';
import { JsonError, parseStrictJson, type JObj, type JVal } from './json-strict.ts';
import { looksLikeTemplate, reportTemplate } from './template.ts';

export const SAFETENSORS_MAX_HEADER = 100_000_000;
const USIZE_MAX = (1n << 64n) - 1n;

/** Bits per element, from the Dtype enum in safetensors/src/tensor.rs. */
export const SAFETENSORS_DTYPE_BITS: Readonly<Record<string, bigint>> = {
  BOOL: 8n,
  F4: 4n,
  F6_E2M3: 6n,
  F6_E3M2: 6n,
  U8: 8n,
  I8: 8n,
  F8_E5M2: 8n,
  F8_E4M3: 8n,
  F8_E8M0: 8n,
  F8_E4M3FNUZ: 8n,
  F8_E5M2FNUZ: 8n,
  I16: 16n,
  U16: 16n,
  F16: 16n,
  BF16: 16n,
  I32: 32n,
  U32: 32n,
  F32: 32n,
  C64: 64n,
  F64: 64n,
  I64: 64n,
  U64: 64n,
};

interface TensorEntry {
  name: string;
  begin: bigint;
  end: bigint;
  bytes: bigint;
}

const isUsize = (v: JVal | undefined): v is bigint => typeof v === 'bigint' && v >= 0n && v <= USIZE_MAX;

/** Problems that make the loader refuse the header, plus unusual-but-accepted content. */
export interface SafetensorsCheck {
  errors: string[];
  unusual: string[];
  metadata: [string, string][];
  tensors: number;
}

export function checkSafetensorsHeader(header: JObj, dups: string[], fileSize: number, headerLen: number): SafetensorsCheck {
  const out: SafetensorsCheck = { errors: [], unusual: [], metadata: [], tensors: 0 };
  for (const d of dups) out.errors.push(`duplicate key ${printable(d, 100)} (loaders disagree on which one wins)`);
  const entries: TensorEntry[] = [];
  for (const [name, v] of header) {
    if (name === '__metadata__') {
      if (v === null) continue;
      if (!(v instanceof Map)) {
        out.errors.push('__metadata__ is not an object');
        continue;
      }
      for (const [k, mv] of v) {
        if (typeof mv !== 'string') out.errors.push(`__metadata__[${printable(k, 60)}] is not a string`);
        else out.metadata.push([k, mv]);
      }
      continue;
    }
    out.tensors++;
    const where = `tensor ${printable(name, 100)}`;
    if (!(v instanceof Map)) {
      out.errors.push(`${where} is not an object`);
      continue;
    }
    const extra = [...v.keys()].filter((k) => k !== 'dtype' && k !== 'shape' && k !== 'data_offsets');
    if (extra.length) out.unusual.push(`${where} has unknown fields ${printable(extra.join(', '), 80)}`);
    const dtype = v.get('dtype');
    const shape = v.get('shape');
    const offs = v.get('data_offsets');
    if (typeof dtype !== 'string' || !(dtype in SAFETENSORS_DTYPE_BITS)) {
      out.errors.push(`${where} has unknown dtype ${printable(String(typeof dtype === 'string' ? dtype : JSON.stringify(dtype ?? null)), 40)}`);
      continue;
    }
    if (!Array.isArray(shape) || !shape.every(isUsize)) {
      out.errors.push(`${where} shape is not a list of non-negative integers`);
      continue;
    }
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every(isUsize)) {
      out.errors.push(`${where} data_offsets is not [begin, end]`);
      continue;
    }
    const elements = (shape as bigint[]).reduce((a, b) => a * b, 1n);
    const bits = elements * SAFETENSORS_DTYPE_BITS[dtype]!;
    if (elements > USIZE_MAX || bits > USIZE_MAX) {
      out.errors.push(`${where} size overflows 64 bits`);
      continue;
    }
    if (bits % 8n !== 0n) {
      out.errors.push(`${where} of ${dtype} does not end on a byte boundary`);
      continue;
    }
    const [begin, end] = offs as [bigint, bigint];
    entries.push({ name, begin, end, bytes: bits / 8n });
  }
  // As the loader does: sort by (begin, end), then each must start where the previous ended.
  entries.sort((a, b) => (a.begin < b.begin ? -1 : a.begin > b.begin ? 1 : a.end < b.end ? -1 : a.end > b.end ? 1 : 0));
  let pos = 0n;
  for (const e of entries) {
    const where = `tensor ${printable(e.name, 100)}`;
    if (e.end < e.begin) out.errors.push(`${where} ends (${e.end}) before it begins (${e.begin})`);
    else if (e.begin !== pos) out.errors.push(`${where} begins at ${e.begin}, expected ${pos} (${e.begin > pos ? 'gap' : 'overlap'})`);
    else if (e.end - e.begin !== e.bytes) out.errors.push(`${where} spans ${e.end - e.begin} bytes, shape and dtype need ${e.bytes}`);
    if (e.end > pos) pos = e.end;
  }
  const expected = 8n + BigInt(headerLen) + pos;
  if (out.errors.length === 0 && expected !== BigInt(fileSize)) {
    out.errors.push(`file is ${fileSize} bytes, header and tensors cover ${expected} (${expected > BigInt(fileSize) ? 'truncated' : 'trailing bytes'})`);
  }
  return out;
}

const MAX_REPORTS = 10;

export const safetensorsScanner: FormatScanner = {
  async scan(blob: Blob, ctx: ScanContext): Promise<void> {
    const bad = (message: string, evidence?: string): void => ctx.report({ ruleId: 'SAFETENSORS_MALFORMED', message: `${ctx.name}: ${message}`, ...(evidence ? { evidence } : {}) });
    if (blob.size < 8) return bad(`file of ${blob.size} bytes has no header length`);
    const n = blob.read(0, 8).readBigUInt64LE(0);
    if (n > BigInt(SAFETENSORS_MAX_HEADER)) return bad(`header length ${n} exceeds the loader's limit of ${SAFETENSORS_MAX_HEADER}`);
    if (n > BigInt(blob.size - 8)) return bad(`header length ${n} runs past the end of the ${blob.size}-byte file`);
    const len = Number(n);
    if (len > ctx.limits.maxBytes) {
      ctx.report({ ruleId: 'SCAN_LIMIT', message: `${ctx.name}: safetensors header of ${len} bytes is over the ${ctx.limits.maxBytes}-byte limit; not checked` });
      return;
    }
    const text = decodeUtf8(blob.read(8, len));
    if (text === undefined) return bad('header is not valid UTF-8');
    const dups: string[] = [];
    let header: JVal;
    try {
      header = parseStrictJson(text, dups);
    } catch (e) {
      if (!(e instanceof JsonError)) throw e;
      return bad(`header is not valid JSON: ${e.message}`, printable(text.slice(Math.max(0, e.pos - 40), e.pos + 40)));
    }
    if (!(header instanceof Map)) return bad('header is not a JSON object');
    ctx.checkDeadline();
    const check = checkSafetensorsHeader(header, dups, blob.size, len);
    check.errors.slice(0, MAX_REPORTS).forEach((m, i) => bad(i === MAX_REPORTS - 1 && check.errors.length > MAX_REPORTS ? `${m} (and ${check.errors.length - MAX_REPORTS} more problems)` : m));
    check.unusual.slice(0, MAX_REPORTS).forEach((m) => ctx.report({ ruleId: 'SAFETENSORS_UNUSUAL', message: `${ctx.name}: ${m}` }));
    let total = 0;
    for (const [k, v] of check.metadata) {
      total += k.length + v.length;
      if (v.length > 1_000_000) ctx.report({ ruleId: 'SAFETENSORS_UNUSUAL', message: `${ctx.name}: metadata value ${printable(k, 60)} is ${v.length} characters`, evidence: printable(v, 120) });
      if (looksLikeTemplate(v)) {
        ctx.report({ ruleId: 'SAFETENSORS_TEMPLATE_METADATA', message: `${ctx.name}: metadata ${printable(k, 60)} holds a Jinja template; checked as one`, evidence: printable(v, 120) });
        reportTemplate(ctx, v, `${ctx.name} metadata ${printable(k, 60)}`);
      }
    }
    if (total > 10_000_000) ctx.report({ ruleId: 'SAFETENSORS_UNUSUAL', message: `${ctx.name}: ${total} characters of metadata` });
  },
};
