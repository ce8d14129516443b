/**
 * vLLM's OpenAI-compatible server (https://docs.vllm.ai): GET /v1/models lists every served model
 * card: `id` (the served name), `root` (what was loaded: the --model path or hub id, or a LoRA
 * adapter's path) and `parent` (for a LoRA adapter, the base model's id; null for the base).
 * Only a local path identifies the weights; a hub id needs `perimeter runtime bind`.
 */
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { endpoint, fetchJson } from './http.ts';
import { expectShape, type DiscoveredModel, type DiscoveryOptions } from './types.ts';

const models = z.looseObject({
  data: z.array(
    z.looseObject({
      id: z.string().min(1),
      root: z.string().nullish(),
      parent: z.string().nullish(),
      max_model_len: z.number().nullish(),
    }),
  ),
});

export async function discoverVllm(url: string, o: DiscoveryOptions = {}): Promise<DiscoveredModel[]> {
  const u = endpoint(url, '/v1/models');
  const r = expectShape(models, await fetchJson(u, { timeoutMs: o.timeoutMs }), `GET ${u}`);
  return r.data.map((m) => {
    const root = m.root ?? m.id;
    const details = { root, parent: m.parent ?? null, adapter: Boolean(m.parent), max_model_len: m.max_model_len ?? null };
    return isAbsolute(root)
      ? { modelId: m.id, path: root, details }
      : { modelId: m.id, unidentified: `vLLM loaded "${root}", not a local path`, details };
  });
}
