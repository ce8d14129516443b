/**
 * What a model says about itself: Hugging Face config.json (architectures, model_type),
 * adapter_config.json (the base model of a PEFT adapter), GGUF general.* keys (name, architecture,
 * license, base models, source, file type) and safetensors __metadata__. Read from headers and
 * small JSON files only; nothing here is trusted beyond being recorded and used as a hint for
 * kind and lineage (explicit flags win).
 */
import { closeSync, lstatSync, openSync, readSync, readdirSync, statSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { GGUF_FILE_TYPES, GGUF_UNQUANTIZED, readGgufGeneral, type GgufMetaValue } from './gguf-meta.ts';

export type ArtifactKind = 'base' | 'fine-tune' | 'adapter' | 'quantization' | 'merge' | 'unknown';
export const ARTIFACT_KINDS: readonly ArtifactKind[] = ['base', 'fine-tune', 'adapter', 'quantization', 'merge', 'unknown'];

/** A parent the model names: a model id (Hugging Face repo id or name), with where it came from. */
export interface ParentHint {
  id: string;
  source: string;
}

export interface ModelMetadata {
  format: string | null;
  architectures?: string[];
  modelType?: string;
  license?: string;
  /** Kind the files suggest (adapter, quantization, merge, fine-tune); undefined when they do not say. */
  kind?: ArtifactKind;
  parents: ParentHint[];
  quantization?: string;
  trainingFlops?: number;
  /** The raw pieces, for the record (bounded). */
  config?: Record<string, unknown>;
  adapter?: Record<string, unknown>;
  gguf?: Record<string, GgufMetaValue>;
  safetensors?: Record<string, string>;
  /** Files that could not be read as what their name says (recorded, never fatal). */
  problems: string[];
}

const MAX_JSON_BYTES = 4 * 1024 * 1024;
const MAX_ST_HEADER = 64 * 1024 * 1024;

function readHead(path: string, max: number): Buffer | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const size = Math.min(max, statSync(path).size);
    const buf = Buffer.alloc(size);
    let got = 0;
    while (got < size) {
      const n = readSync(fd, buf, got, size - got, got);
      if (n === 0) break;
      got += n;
    }
    return buf.subarray(0, got);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function readJsonObject(path: string, problems: string[]): Record<string, unknown> | undefined {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return undefined;
  }
  if (!st.isFile()) return undefined;
  if (st.size > MAX_JSON_BYTES) {
    problems.push(`${basename(path)} is larger than ${MAX_JSON_BYTES} bytes; not read`);
    return undefined;
  }
  try {
    const v = JSON.parse(readHead(path, MAX_JSON_BYTES)?.toString('utf8') ?? '');
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
    problems.push(`${basename(path)} is not a JSON object`);
  } catch {
    problems.push(`${basename(path)} is not valid JSON`);
  }
  return undefined;
}

