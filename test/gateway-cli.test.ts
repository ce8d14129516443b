/**
 * `perimeter serve --upstream URL` as a user first runs it (the real launcher, a SIMULATED
 * OpenAI-compatible runtime): with --dev it serves the upstream's unbound models with a loud
 * warning and no credentials; without --dev an unbound model is refused until it is bound to an
 * admitted artifact, and a key made with `perimeter keys create` authenticates.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { tempDir } from './helpers.ts';
import { simulateInference, type InferenceSimulation } from '../src/gateway/simulated-runtime.ts';

const BIN = new URL('../bin/perimeter.js', import.meta.url).pathname;
const children: ChildProcess[] = [];
const sims: InferenceSimulation[] = [];
after(async () => {
  for (const c of children) c.kill('SIGTERM');
  await Promise.all(sims.map((s) => s.close()));
});

function env(dir: string): NodeJS.ProcessEnv {
  return { ...process.env, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir, NO_COLOR: '1', PERIMETER_LOG_LEVEL: 'warn' };
}

function serve(args: string[], dir: string): Promise<{ url: string; stderr: () => string }> {
  const child = spawn(process.execPath, [BIN, 'serve', '--listen', '127.0.0.1:0', '--json', ...args], { env: env(dir), stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${err}`)));
    createInterface({ input: child.stdout! }).once('line', (line) => resolve({ url: JSON.parse(line).listening.url, stderr: () => err }));
  });
}

const chat = (url: string, headers: Record<string, string> = {}) =>
  fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ model: 'm1', messages: [{ role: 'user', content: 'hi' }] }) });

test('serve --upstream --dev: serves unbound models without credentials, and says so loudly', async () => {
  const sim = await simulateInference({ flavor: 'vllm', models: ['m1'] });
  sims.push(sim);
  const dir = tempDir('perimeter-serve-dev-');
  const s = await serve(['--upstream', sim.url, '--dev'], dir);
  const r = await chat(s.url);
  assert.equal(r.status, 200, await r.clone().text());
  assert.equal(((await r.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content, 'Hello from the simulated vllm.');
  assert.match(r.headers.get('x-perimeter-warning') ?? '', /dev mode/);
  assert.match(s.stderr(), /WARNING: --dev is on/);
  const models = (await (await fetch(`${s.url}/v1/models`)).json()) as { data: Array<{ id: string }> };
  assert.deepEqual(models.data.map((m) => m.id), ['m1']);
});

test('serve --upstream without --dev: a key authenticates, and an unbound model is refused with the reason', async () => {
  const sim = await simulateInference({ flavor: 'vllm', models: ['m1'] });
  sims.push(sim);
  const dir = tempDir('perimeter-serve-');
  const db = join(dir, 'perimeter.db');
  const made = spawnSync(process.execPath, [BIN, 'keys', 'create', 'app', '--principal', 'app', '--db', db, '--json'], { env: env(dir), encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  const key = (JSON.parse(made.stdout) as { key: string }).key;
  const s = await serve(['--upstream', sim.url, '--db', db], dir);
  const none = await chat(s.url);
  assert.equal(none.status, 401);
  const r = await chat(s.url, { authorization: `Bearer ${key}` });
  assert.equal(r.status, 403);
  const body = (await r.json()) as { error: { code: string; message: string } };
  assert.equal(body.error.code, 'PERIM_E_MODEL_NOT_ADMITTED');
  assert.match(body.error.message, /perimeter runtime bind/);
  assert.equal(sim.received.length, 0, 'an unadmitted model reached the runtime');
});
