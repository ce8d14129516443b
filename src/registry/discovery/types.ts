/** What a runtime says it serves, normalized across runtimes (before matching to artifacts). */
import { z } from 'zod';
import { badShape } from './http.ts';

export interface DiscoveredModel {
  /** The name clients ask for (Ollama tag, vLLM served model id, llama.cpp alias). */
  modelId: string;
  /** sha256 hex of the single weights file the runtime loads (an Ollama blob), when it says. */
  weightsSha256?: string;
  /** sha256 hex of adapter files it applies on top (Ollama ADAPTER blobs). */
  adapterSha256?: string[];
  /** A path on disk the runtime loads from (vLLM root, llama.cpp model_path). */
  path?: string;
  /** Why the runtime's answer does not identify the weights (e.g. a hub id instead of a path). */
  unidentified?: string;
  /** What else the runtime says (family, quantization, parent, manifest digest...). Never secrets. */
  details: Record<string, unknown>;
}

export interface DiscoveryOptions {
  timeoutMs?: number;
  /** Concurrent requests per runtime (Ollama asks once per model). */
  concurrency?: number;
}

/** Validates a runtime answer against a (loose) zod shape; a mismatch is PERIM_E_RUNTIME_RESPONSE with the field path. */
export function expectShape<T extends z.ZodType>(schema: T, value: unknown, what: string): z.output<T> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const i = r.error.issues[0]!;
  const path = i.path.map((k) => (typeof k === 'number' ? `[${k}]` : `.${String(k)}`)).join('');
  throw badShape(what, `unexpected answer at ${path || '(root)'}: ${i.message}`);
}

/** Runs f over items with at most n in flight, keeping order. */
export async function mapLimit<T, R>(items: readonly T[], n: number, f: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  return out;
}
