/**
 * The targets of the gateway benchmark, each a base URL that serves POST /v1/chat/completions plus
 * the headers a client sends it. The runner adds `authorization: Bearer <CLIENT_KEY>` unless the
 * target's headers carry their own `authorization` (lower-case).
 */
import { join } from 'node:path';
import { startNode } from './procs.ts';

export interface Target {
  readonly name: string;
  readonly label: string;
  /** Origin, e.g. http://127.0.0.1:41234 (no trailing slash). */
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  /** The target's own process, when it has one (for CPU readings). */
  readonly pid?: number;
  stop(): Promise<void>;
}

export interface Upstream {
  readonly url: string;
  stats(): Promise<UpstreamStats>;
  stop(): Promise<void>;
}

export interface UpstreamStats {
  chat: number;
  chatWithAuth: number;
  lastChatBodyBytes: number;
  models: number;
  other: number;
}

const here = import.meta.dirname;

export async function startUpstream(cacheDir: string): Promise<Upstream> {
  const p = await startNode([join(here, 'upstream.ts')], { log: join(cacheDir, 'upstream.log') });
  const url = `http://127.0.0.1:${p.port}`;
  return {
    url,
    async stats() { return (await (await fetch(`${url}/_sim/stats`)).json()) as UpstreamStats; },
    stop: p.stop,
  };
}

export function directTarget(up: Upstream): Target {
  return { name: 'direct', label: 'direct to the simulated upstream', url: up.url, headers: {}, stop: async () => {} };
}

export async function startBare(up: Upstream, cacheDir: string, nodeFlags: readonly string[] = []): Promise<Target> {
  const p = await startNode([...nodeFlags, join(here, 'bare.ts'), up.url], { log: join(cacheDir, 'bare.log') });
  return {
    name: 'bare',
    label: 'bare Node + undici pass-through',
    url: `http://127.0.0.1:${p.port}`,
    headers: {},
    pid: p.child.pid!,
    stop: p.stop,
  };
}
