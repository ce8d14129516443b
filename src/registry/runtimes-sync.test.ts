/** Discovery against SIMULATED Ollama / vLLM / llama.cpp / OpenAI servers over real HTTP, on both store backends. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MemorySink } from '../audit/events.ts';
import { backends } from '../../test/stores.ts';
import { makeTree } from '../../test/helpers.ts';
import { hashModel } from '../artifact/hash.ts';
import type { Store } from '../store/store.ts';
import { insertArtifact } from '../policy/test-artifacts.ts';
import { simulateLlamacpp, simulateOllama, simulateOpenai, simulateVllm } from './discovery/test-simulators.ts';
import { addRuntime, bindModel, getRuntime } from './runtimes.ts';
import { syncRuntimes } from './runtimes-sync.ts';
import { singleFileRootDigest } from './runtimes-match.ts';

const sha = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');
const fake = (c: string): string => `sha256:${c.repeat(64)}`;

async function allow(store: Store, digest: string, env: string, allowed = true): Promise<void> {
  await store.db.insertInto('admissions').values({ digest, env, allowed: allowed ? 1 : 0, reasons: '[]', decided_at: Date.now() }).execute();
}

const byId = (served: { modelId: string; finding: { code: string } | null }[]) => Object.fromEntries(served.map((s) => [s.modelId, s.finding?.code ?? 'ok']));

for (const b of await backends()) {
  test(`${b.name}: Ollama: blobs match artifacts by file sha256; unknown and unadmitted models are findings, recorded once`, { skip: b.skip }, async (t) => {
    const store = await b.open();
    const sink = new MemorySink();
    const llama = sha('llama weights');
    const qwen = sha('qwen weights');
    const lora = sha('lora weights');
    // a single-file GGUF artifact: its root digest is the OMS root over the file's sha256
    await insertArtifact(store, { digest: singleFileRootDigest(llama), name: 'llama3' });
    await allow(store, singleFileRootDigest(llama), 'production');
    // an artifact that recorded the GGUF's sha256 in its metadata
    await insertArtifact(store, { digest: fake('a'), name: 'qwen', metadata: { file_sha256: qwen } });
    await allow(store, fake('a'), 'staging');
    const sim = await simulateOllama([
      { name: 'llama3:8b', blobSha256: llama },
      { name: 'qwen:7b', blobSha256: qwen },
      { name: 'mystery:latest', blobSha256: sha('who knows') },
      { name: 'llama3-lora:8b', blobSha256: llama, adapterSha256: [lora] },
    ]);
    t.after(() => sim.close());
    await addRuntime(store, sink, { name: 'gpu-1', kind: 'ollama', url: sim.url, env: 'production' });

    const r1 = await syncRuntimes(store, sink);
    assert.equal(r1.errors, 0);
    const rt = r1.runtimes[0]!;
    assert.deepEqual(byId(rt.served), { 'llama3:8b': 'ok', 'qwen:7b': 'not_admitted', 'mystery:latest': 'unknown_model', 'llama3-lora:8b': 'unknown_model' });
    assert.equal(r1.findings, 3);
    const q = rt.served.find((s) => s.modelId === 'qwen:7b')!;
    assert.equal(q.servedDigest, `sha256:${qwen}`);
    assert.equal(q.artifactDigest, fake('a'));
    assert.match(q.finding!.message, /not admitted for environment production/);
    assert.match(rt.served.find((s) => s.modelId === 'llama3-lora:8b')!.finding!.message, /adapter weights file/);
    assert.equal(rt.served.find((s) => s.modelId === 'llama3:8b')!.details.quantization_level, 'Q4_K_M');
    assert.ok(sim.requests.includes('GET /api/tags') && sim.requests.filter((x) => x === 'POST /api/show').length === 4);
    assert.equal(sink.events.filter((e) => e.type === 'runtime.finding').length, 3);

    // stored with the served rows
    const stored = await getRuntime(store, 'gpu-1');
    assert.deepEqual(byId(stored.served), byId(rt.served));
    assert.ok(stored.lastSyncAt && stored.lastSyncError === null);

    // the same findings again are not new events; admitting clears one, with a resolved event
    await syncRuntimes(store, sink);
    assert.equal(sink.events.filter((e) => e.type === 'runtime.finding').length, 3);
    await allow(store, fake('a'), 'production');
    const r3 = await syncRuntimes(store, sink, { names: ['gpu-1'] });
    assert.equal(byId(r3.runtimes[0]!.served)['qwen:7b'], 'ok');
    assert.equal(sink.events.filter((e) => e.type === 'runtime.finding_resolved').length, 1);
    // a later deny is the latest decision: not admitted again
    await allow(store, fake('a'), 'production', false);
    assert.equal(byId((await syncRuntimes(store, sink)).runtimes[0]!.served)['qwen:7b'], 'not_admitted');
  });

  test(`${b.name}: vLLM: local roots are hashed and matched, hub ids need a binding, LoRA adapters are models too`, { skip: b.skip }, async (t) => {
    const store = await b.open();
    const sink = new MemorySink();
    const base = makeTree({ 'model.safetensors': 'base weights', 'config.json': '{}' });
    const adapter = makeTree({ 'adapter_model.safetensors': 'lora', 'adapter_config.json': '{}' });
    const baseDigest = (await hashModel(base)).manifest.rootDigest;
    await insertArtifact(store, { digest: baseDigest, path: base });
    await allow(store, baseDigest, 'prod');
    const sim = await simulateVllm([
      { id: 'base', root: base },
      { id: 'sql-lora', root: adapter, parent: 'base' },
      { id: 'meta-llama/Llama-3.1-8B-Instruct', root: 'meta-llama/Llama-3.1-8B-Instruct' },
      { id: 'elsewhere', root: '/nonexistent/models/x' },
    ]);
    t.after(() => sim.close());
    await addRuntime(store, sink, { name: 'vllm-a', kind: 'vllm', url: `${sim.url}/` });
    const r = (await syncRuntimes(store, sink)).runtimes[0]!;
    assert.deepEqual(byId(r.served), { base: 'ok', 'sql-lora': 'unknown_model', 'meta-llama/Llama-3.1-8B-Instruct': 'unknown_model', elsewhere: 'unknown_model' });
    const byModel = Object.fromEntries(r.served.map((s) => [s.modelId, s]));
    assert.equal(byModel.base!.artifactDigest, baseDigest);
    assert.equal(byModel['sql-lora']!.details.parent, 'base');
    assert.match(byModel['meta-llama/Llama-3.1-8B-Instruct']!.finding!.message, /not a local path; bind it: perimeter runtime bind vllm-a/);
    assert.match(byModel.elsewhere!.finding!.message, /cannot read \/nonexistent\/models\/x from here/);

    // hub ids enter the inventory by binding; a binding of an unadmitted artifact is a finding
    await insertArtifact(store, { digest: fake('c'), name: 'llama-3.1-8b' });
    const bound = await bindModel(store, sink, { runtime: 'vllm-a', modelId: 'meta-llama/Llama-3.1-8B-Instruct', digest: fake('c') });
    assert.equal(bound.finding?.code, 'not_admitted', 'runtime without env: admitted nowhere yet');
    await allow(store, fake('c'), 'anything');
    const r2 = (await syncRuntimes(store, sink)).runtimes[0]!;
    assert.equal(byId(r2.served)['meta-llama/Llama-3.1-8B-Instruct'], 'ok');
    // a binding that contradicts what discovery sees is a mismatch
    await bindModel(store, sink, { runtime: 'vllm-a', modelId: 'base', digest: fake('c') });
    assert.equal(byId((await syncRuntimes(store, sink)).runtimes[0]!.served).base, 'mismatch');

    // the weights changed on disk: a new digest, unknown
    const before = byModel.base!.details.hash as { fingerprint: string };
    writeFileSync(join(base, 'model.safetensors'), 'swapped weights');
    await store.db.deleteFrom('served_models').where('model_id', '=', 'base').execute();
    const r3 = (await syncRuntimes(store, sink)).runtimes[0]!;
    const after = r3.served.find((s) => s.modelId === 'base')!;
    assert.equal(after.finding?.code, 'unknown_model');
    assert.notEqual((after.details.hash as { fingerprint: string }).fingerprint, before.fingerprint);
  });
}

test('llama.cpp: model_path is hashed; the id comes from /v1/models, or the file name on builds without it', async (t) => {
  const [b] = await backends();
  const store = await b!.open();
  const sink = new MemorySink();
  const dir = makeTree({ 'Meta-Llama-3-8B.Q4_K_M.gguf': 'GGUF llama weights' });
  const file = join(dir, 'Meta-Llama-3-8B.Q4_K_M.gguf');
  const digest = (await hashModel(file)).manifest.rootDigest;
  assert.equal(digest, singleFileRootDigest(sha('GGUF llama weights')));
  await insertArtifact(store, { digest, path: file });
  await allow(store, digest, 'prod');
  const modern = await simulateLlamacpp({ modelPath: file, alias: 'llama3' });
  const legacy = await simulateLlamacpp({ modelPath: file, legacy: true });
  t.after(() => Promise.all([modern.close(), legacy.close()]));
  await addRuntime(store, sink, { name: 'cpp-new', kind: 'llamacpp', url: modern.url, env: 'prod' });
  await addRuntime(store, sink, { name: 'cpp-old', kind: 'llamacpp', url: legacy.url, env: 'prod' });
  const r = await syncRuntimes(store, sink);
  assert.equal(r.errors, 0, JSON.stringify(r.runtimes.map((x) => x.error)));
  assert.deepEqual(r.runtimes.map((x) => byId(x.served)), [{ llama3: 'ok' }, { 'Meta-Llama-3-8B.Q4_K_M.gguf': 'ok' }]);
  assert.equal(r.runtimes[0]!.served[0]!.details.n_ctx, 4096);
});

test('a runtime that is slow, errors, answers garbage or is down becomes a clear per-runtime error; the others still sync', async (t) => {
  const [b] = await backends();
  const store = await b!.open();
  const sink = new MemorySink();
  const good = await simulateOpenai(['gpt-oss-20b']);
  const sims = await Promise.all([simulateOllama([]), simulateVllm([]), simulateLlamacpp({ modelPath: '/m.gguf' }), simulateVllm([])]);
  const down = await simulateVllm([]);
  await down.close();
  t.after(() => Promise.all([good.close(), ...sims.map((s) => s.close())]));
  sims[0]!.mode = 'slow';
  sims[1]!.mode = 'http-error';
  sims[2]!.mode = 'not-json';
  sims[3]!.mode = 'wrong-shape';
  await addRuntime(store, sink, { name: 'a-slow', kind: 'ollama', url: sims[0]!.url });
  await addRuntime(store, sink, { name: 'b-500', kind: 'vllm', url: sims[1]!.url });
  await addRuntime(store, sink, { name: 'c-html', kind: 'llamacpp', url: sims[2]!.url });
  await addRuntime(store, sink, { name: 'd-shape', kind: 'vllm', url: sims[3]!.url });
  await addRuntime(store, sink, { name: 'e-down', kind: 'vllm', url: down.url });
  await addRuntime(store, sink, { name: 'f-good', kind: 'openai', url: good.url });
  const t0 = Date.now();
  const r = await syncRuntimes(store, sink, { timeoutMs: 300 });
  assert.ok(Date.now() - t0 < 3000);
  const err = Object.fromEntries(r.runtimes.map((x) => [x.runtime, x.error?.code ?? 'ok']));
  assert.deepEqual(err, {
    'a-slow': 'PERIM_E_RUNTIME_UNREACHABLE',
    'b-500': 'PERIM_E_RUNTIME_HTTP',
    'c-html': 'PERIM_E_RUNTIME_RESPONSE',
    'd-shape': 'PERIM_E_RUNTIME_RESPONSE',
    'e-down': 'PERIM_E_RUNTIME_UNREACHABLE',
    'f-good': 'ok',
  });
  assert.equal(r.errors, 5);
  const messages = Object.fromEntries(r.runtimes.map((x) => [x.runtime, x.error?.message ?? '']));
  assert.match(messages['a-slow']!, /no answer within 300 ms/);
  assert.match(messages['b-500']!, /answered 500/);
  assert.match(messages['d-shape']!, /unexpected answer at \.data\[0\]\.id/);
  assert.match(messages['e-down']!, /ECONNREFUSED/);
  assert.match((await getRuntime(store, 'b-500')).lastSyncError!, /^\[PERIM_E_RUNTIME_HTTP\]/);
  assert.equal(sink.events.filter((e) => e.type === 'runtime.sync_error').length, 5);
  // the OpenAI endpoint's unbound model is a finding
  assert.match(r.runtimes.find((x) => x.runtime === 'f-good')!.findings[0]!.message, /does not say which weights.*bind it/);
});

test('closed-API tenants are never called: their models exist only as bindings, re-evaluated at each sync', async () => {
  const [b] = await backends();
  const store = await b!.open();
  const sink = new MemorySink();
  await addRuntime(store, sink, { name: 'tenant', kind: 'closed-api', url: 'https://127.0.0.1:1/never-called', env: 'prod' });
  const bound = await bindModel(store, sink, { runtime: 'tenant', modelId: 'claude-x', digest: fake('d') });
  assert.equal(bound.finding?.code, 'unknown_model');
  await insertArtifact(store, { digest: fake('d') });
  await allow(store, fake('d'), 'prod');
  const r = await syncRuntimes(store, sink);
  assert.deepEqual([r.errors, r.findings], [0, 0]);
  assert.equal(r.runtimes[0]!.served[0]!.artifactDigest, fake('d'));
});
