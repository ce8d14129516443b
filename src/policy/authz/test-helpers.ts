/** Shared by the authz tests and bench/authz.ts: temp policy folders and request builders. */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Action, AuthzRequest, ModelResource, Principal } from '../../gateway/types.ts';

export interface PolicyDir {
  readonly dir: string;
  /** Writes (or rewrites) a file in the folder and returns its path. */
  write(name: string, text: string): string;
  remove(): void;
}

export function policyDir(): PolicyDir {
  const dir = mkdtempSync(join(tmpdir(), 'perimeter-authz-'));
  return {
    dir,
    write(name, text) {
      const p = join(dir, name);
      writeFileSync(p, text);
      return p;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export function principal(over: Partial<Omit<Principal, 'fingerprint'>> = {}): Principal {
  const base = { id: 'alice', kind: 'jwt' as const, credential: 'jti-1', org: null, groups: [], verified: false, attestations: [], attributes: {}, ...over };
  const fingerprint = createHash('sha256')
    .update(JSON.stringify([base.id, base.kind, base.org, base.groups, base.verified, base.attestations, base.attributes]))
    .digest('hex')
    .slice(0, 16);
  return { ...base, fingerprint };
}

export function model(over: Partial<ModelResource> = {}): ModelResource {
  return { id: 'llama3.1:8b', digest: 'sha256:aa', admitted: true, license: 'llama3.1', tier: 1, runtime: 'ollama-a', ...over };
}

/** Monday 2026-01-05 10:00 UTC. */
export const MONDAY_10H = Date.UTC(2026, 0, 5, 10, 0, 0);

export function request(p: Principal, resource: ModelResource, over: { action?: Action; time?: number; sourceIp?: string; purpose?: string | null } = {}): AuthzRequest {
  return {
    principal: p,
    action: over.action ?? 'infer',
    resource,
    context: { time: over.time ?? MONDAY_10H, sourceIp: over.sourceIp ?? '10.1.2.3', purpose: over.purpose ?? null },
  };
}
