/**
 * Test support only: a whole gateway on a real store, real audit log, real Cedar files and real
 * HTTP, in front of two SIMULATED runtimes (an Ollama and a vLLM stand-in, simulated-runtime.ts).
 *
 * Inventory: model "llama3.1:8b" on the Ollama simulation and "qwen2.5-7b" on the vLLM simulation
 * are signed artifacts admitted for env "prod" (through the real admit flow) and bound to the
 * runtimes; "mystery:latest" is served by the Ollama simulation and bound to an artifact that is
 * registered but NOT admitted. Principals: alice (group ml), bob (groups ml and interns: forbidden),
 * limited (group ml, 2 requests a minute), ops (group perimeter-admin).
 */
import { writeFileSync } from 'node:fs';
import pino from 'pino';
import { join } from 'node:path';
import { tempDir } from '../../test/helpers.ts';
import type { Backend } from '../../test/stores.ts';
import { AuditLog } from '../audit/log.ts';
import { loadConfig, type LoadedConfig } from '../config/load.ts';
import { admit } from '../policy/admit.ts';
import { addTestArtifact, makeTestKey } from '../policy/test-artifacts.ts';
import { addRuntime, bindModel } from '../registry/runtimes.ts';
import { HttpServer, type Listening } from '../server/server.ts';
import { openStore, type Store } from '../store/store.ts';
import { Gateway } from './gateway.ts';
import { createApiKey } from './identity/apikeys.ts';
import { simulateInference, type InferenceSimulation } from './simulated-runtime.ts';

/** The gateway's own credential for the vLLM simulation (gateway.upstream.credentials). */
export const VLLM_KEY = 'sk-vllm-sim-credential';
process.env.PERIMETER_TEST_VLLM_KEY = VLLM_KEY;

export const POLICY = `
@id("ml-team")
@reason("the ml group may use admitted models")
permit (principal in Perimeter::Group::"ml", action, resource)
when { resource.admitted };

@id("no-interns")
@reason("interns may not call models")
forbid (principal in Perimeter::Group::"interns", action, resource);
`;

export interface TestGateway {
  url: string;
  store: Store;
  audit: AuditLog;
  gateway: Gateway;
  ollama: InferenceSimulation;
  vllm: InferenceSimulation;
  keys: { alice: string; bob: string; limited: string; ops: string };
  digests: { llama: string; qwen: string; mystery: string };
  dir: string;
  /** The gateway.request audit events recorded so far (flushed first). */
  requests(): Promise<Array<{ actor: string; subject: string; data: Record<string, unknown> }>>;
  close(): Promise<void>;
}

export interface TestGatewayOptions {
  /** Extra YAML under `gateway:` (indented two spaces). */
  gatewayYaml?: string;
  dev?: boolean;
  policy?: string;
}

export interface Seeded {
  config: LoadedConfig;
  configPath: string;
  keys: { alice: string; bob: string; limited: string; ops: string };
  digests: { llama: string; qwen: string; mystery: string };
}

/** The config file (with `extraYaml` appended under gateway:) in `dir`. */
export function writeTestConfig(dir: string, o: TestGatewayOptions & { limitedPrincipal?: string } = {}): { config: LoadedConfig; configPath: string } {
  const key = makeTestKey(dir);
  writeFileSync(join(dir, 'policy.cedar'), o.policy ?? POLICY);
  const configPath = join(dir, 'perimeter.yaml');
  writeFileSync(
    configPath,
    `admission:
  trust:
    keys: [${JSON.stringify(key.pubPath)}]
  require:
    scan: clean
gateway:
  enabled: true
  env: prod
  refresh_interval: 60
  policy:
    cedar: [policy.cedar]
    reload_interval: 0
  upstream:
    credentials: { vllm-sim: { api_key_env: PERIMETER_TEST_VLLM_KEY } }
  limits:
    - principal: ${o.limitedPrincipal ?? 'limited'}
      requests_per_minute: 2
  guards:
    input: { secrets: redact, pii: log, injection: log }
    output: { secrets: block, pii: log, injection: off }
    holdback_chars: 128
${o.gatewayYaml ?? ''}`,
  );
  signers.set(configPath, key);
  return { config: loadConfig(configPath), configPath };
}

