/** Discovery by runtime kind. Closed-API tenants are never asked: their models exist only as bindings. */
import { discoverLlamacpp } from './llamacpp.ts';
import { discoverOllama } from './ollama.ts';
import { discoverOpenai } from './openai.ts';
import { discoverVllm } from './vllm.ts';
import type { DiscoveredModel, DiscoveryOptions } from './types.ts';

export type { DiscoveredModel, DiscoveryOptions } from './types.ts';

export async function discover(kind: string, url: string, o: DiscoveryOptions = {}): Promise<DiscoveredModel[] | undefined> {
  switch (kind) {
    case 'ollama':
      return discoverOllama(url, o);
    case 'vllm':
      return discoverVllm(url, o);
    case 'llamacpp':
      return discoverLlamacpp(url, o);
    case 'openai':
      return discoverOpenai(url, o);
    default:
      return undefined; // closed-api: bindings only
  }
}
