/**
 * HDF5 (.h5 Keras models). A real HDF5 parser is out of scope; this is an honest heuristic.
 * Keras stores the model architecture as the JSON text of the root group's `model_config`
 * attribute (and `training_config` beside it). HDF5 keeps such a string contiguous, either in the
 * attribute message or in a global heap, usually near the start of the file. So the scanner
 * searches the file, in overlapping chunks and up to limits.maxBytes, for the bytes that start a
 * Keras config object (`{"class_name"` or `{"module"`), cuts out the balanced JSON object that
 * follows (string- and escape-aware, bounded) and parses it. Each config found goes through the
 * Keras checks. HDF5 weights themselves hold no code; nothing else in the file is interpreted.
 */
import type { Blob, FormatScanner, ScanContext } from '../types.ts';
import { reportKeras } from './json.ts';

const CHUNK = 4 * 1024 * 1024;
const NEEDLES = ['{"class_name"', '{"module"'].map((s) => Buffer.from(s, 'latin1'));
const OVERLAP = 64;
const MAX_CONFIGS = 16;
const MAX_ATTEMPTS = 10_000;

/**
 * The balanced JSON object starting at `start`, or undefined if it does not close within `max`
 * bytes. `budget.left` counts bytes examined across calls, so crafted unclosed prefixes cannot make
 * the search quadratic.
 */
export function extractJsonObject(blob: Blob, start: number, max: number, budget = { left: Infinity }): string | undefined {
  let depth = 0;
  let inStr = false;
  let esc = false;
  const parts: Buffer[] = [];
  for (let off = start; off < blob.size && off - start < max; off += CHUNK) {
    const b = blob.read(off, Math.min(CHUNK, max - (off - start), Math.max(0, budget.left)));
    budget.left -= b.length;
    if (b.length === 0) return undefined;
    for (let i = 0; i < b.length; i++) {
      const c = b[i]!;
      if (inStr) {
        if (esc) esc = false;
        else if (c === 0x5c) esc = true;
        else if (c === 0x22) inStr = false;
        else if (c < 0x20) return undefined; // raw control characters never appear inside JSON strings
      } else if (c === 0x22) inStr = true;
      else if (c === 0x7b || c === 0x5b) depth++;
      else if (c === 0x7d || c === 0x5d) {
        if (--depth === 0) {
          parts.push(b.subarray(0, i + 1));
          return Buffer.concat(parts).toString('utf8');
        }
      } else if (c === 0) return undefined;
    }
    parts.push(b);
  }
  return undefined;
}

/** Reads the file in overlapping chunks, keeping the last one, to find config starts. */
export class ConfigSearch {
  readonly #blob: Blob;
  readonly #end: number;
  #off = -1;
  #buf: Buffer = Buffer.alloc(0);
  constructor(blob: Blob, end: number) {
    this.#blob = blob;
    this.#end = end;
  }
  /** The next offset at or after `from` where a Keras config object may start, or -1. */
  next(from: number, tick: () => void): number {
    for (let off = from; off < this.#end; ) {
      if (!(off >= this.#off && off < this.#off + this.#buf.length - OVERLAP) && !(off >= this.#off && this.#off + this.#buf.length >= this.#end)) {
        tick();
        this.#off = off;
        this.#buf = this.#blob.read(off, Math.min(CHUNK, this.#end - off));
      }
      const rel = off - this.#off;
      let best = -1;
      for (const needle of NEEDLES) {
        const i = this.#buf.indexOf(needle, rel);
        if (i >= 0 && (best < 0 || i < best)) best = i;
      }
      if (best >= 0) return this.#off + best;
      if (this.#off + this.#buf.length >= this.#end) break;
      off = this.#off + this.#buf.length - OVERLAP;
    }
    return -1;
  }
}

export const hdf5Scanner: FormatScanner = {
  async scan(blob: Blob, ctx: ScanContext): Promise<void> {
    const limit = ctx.limits.maxBytes;
    const search = new ConfigSearch(blob, Math.min(blob.size, limit));
    let configs = 0;
    let attempts = 0;
    const budget = { left: 2 * Math.min(blob.size, limit) + CHUNK };
    for (let pos = 0; configs < MAX_CONFIGS && attempts < MAX_ATTEMPTS; attempts++) {
      const s = search.next(pos, () => ctx.checkDeadline());
      if (s < 0) break;
      pos = s + 1;
      if (budget.left <= 0) break;
      const text = extractJsonObject(blob, s, limit, budget);
      if (text === undefined) continue;
      let doc: unknown;
      try {
        doc = JSON.parse(text);
      } catch {
        continue;
      }
      if (typeof doc !== 'object' || doc === null || !('class_name' in doc)) continue;
      configs++;
      pos = s + Buffer.byteLength(text);
      reportKeras(ctx, doc, `${ctx.name} model config at offset ${s}`);
    }
    if (configs > 0) {
      ctx.report({ ruleId: 'KERAS_CONFIG_ONLY', message: `${ctx.name}: HDF5 parsed heuristically; ${configs} Keras config object(s) found and checked, weights not interpreted` });
    } else if (blob.size > limit || budget.left <= 0 || attempts >= MAX_ATTEMPTS) {
      ctx.report({ ruleId: 'KERAS_H5_LIMIT', message: `${ctx.name}: no Keras model config found within the search limits (${limit} bytes of a ${blob.size}-byte HDF5 file); the rest was not searched` });
    } else {
      ctx.report({ ruleId: 'KERAS_CONFIG_ONLY', message: `${ctx.name}: HDF5 file without a Keras model config (weights only); nothing that runs code was found` });
    }
  },
};
