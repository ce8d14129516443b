/** runtime, admit, serve and doctor as a user runs them: the real launcher in a child process, real files, a real SQLite store, exit codes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { tempDir } from '../../test/helpers.ts';
import { openStore } from '../store/store.ts';
import { addTestArtifact, makeTestKey } from '../policy/test-artifacts.ts';
import { simulateOllama } from '../registry/discovery/test-simulators.ts';
import { singleFileRootDigest } from '../registry/runtimes-match.ts';
import { insertArtifact } from '../policy/test-artifacts.ts';
import { DIGEST_ANNOTATION } from '../policy/webhook.ts';
import { httpsJson, makeTestTls, podReview } from '../server/test-tls.ts';

const BIN = new URL('../../bin/perimeter.js', import.meta.url).pathname;

function sandbox() {
  const home = tempDir('perimeter-cli-');
  const env = { ...process.env, NO_COLOR: '1', XDG_DATA_HOME: join(home, 'data'), XDG_CONFIG_HOME: join(home, 'config'), HOME: home, PERIMETER_DB: '', PERIMETER_CONFIG: '' };
  delete (env as Record<string, string | undefined>).PERIMETER_DB;
  delete (env as Record<string, string | undefined>).PERIMETER_CONFIG;
  // async: the simulated runtimes live in this process and must keep answering while the CLI runs
  const cli = (args: string[], extraEnv: Record<string, string> = {}) =>
    new Promise<{ code: number | null; stdout: string; stderr: string; json: () => any }>((done) => {
      const child = spawn(process.execPath, [BIN, ...args], { env: { ...env, ...extraEnv } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c) => (stdout += c));
      child.stderr.on('data', (c) => (stderr += c));
      child.on('close', (code) => done({ code, stdout, stderr, json: () => JSON.parse(stdout) }));
    });
  return { home, env, cli, db: join(home, 'p.db') };
}

test('doctor: default per-user store, no config, nothing trusted (a warning); an invalid config fails with its problems', async () => {
  const s = sandbox();
  const r = await s.cli(['doctor', '--json']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const checks = Object.fromEntries(r.json().checks.map((c: { name: string }) => [c.name, c]));
  assert.equal(checks.store.details.location, join(s.home, 'data', 'perimeter', 'perimeter.db'));
  assert.equal(checks.store.details.source, 'default per-user file');
  assert.equal(checks.store.details.kind, 'sqlite');
  assert.ok(checks.store.details.applied_now.includes('0004_runtimes_more'));
  assert.equal(checks.config.details.path, null);
  assert.match(checks.trust.warnings[0], /nothing is trusted/);
  assert.equal(checks.node.details.version, process.versions.node);

  const cfg = join(s.home, 'bad.yaml');
  writeFileSync(cfg, 'admission:\n  trust: { keys: [nope.pub] }\n');
  const bad = await s.cli(['doctor', '--config', cfg]);
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, /✘ config: .*bad\.yaml \(--config\) is invalid \[PERIM_E_CONFIG\]\n {4}admission\.trust\.keys\[0\]: file not found/);
  // the same config is a usage error (exit 2) for commands that need it
  const admitBad = await s.cli(['admit', `sha256:${'a'.repeat(64)}`, '--env', 'prod', '--config', cfg, '--db', s.db]);
  assert.equal(admitBad.code, 2);
  assert.match(admitBad.stderr, /PERIM_E_CONFIG.*\n {2}admission\.trust\.keys\[0\]: file not found/);
});

test('runtime add/list/sync/bind against a simulated Ollama: findings exit 1; all admitted exits 0', async (t) => {
  const s = sandbox();
  const weights = createHash('sha256').update('gguf').digest('hex');
  const store = await openStore(s.db);
  await insertArtifact(store, { digest: singleFileRootDigest(weights) });
  await store.close();
  const sim = await simulateOllama([{ name: 'llama3:8b', blobSha256: weights }]);
  t.after(() => sim.close());
  assert.equal((await s.cli(['runtime', 'add', 'gpu-1', '--kind', 'ollama', '--url', sim.url, '--env', 'prod', '--db', s.db])).code, 0);

  const sync = await s.cli(['runtime', 'sync', 'gpu-1', '--db', s.db]);
  assert.equal(sync.code, 1, sync.stderr);
  assert.match(sync.stdout, /✘ gpu-1 \(ollama\): 1 model\(s\), 1 finding\(s\)\n {2}✘ llama3:8b \[not_admitted\] llama3:8b: sha256:\w+ is not admitted for environment prod/);

  const st = await openStore(s.db);
  await st.db.insertInto('admissions').values({ digest: singleFileRootDigest(weights), env: 'prod', allowed: 1, reasons: '[]', decided_at: Date.now() }).execute();
  await st.close();
  const clean = await s.cli(['runtime', 'sync', '--db', s.db, '--json']);
  assert.equal(clean.code, 0);
  assert.deepEqual([clean.json().findings, clean.json().runtimes[0].served[0].artifactDigest], [0, singleFileRootDigest(weights)]);
  const list = await s.cli(['runtime', 'list', '--db', s.db]);
  assert.match(list.stdout, /gpu-1 {2}ollama {2}http:\/\/127\.0\.0\.1:\d+ {2}env=prod {2}synced \d+s ago\n {2}✔ llama3:8b → sha256:/);

  assert.equal((await s.cli(['runtime', 'add', 'tenant', '--kind', 'closed-api', '--url', 'https://api.example.com', '--db', s.db])).code, 0);
  const bind = await s.cli(['runtime', 'bind', 'tenant', 'some-model', `sha256:${'f'.repeat(64)}`, '--db', s.db, '--json']);
  assert.equal(bind.code, 1);
  assert.equal(bind.json().served.finding.code, 'unknown_model');
  await s.cli(['runtime', 'remove', 'tenant', '--db', s.db]);
  sim.mode = 'http-error';
  const failing = await s.cli(['runtime', 'sync', '--db', s.db]);
  assert.equal(failing.code, 2);
  assert.match(failing.stdout, /✘ gpu-1 \(ollama\): \[PERIM_E_RUNTIME_HTTP\]/);
});

test('admit: allow exits 0, deny exits 1 with every reason; --verify-files refuses changed files (the init-container step)', async () => {
  const s = sandbox();
  const key = makeTestKey();
  const cfg = join(s.home, 'perimeter.yaml');
  writeFileSync(cfg, `store: { url: ${s.db} }\nadmission:\n  trust: { keys: [${key.pubPath}] }\n  licenses: { allow: [Apache-2.0] }\n`);
  const store = await openStore(s.db);
  const a = await addTestArtifact(store, { signer: key.signer });
  const dirty = await addTestArtifact(store, { signer: key.signer, scan: 'dangerous' });
  await store.close();

  const ok = await s.cli(['admit', a.digest, '--env', 'production', '--config', cfg]);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /^✔ allow sha256:\w+ \(test-model\) for environment production\n {2}✔ artifact\.known: .*\n {2}– files\.unchanged: .*\n {2}✔ signature\.trusted: signed by key/);
  const init = await s.cli(['admit', a.path, '--digest', a.digest, '--env', 'production', '--verify-files', '--config', cfg, '--json']);
  assert.equal(init.code, 0, init.stdout);
  assert.equal(init.json().decision.reasons.find((r: { check: string }) => r.check === 'files.unchanged').status, 'pass');

  const deny = await s.cli(['admit', dirty.digest, '--env', 'production', '--config', cfg]);
  assert.equal(deny.code, 1);
  assert.match(deny.stdout, /✘ deny .*\n(.*\n)* {2}✘ scan\.verdict: scan verdict dangerous is worse than the limit \(clean\)/);

  writeFileSync(join(a.path, 'model.safetensors'), 'swapped');
  const changed = await s.cli(['admit', a.path, '--digest', a.digest, '--env', 'production', '--verify-files', '--config', cfg, '--json']);
  assert.equal(changed.code, 1);
  const d = changed.json().decision;
  assert.equal(d.allowed, false);
  assert.match(d.reasons.find((r: { check: string }) => r.check === 'files.unchanged').message, /they changed/);
  // PERIMETER_CONFIG works like --config
  const viaEnv = await s.cli(['admit', a.digest, '--env', 'production'], { PERIMETER_CONFIG: cfg });
  assert.equal(viaEnv.code, 0, viaEnv.stdout + viaEnv.stderr);
});

test('serve: HTTPS webhook and /healthz from the real command; SIGTERM stops it cleanly', async (t) => {
  const s = sandbox();
  const key = makeTestKey();
  const tls = makeTestTls();
  const cfg = join(s.home, 'perimeter.yaml');
  writeFileSync(cfg, `admission:\n  trust: { keys: [${key.pubPath}] }\n  namespaces: { ml: production }\n`);
  const store = await openStore(s.db);
  const a = await addTestArtifact(store, { signer: key.signer });
  await store.close();
  const child = spawn(process.execPath, [BIN, 'serve', '--listen', '127.0.0.1:0', '--tls-cert', tls.certPath, '--tls-key', tls.keyPath, '--config', cfg, '--db', s.db, '--json'], { env: s.env });
  const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  t.after(() => child.kill('SIGKILL'));
  const first = await new Promise<string>((resolveLine, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolveLine);
    child.once('exit', () => reject(new Error('serve exited early')));
  });
  const { listening } = JSON.parse(first) as { listening: { url: string; tls: boolean } };
  assert.equal(listening.tls, true);
  assert.equal((await httpsJson(`${listening.url}/healthz`, tls.cert)).json.ok, true);
  const r = await httpsJson(`${listening.url}/admission/validate`, tls.cert, { body: JSON.stringify(podReview({ namespace: 'ml', annotations: { [DIGEST_ANNOTATION]: a.digest } })) });
  assert.equal(r.json.response.allowed, true, JSON.stringify(r.json));
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
  const check = await openStore(s.db);
  const rows = await check.db.selectFrom('admissions').selectAll().execute();
  await check.close();
  assert.deepEqual(rows.map((x) => [x.env, x.allowed]), [['production', 1]]);

  const badTls = await s.cli(['serve', '--listen', '127.0.0.1:0', '--tls-cert', tls.certPath, '--db', s.db]);
  assert.equal(badTls.code, 2);
  assert.equal((await s.cli(['serve', '--listen', 'nowhere', '--db', s.db])).code, 2);
});
