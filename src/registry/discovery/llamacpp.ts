/**
 * llama.cpp's llama-server (tools/server README): GET /props returns `model_path` (the GGUF file
 * loaded with -m), `default_generation_settings`, `total_slots` and, in newer builds,
 * `model_alias`; GET /v1/models names the model clients ask for. One model per server.
 */
import { basename } from 'node:path';
import { z } from 'zod';
import { isPerimeterError } from '../../errors/errors.ts';
import { endpoint, fetchJson } from './http.ts';
import { expectShape, type DiscoveredModel, type DiscoveryOptions } from './types.ts';

const props = z.looseObject({
  model_path: z.string().min(1),
  model_alias: z.string().nullish(),
  total_slots: z.number().nullish(),
  default_generation_settings: z.looseObject({ n_ctx: z.number().nullish() }).nullish(),
  build_info: z.string().nullish(),
});
const models = z.looseObject({ data: z.array(z.looseObject({ id: z.string().min(1) })) });

export async function discoverLlamacpp(url: string, o: DiscoveryOptions = {}): Promise<DiscoveredModel[]> {
  const u = endpoint(url, '/props');
  const p = expectShape(props, await fetchJson(u, { timeoutMs: o.timeoutMs }), `GET ${u}`);
  let id = p.model_alias || basename(p.model_path);
  try {
    const mu = endpoint(url, '/v1/models');
    const first = expectShape(models, await fetchJson(mu, { timeoutMs: o.timeoutMs }), `GET ${mu}`).data[0];
    if (first) id = first.id;
  } catch (e) {
    // Older builds have no /v1/models: the alias or file name will do. Anything else is a real error.
    if (!isPerimeterError(e, 'PERIM_E_RUNTIME_HTTP')) throw e;
  }
  const details = {
    model_path: p.model_path,
    n_ctx: p.default_generation_settings?.n_ctx ?? null,
    total_slots: p.total_slots ?? null,
    build_info: p.build_info ?? null,
  };
  return [{ modelId: id, path: p.model_path, details }];
}
