/**
 * The Perimeter target of the gateway benchmark: `perimeter serve` (the real launcher, its own
 * process) with everything the issue measures turned on:
 *
 * - API key authentication (a key made with the library, as `perimeter keys create` does);
 * - Cedar policy (a group permit plus a forbid that never matches, so both are evaluated);
 * - a rate limit on every principal and model (high enough never to trip);
 * - DLP on the prompt: secrets redact, PII log, injection log on input; secrets block on output;
 * - runtime admission: MODEL is a signed, scanned, admitted artifact bound to the upstream;
 * - the audit log: one gateway.request event per request, on the embedded SQLite store;
 * - the gateway's own credential to the upstream (gateway.upstream.credentials); the client's key
 *   is never forwarded.
 *
 * `--redis` (PERIMETER_BENCH_REDIS=1) puts the limits in Redis instead of the process.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog } from '../../src/audit/log.ts';
import { loadConfig } from '../../src/config/load.ts';
import { createApiKey } from '../../src/gateway/identity/apikeys.ts';
import { admit } from '../../src/policy/admit.ts';
import { registerModel } from '../../src/registry/register.ts';
import { addRuntime, bindModel } from '../../src/registry/runtimes.ts';
import { KeySigner, KeyVerifier } from '../../src/signing/key-method.ts';
import { signModel } from '../../src/signing/model.ts';
import { openStore } from '../../src/store/store.ts';
import { writeDemoModel } from '../../src/cli/commands/demo.ts';
import { EXIT_WITH_PARENT, freePort, startNode, waitFor } from './procs.ts';
import { MODEL } from './workload.ts';

export interface PerimeterTarget {
  /** Origin, e.g. http://127.0.0.1:41234 (no trailing slash). */
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  /** The serve process (for CPU readings). */
  readonly pid: number;
  stop(): Promise<void>;
}

export const NOT_WIRED = 'not wired yet';

const BIN = new URL('../../bin/perimeter.js', import.meta.url).pathname;

const POLICY = `
@id("bench-apps")
permit (principal in Perimeter::Group::"apps", action, resource) when { resource.admitted };
@id("bench-no-interns")
forbid (principal in Perimeter::Group::"interns", action, resource);
`;

export async function startPerimeter(upstreamUrl: string, o: { redis?: string; log?: string; nodeFlags?: readonly string[] } = {}): Promise<PerimeterTarget> {
  const dir = mkdtempSync(join(tmpdir(), 'perimeter-bench-gw-'));
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  writeFileSync(join(dir, 'signer.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
  writeFileSync(join(dir, 'policy.cedar'), POLICY);
  writeFileSync(
    join(dir, 'perimeter.yaml'),
    `admission:
  trust: { keys: [signer.pub] }
gateway:
  enabled: true
  ${o.redis ? `redis: ${o.redis}` : ''}
  policy: { cedar: [policy.cedar] }
  limits:
    - { principal: "*", model: "*", per: principal, requests_per_minute: 100000000, tokens_per_minute: 10000000000 }
  upstream:
    credentials: { bench-upstream: { api_key_env: BENCH_UPSTREAM_KEY } }
  guards:
    input: { secrets: redact, pii: log, injection: log }
    output: { secrets: block, pii: log, injection: off }
`,
  );
  const db = join(dir, 'perimeter.db');
  const auditKey = join(dir, 'audit.key');
  const config = loadConfig(join(dir, 'perimeter.yaml'));
  const store = await openStore(db);
  const audit = await AuditLog.open(store, { keyPath: auditKey });
  let key: string;
  try {
    const model = join(dir, 'model');
    writeDemoModel(model);
    await signModel(model, new KeySigner(privateKey));
    const reg = await registerModel(store, audit, model, { name: MODEL, verifier: new KeyVerifier(publicKey), actor: 'bench' });
    const d = await admit({ store, sink: audit, config, actor: 'bench' }, { env: 'default', digest: reg.digest });
    if (!d.allowed) throw new Error(`the bench model was not admitted: ${JSON.stringify(d.reasons)}`);
    await addRuntime(store, audit, { name: 'bench-upstream', kind: 'openai', url: upstreamUrl }, 'bench');
    await bindModel(store, audit, { runtime: 'bench-upstream', modelId: MODEL, digest: reg.digest }, 'bench');
    key = (await createApiKey(store, audit, { name: 'bench', principal: 'bench-app', groups: ['apps'], verified: true }, 'bench')).key;
  } finally {
    await audit.close();
    await store.close();
  }
  const port = await freePort();
  const proc = await startNode([...(o.nodeFlags ?? []), EXIT_WITH_PARENT, BIN, 'serve', '--config', join(dir, 'perimeter.yaml'), '--db', db, '--listen', `127.0.0.1:${port}`], {
    log: o.log ?? join(dir, 'serve.log'),
    port,
    env: { ...process.env, PERIMETER_AUDIT_KEY: auditKey, PERIMETER_LOG_LEVEL: 'warn', BENCH_UPSTREAM_KEY: 'sk-gateway-own-credential' },
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`${url}/readyz`, {}, (s) => s === 200);
  return { url, headers: { authorization: `Bearer ${key}` }, pid: proc.child.pid!, stop: proc.stop };
}
