/**
 * A generic OpenAI-compatible endpoint: GET /v1/models gives model ids only, nothing that
 * identifies weights, so each id must be bound to a digest (`perimeter runtime bind`). Listing
 * still matters: an id served without a binding is a finding.
 */
import { z } from 'zod';
import { endpoint, fetchJson } from './http.ts';
import { expectShape, type DiscoveredModel, type DiscoveryOptions } from './types.ts';

const models = z.looseObject({ data: z.array(z.looseObject({ id: z.string().min(1), owned_by: z.string().nullish() })) });

export async function discoverOpenai(url: string, o: DiscoveryOptions = {}): Promise<DiscoveredModel[]> {
  const u = endpoint(url, '/v1/models');
  const r = expectShape(models, await fetchJson(u, { timeoutMs: o.timeoutMs }), `GET ${u}`);
  return r.data.map((m) => ({ modelId: m.id, unidentified: 'an OpenAI-compatible endpoint does not say which weights it serves', details: { owned_by: m.owned_by ?? null } }));
}