/** The safetensors __metadata__ map (string → string), or undefined. */
export function readSafetensorsMetadata(path: string, problems: string[] = []): Record<string, string> | undefined {
  const head = readHead(path, 8);
  if (!head || head.length < 8) return undefined;
  const n = head.readBigUInt64LE(0);
  if (n > BigInt(MAX_ST_HEADER)) {
    problems.push(`${basename(path)}: header of ${n} bytes; metadata not read`);
    return undefined;
  }
  const all = readHead(path, 8 + Number(n));
  try {
    const h = JSON.parse(all!.subarray(8).toString('utf8')) as Record<string, unknown>;
    const m = h.__metadata__;
    if (!m || typeof m !== 'object' || Array.isArray(m)) return undefined;
    return Object.fromEntries(Object.entries(m as Record<string, unknown>).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
  } catch {
    problems.push(`${basename(path)}: header is not valid JSON`);
    return undefined;
  }
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);
const num = (v: unknown): number | undefined => {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*[0-9.]+(e\+?[0-9]+)?\s*$/i.test(v) ? Number(v) : NaN;
  return Number.isFinite(n) && n >= 0 ? n : undefined;
};

/** "https://huggingface.co/org/name" → "org/name"; other URLs and ids as they are. */
export function modelIdFromUrl(url: string): string {
  const m = /^https?:\/\/(?:www\.)?(?:huggingface\.co|hf\.co)\/([^/?#]+\/[^/?#]+)\/?$/.exec(url.trim());
  return m ? m[1]! : url.trim();
}

function ggufParents(g: Record<string, GgufMetaValue>, prefix: 'general.base_model' | 'general.source'): ParentHint[] {
  const one = (p: string): ParentHint | undefined => {
    const repo = str(g[`${p}.repo_url`]) ?? str(g[`${p}.url`]);
    const hf = str(g[`${p}.huggingface.repository`]);
    const org = str(g[`${p}.organization`]);
    const name = str(g[`${p}.name`]);
    const id = hf ?? (repo ? modelIdFromUrl(repo) : undefined) ?? (org && name ? `${org}/${name}` : name);
    return id ? { id, source: `gguf ${p}` } : undefined;
  };
  if (prefix === 'general.source') {
    const s = one('general.source');
    return s ? [s] : [];
  }
  const count = typeof g['general.base_model.count'] === 'number' ? Math.min(16, g['general.base_model.count']) : 0;
  const out: ParentHint[] = [];
  for (let i = 0; i < count; i++) {
    const p = one(`general.base_model.${i}`);
    if (p) out.push(p);
  }
  return out;
}

function fromGguf(path: string, md: ModelMetadata): void {
  let g: Record<string, GgufMetaValue>;
  try {
    g = readGgufGeneral(path, (k) => k.startsWith('general.') || k === 'training_flops');
  } catch (e) {
    md.problems.push(`${basename(path)}: GGUF header not readable (${(e as Error).message})`);
    return;
  }
  md.gguf = g;
  md.format ??= 'gguf';
  const arch = str(g['general.architecture']);
  if (arch) md.modelType ??= arch;
  md.license ??= str(g['general.license']);
  md.trainingFlops ??= num(g['general.training_flops']) ?? num(g['training_flops']);
  const ft = g['general.file_type'];
  const quantized = typeof ft === 'number' && !GGUF_UNQUANTIZED.has(ft);
  if (typeof ft === 'number') md.quantization ??= GGUF_FILE_TYPES[ft] ?? `file_type ${ft}`;
  const bases = ggufParents(g, 'general.base_model');
  const source = ggufParents(g, 'general.source');
  if (quantized) {
    // A quantized file derives from what it was converted from (general.source), else the base model it names.
    md.kind ??= 'quantization';
    if (md.parents.length === 0) md.parents.push(...(source.length ? source : bases.slice(0, 1)));
  } else if (bases.length && md.parents.length === 0) {
    md.kind ??= bases.length > 1 ? 'merge' : 'fine-tune';
    md.parents.push(...bases);
  }
}

/** Reads what the files at `modelPath` (a folder or one file) say about the model. Never throws on content. */
export function readModelMetadata(modelPath: string): ModelMetadata {
  const abs = resolve(modelPath);
  const md: ModelMetadata = { format: null, parents: [], problems: [] };
  const isDir = statSync(abs).isDirectory();
  const names = isDir ? readdirSync(abs).sort() : [basename(abs)];
  const at = (n: string): string => (isDir ? join(abs, n) : abs);

  if (isDir) {
    const adapter = readJsonObject(join(abs, 'adapter_config.json'), md.problems);
    if (adapter) {
      md.adapter = pick(adapter, ['base_model_name_or_path', 'peft_type', 'task_type', 'r', 'lora_alpha', 'target_modules', 'training_flops']);
      md.kind = 'adapter';
      const base = str(adapter.base_model_name_or_path);
      if (base) md.parents.push({ id: base, source: 'adapter_config.json base_model_name_or_path' });
      md.trainingFlops ??= num(adapter.training_flops);
    }
    const config = readJsonObject(join(abs, 'config.json'), md.problems);
    if (config) {
      md.config = pick(config, ['architectures', 'model_type', 'torch_dtype', '_name_or_path', 'quantization_config', 'training_flops']);
      if (Array.isArray(config.architectures)) md.architectures = config.architectures.filter((a): a is string => typeof a === 'string').slice(0, 16);
      md.modelType ??= str(config.model_type);
      md.trainingFlops ??= num(config.training_flops);
      const q = config.quantization_config;
      if (q && typeof q === 'object' && !Array.isArray(q)) {
        md.kind ??= 'quantization';
        md.quantization ??= str((q as Record<string, unknown>).quant_method) ?? 'quantized';
      }
    }
  }
  const st = names.filter((n) => n.endsWith('.safetensors'));
  const gg = names.filter((n) => extname(n).toLowerCase() === '.gguf');
  if (st.length) {
    md.format = 'safetensors';
    const m = readSafetensorsMetadata(at(st[0]!), md.problems);
    if (m) {
      md.safetensors = Object.fromEntries(Object.entries(m).slice(0, 64).map(([k, v]) => [k, v.slice(0, 4096)]));
      md.trainingFlops ??= num(m.training_flops);
      md.license ??= str(m.license);
    }
  }
  if (gg.length) fromGguf(at(gg[0]!), md);
  if (!md.format) md.format = guessFormat(names);
  return md;
}

function guessFormat(names: string[]): string | null {
  const ext = new Set(names.map((n) => extname(n).toLowerCase()));
  if (ext.has('.onnx')) return 'onnx';
  if (ext.has('.bin') || ext.has('.pt') || ext.has('.pth')) return 'pytorch';
  if (ext.has('.h5') || ext.has('.keras')) return 'keras';
  if (names.includes('saved_model.pb')) return 'savedmodel';
  return null;
}

function pick(o: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (k in o) out[k] = o[k];
  return out;
}
