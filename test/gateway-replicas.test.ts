/**
 * Two `perimeter serve` processes (the real launcher) sharing one PostgreSQL store and one Redis,
 * in front of SIMULATED runtimes: a rate limit holds across both, and a kill issued through the
 * admin API of one cuts a stream served by the other within 100 ms. Requires PostgreSQL and Redis
 * (skipped with a message outside CI when absent; CI=true makes their absence a failure).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import OpenAI, { APIError } from 'openai';
import { backends } from './stores.ts';
import { REDIS_URL, redisSkip } from './redis.ts';
import { tempDir } from './helpers.ts';
import { AuditLog } from '../src/audit/log.ts';
import { openStore, type Store } from '../src/store/store.ts';
import { seedInventory, writeTestConfig, type Seeded } from '../src/gateway/test-gateway.ts';
import { simulateInference, type InferenceSimulation } from '../src/gateway/simulated-runtime.ts';

const BIN = new URL('../bin/perimeter.js', import.meta.url).pathname;
const pg = (await backends()).find((b) => b.name === 'postgres')!;
const skip = pg.skip ?? (await redisSkip());

interface Replica {
  url: string;
  child: ChildProcess;
}

function startReplica(args: string[], env: NodeJS.ProcessEnv): Promise<Replica> {
  const child = spawn(process.execPath, [BIN, 'serve', '--listen', '127.0.0.1:0', '--json', ...args], { env: { ...process.env, ...env, PERIMETER_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`replica did not start in 20 s: ${stderr}`)), 20_000);
    child.once('exit', (code) => reject(new Error(`replica exited ${code}: ${stderr}`)));
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      resolve({ url: JSON.parse(line).listening.url, child });
    });
  });
}

const ai = (url: string, apiKey: string): OpenAI => new OpenAI({ apiKey, baseURL: `${url}/v1`, maxRetries: 0, timeout: 10_000 });

describe('two gateway replicas on one PostgreSQL and one Redis', { skip }, () => {
  let store: Store;
  let seeded: Seeded;
  let ollama: InferenceSimulation;
  let vllm: InferenceSimulation;
  const replicas: Replica[] = [];

  before(async () => {
    const dir = tempDir('perimeter-replicas-');
    const limitedPrincipal = `limited-${randomBytes(4).toString('hex')}`; // Redis keys are shared between runs
    const c = writeTestConfig(dir, { gatewayYaml: `  redis: ${REDIS_URL}\n`, limitedPrincipal });
    const target = pg.target();
    store = await openStore(target);
    const env = { PERIMETER_AUDIT_KEY: join(dir, 'audit.key'), XDG_DATA_HOME: dir };
    const audit = await AuditLog.open(store, { keyPath: env.PERIMETER_AUDIT_KEY });
    ollama = await simulateInference({ flavor: 'ollama', models: ['llama3.1:8b', 'mystery:latest'] });
    vllm = await simulateInference({ flavor: 'vllm', models: ['qwen2.5-7b'] });
    seeded = await seedInventory(store, audit, c, { ollama: ollama.url, vllm: vllm.url }, { limitedPrincipal });
    await audit.close();
    const args = ['--config', c.configPath, '--db', target];
    replicas.push(await startReplica(args, env), await startReplica(args, env));
  });

  after(async () => {
    for (const r of replicas) r.child.kill('SIGTERM');
    await Promise.all(replicas.map((r) => new Promise((done) => (r.child.exitCode !== null ? done(null) : r.child.once('exit', done)))));
    await Promise.all([ollama?.close(), vllm?.close()]);
    await store?.close();
  });

  test('a requests-per-minute limit holds across both replicas', async () => {
    const [a, b] = replicas;
    const ask = (url: string) => ai(url, seeded.keys.limited).chat.completions.create({ model: 'llama3.1:8b', messages: [{ role: 'user', content: 'hi' }] });
    await ask(a!.url);
    await ask(b!.url); // the second of two allowed, on the other replica
    for (const r of [a!, b!]) {
      const e = await ask(r.url).then(() => undefined, (x: unknown) => x);
      assert.ok(e instanceof APIError && e.status === 429, `replica ${r.url} let a third request through`);
      assert.equal(e.code, 'PERIM_E_RATE_LIMITED');
    }
  });

  test('a kill through one replica cuts a stream on the other within 100 ms', async (t) => {
    const [a, b] = replicas;
    vllm.script = { deltas: Array.from({ length: 500 }, (_, i) => `w${i} `), delayMs: 10 };
    try {
      const stream = await ai(b!.url, seeded.keys.alice).chat.completions.create({ model: 'qwen2.5-7b', messages: [{ role: 'user', content: 'talk' }], stream: true });
      let sent = 0;
      let error: unknown;
      let chars = 0;
      try {
        for await (const chunk of stream) {
          chars += chunk.choices[0]?.delta?.content?.length ?? 0;
          if (chars > 300 && sent === 0) {
            sent = performance.now();
            const r = await fetch(`${a!.url}/admin/kill`, { method: 'POST', headers: { authorization: `Bearer ${seeded.keys.ops}`, 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'model', id: 'qwen2.5-7b', reason: 'replica test' }) });
            assert.equal(r.status, 200, await r.text());
          }
        }
      } catch (e) {
        error = e;
      }
      const ms = performance.now() - sent;
      assert.ok(error instanceof APIError, `the stream was not cut with an error event: ${error}`);
      assert.equal(error.code, 'PERIM_E_KILLED');
      t.diagnostic(`stream cut ${ms.toFixed(1)} ms after the kill request was sent to the other replica`);
      assert.ok(ms < 100, `the stream was cut ${ms.toFixed(1)} ms after the kill was issued on the other replica`);
      // Refused on both replicas now; revived through the other one, allowed again.
      for (const r of [a!, b!]) {
        const e = await ai(r.url, seeded.keys.alice).chat.completions.create({ model: 'qwen2.5-7b', messages: [{ role: 'user', content: 'hi' }] }).then(() => undefined, (x: unknown) => x);
        assert.ok(e instanceof APIError && e.code === 'PERIM_E_KILLED');
      }
      const rv = await fetch(`${b!.url}/admin/revive`, { method: 'POST', headers: { authorization: `Bearer ${seeded.keys.ops}`, 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'model', id: 'qwen2.5-7b' }) });
      assert.equal(rv.status, 200);
      vllm.script = {};
      await new Promise((r) => setTimeout(r, 100));
      await ai(a!.url, seeded.keys.alice).chat.completions.create({ model: 'qwen2.5-7b', messages: [{ role: 'user', content: 'hi' }] });
    } finally {
      vllm.script = {};
    }
  });

  test('the admin API refuses principals outside the admin group', async () => {
    const r = await fetch(`${replicas[0]!.url}/admin/kill`, { method: 'POST', headers: { authorization: `Bearer ${seeded.keys.alice}`, 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'model', id: 'llama3.1:8b' }) });
    assert.equal(r.status, 403);
    assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'PERIM_E_POLICY_DENIED');
  });
});
