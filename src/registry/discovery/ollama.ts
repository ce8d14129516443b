/**
 * Ollama (https://docs.ollama.com/api): GET /api/tags lists the local models (name, manifest
 * digest, details); POST /api/show {"model": name} returns the Modelfile, whose `FROM` line names
 * the weights blob (`.../blobs/sha256-<hex>`) and whose `ADAPTER` lines name adapter blobs. A blob
 * is named by the sha256 of its bytes, so it identifies the exact GGUF file being served.
 */
import { z } from 'zod';
import { endpoint, fetchJson } from './http.ts';
import { expectShape, mapLimit, type DiscoveredModel, type DiscoveryOptions } from './types.ts';

const tags = z.looseObject({
  models: z.array(
    z.looseObject({
      name: z.string().min(1),
      digest: z.string().optional(),
      size: z.number().optional(),
      details: z.looseObject({}).optional(),
    }),
  ),
});

const show = z.looseObject({
  modelfile: z.string(),
  details: z.looseObject({}).optional(),
  model_info: z.record(z.string(), z.unknown()).optional(),
});

const BLOB = /(?:^|[\\/])sha256[-:]([0-9a-f]{64})$/;

/** The FROM and ADAPTER values of a Modelfile (comment lines skipped). */
export function modelfileSources(modelfile: string): { from: string[]; adapters: string[] } {
  const from: string[] = [];
  const adapters: string[] = [];
  for (const line of modelfile.split(/\r?\n/)) {
    const m = /^\s*(FROM|ADAPTER)\s+(.+?)\s*$/i.exec(line);
    if (!m) continue;
    const value = m[2]!.replace(/^"(.*)"$/, '$1');
    (m[1]!.toUpperCase() === 'FROM' ? from : adapters).push(value);
  }
  return { from, adapters };
}

export const blobSha256 = (source: string): string | undefined => BLOB.exec(source)?.[1];

export async function discoverOllama(url: string, o: DiscoveryOptions = {}): Promise<DiscoveredModel[]> {
  const listUrl = endpoint(url, '/api/tags');
  const list = expectShape(tags, await fetchJson(listUrl, { timeoutMs: o.timeoutMs }), `GET ${listUrl}`);
  const showUrl = endpoint(url, '/api/show');
  return mapLimit(list.models, o.concurrency ?? 4, async (m) => {
    const s = expectShape(show, await fetchJson(showUrl, { method: 'POST', body: { model: m.name }, timeoutMs: o.timeoutMs }), `POST ${showUrl} (${m.name})`);
    const { from, adapters } = modelfileSources(s.modelfile);
    const weights = from.length === 1 ? blobSha256(from[0]!) : undefined;
    const adapterSha = adapters.map(blobSha256);
    const info = s.model_info ?? {};
    const d = s.details ?? m.details ?? {};
    const details: Record<string, unknown> = {
      manifest_digest: m.digest ?? null,
      size: m.size ?? null,
      format: d.format ?? null,
      family: d.family ?? null,
      parameter_size: d.parameter_size ?? null,
      quantization_level: d.quantization_level ?? null,
      architecture: info['general.architecture'] ?? null,
      parameter_count: info['general.parameter_count'] ?? null,
      from,
      adapters,
    };
    const model: DiscoveredModel = { modelId: m.name, details };
    if (weights) model.weightsSha256 = weights;
    else model.unidentified = from.length === 0 ? 'the Modelfile has no FROM line' : from.length > 1 ? 'the Modelfile has several FROM lines' : `FROM ${from[0]} is not a blob`;
    if (adapters.length) {
      if (adapterSha.every((a): a is string => a !== undefined)) model.adapterSha256 = adapterSha;
      else model.unidentified = `an ADAPTER line is not a blob (${adapters.join(', ')})`;
    }
    return model;
  });
}