const signers = new Map<string, ReturnType<typeof makeTestKey>>();

/** Registers, admits and binds the test models on the two simulations, and makes the API keys. */
export async function seedInventory(store: Store, sink: AuditLog, c: { config: LoadedConfig; configPath: string }, sims: { ollama: string; vllm: string }, o: { limitedPrincipal?: string } = {}): Promise<Seeded> {
  const key = signers.get(c.configPath)!;
  const actor = 'test';
  const config = c.config;
  const llama = await addTestArtifact(store, { signer: key.signer, name: 'llama3.1-8b' });
  const qwen = await addTestArtifact(store, { signer: key.signer, name: 'qwen2.5-7b' });
  const mystery = await addTestArtifact(store, { name: 'mystery' }); // unsigned: never admitted
  for (const a of [llama, qwen, mystery]) await admit({ store, sink, config, actor }, { env: 'prod', digest: a.digest });
  await addRuntime(store, sink, { name: 'ollama-sim', kind: 'ollama', url: sims.ollama, env: 'prod' }, actor);
  await addRuntime(store, sink, { name: 'vllm-sim', kind: 'vllm', url: sims.vllm, env: 'prod' }, actor);
  await bindModel(store, sink, { runtime: 'ollama-sim', modelId: 'llama3.1:8b', digest: llama.digest }, actor);
  await bindModel(store, sink, { runtime: 'ollama-sim', modelId: 'mystery:latest', digest: mystery.digest }, actor);
  await bindModel(store, sink, { runtime: 'vllm-sim', modelId: 'qwen2.5-7b', digest: qwen.digest }, actor);
  const mk = async (principal: string, groups: string[]): Promise<string> => (await createApiKey(store, sink, { name: principal, principal, groups, verified: true }, actor)).key;
  const keys = { alice: await mk('alice', ['ml']), bob: await mk('bob', ['ml', 'interns']), limited: await mk(o.limitedPrincipal ?? 'limited', ['ml']), ops: await mk('ops', ['perimeter-admin']) };
  return { ...c, keys, digests: { llama: llama.digest, qwen: qwen.digest, mystery: mystery.digest } };
}

export async function startTestGateway(b: Backend, o: TestGatewayOptions = {}): Promise<TestGateway> {
  const dir = tempDir('perimeter-gw-');
  const c = writeTestConfig(dir, o);
  const store = await openStore(b.target());
  const audit = await AuditLog.open(store, { keyPath: join(dir, 'audit.key'), maxDelayMs: 1 });
  const ollama = await simulateInference({ flavor: 'ollama', models: ['llama3.1:8b', 'mystery:latest'] });
  const vllm = await simulateInference({ flavor: 'vllm', models: ['qwen2.5-7b'] });
  const { config, keys, digests } = await seedInventory(store, audit, c, { ollama: ollama.url, vllm: vllm.url });

  const gateway = await Gateway.open({ config, store, storeUrl: b.name === 'postgres' ? store.location : undefined, audit, dev: o.dev === true, log: pino({ level: 'silent' }) });
  const server = new HttpServer();
  gateway.mount(server);
  const listening: Listening = await server.listen({ host: '127.0.0.1', port: 0 });

  return {
    url: listening.url,
    store,
    audit,
    gateway,
    ollama,
    vllm,
    keys,
    digests,
    dir,
    async requests() {
      await audit.flush();
      const rows = await store.db.selectFrom('audit_entries').select(['entry']).where('type', '=', 'gateway.request').orderBy('idx').execute();
      return rows.map((r) => JSON.parse(r.entry) as { actor: string; subject: string; data: Record<string, unknown> });
    },
    async close() {
      await listening.close();
      await gateway.close();
      await audit.close();
      await Promise.all([ollama.close(), vllm.close()]);
      await store.close();
    },
  };
}
