/** perimeter kill / revive / kill --list as a user runs them (the real launcher in a child process), seen by a running kill-switch. */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../test/helpers.ts';
import { backends } from '../../test/stores.ts';
import { REDIS_URL, redisSkip } from '../../test/redis.ts';
import { openStore } from '../store/store.ts';
import { LiveKillSwitch } from '../gateway/killswitch/live.ts';
import type { KillEvent } from '../gateway/types.ts';

const BIN = new URL('../../bin/perimeter.js', import.meta.url).pathname;

function sandbox() {
  const home = tempDir('perimeter-kill-cli-');
  const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: '1', XDG_DATA_HOME: join(home, 'data'), XDG_CONFIG_HOME: join(home, 'config'), HOME: home };
  delete env.PERIMETER_DB;
  delete env.PERIMETER_CONFIG;
  const cli = (args: string[]) =>
    new Promise<{ code: number | null; stdout: string; stderr: string; json: () => any }>((done) => {
      const child = spawn(process.execPath, [BIN, ...args], { env });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c) => (stdout += c));
      child.stderr.on('data', (c) => (stderr += c));
      child.on('close', (code) => done({ code, stdout, stderr, json: () => JSON.parse(stdout) }));
    });
  return { home, cli, db: join(home, 'p.db') };
}

const subject = (o: { model?: string; principal?: string; runtime?: string }) => ({ model: o.model ?? '-', digest: null, principal: o.principal ?? '-', runtime: o.runtime ?? '-' });

async function until(f: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('kill, list, revive on SQLite: exit codes, JSON, audit entries, and a running kill-switch sees each change', async () => {
  const s = sandbox();
  const first = await s.cli(['kill', 'model', 'llama3:8b', '--reason', 'jailbreak wave', '--db', s.db, '--json']);
  assert.equal(first.code, 0, first.stdout + first.stderr);
  const j = first.json();
  assert.equal(j.created, true);
  assert.equal(j.kill.kind, 'model');
  assert.equal(j.kill.id, 'llama3:8b');
  assert.equal(j.kill.reason, 'jailbreak wave');
  assert.match(j.kill.actor, /^cli:/);
  assert.deepEqual(j.broadcast, { via: ['sqlite'] });

  const store = await openStore(s.db);
  after(() => store.close());
  const ks = await LiveKillSwitch.open({ store, reloadMs: 60_000 });
  after(() => ks.close());
  const heard: KillEvent[] = [];
  ks.onKill((k) => heard.push(k));
  assert.ok(ks.killed(subject({ model: 'llama3:8b' })), 'loaded at open');

  const again = await s.cli(['kill', 'model', 'llama3:8b', '--db', s.db]);
  assert.equal(again.code, 0);
  assert.match(again.stdout, /model llama3:8b was already killed \(since \d{4}-\d\d-\d\dT[\d:]+Z by cli:/);

  const p = await s.cli(['kill', 'principal', 'mallory', '--db', s.db]);
  assert.equal(p.code, 0, p.stderr);
  assert.match(p.stdout, /✔ killed principal mallory\n/);
  await until(() => ks.killed(subject({ principal: 'mallory' })) !== undefined, 2000);
  assert.deepEqual(heard.map((k) => k.id), ['mallory']);

  const list = await s.cli(['kill', '--list', '--db', s.db, '--json']);
  assert.equal(list.code, 0);
  assert.deepEqual(list.json().kills.map((k: { kind: string; id: string }) => `${k.kind}:${k.id}`), ['principal:mallory', 'model:llama3:8b']);
  const listWord = await s.cli(['kill', 'list', '--db', s.db]);
  assert.match(listWord.stdout, /^killed {2}principal mallory {2}since .* by cli:.*\nkilled {2}model llama3:8b {2}since .* "jailbreak wave"\n$/);

  const rev = await s.cli(['revive', 'model', 'llama3:8b', '--db', s.db]);
  assert.equal(rev.code, 0, rev.stderr);
  assert.match(rev.stdout, /✔ revived model llama3:8b/);
  await until(() => ks.killed(subject({ model: 'llama3:8b' })) === undefined, 2000);
  const twice = await s.cli(['revive', 'model', 'llama3:8b', '--db', s.db, '--json']);
  assert.equal(twice.code, 2);
  assert.equal(twice.json().error.code, 'PERIM_E_NOT_FOUND');

  const active = await s.cli(['kill', '--list', '--db', s.db, '--json']);
  assert.deepEqual(active.json().kills.map((k: { id: string }) => k.id), ['mallory']);
  const all = await s.cli(['kill', '--list', '--all', '--db', s.db]);
  assert.match(all.stdout, /revived .* by cli:.*model llama3:8b/);

  const bad = await s.cli(['kill', 'tenant', 'x', '--db', s.db]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /PERIM_E_USAGE.*model, principal or runtime, not "tenant"/);
  assert.equal((await s.cli(['kill', 'model', '--db', s.db])).code, 2);
  assert.equal((await s.cli(['revive', 'model', '--db', s.db])).code, 2);

  const types = (await store.db.selectFrom('audit_entries').select('type').orderBy('idx').execute()).map((r) => r.type);
  assert.deepEqual(types, ['gateway.kill', 'gateway.kill', 'gateway.revive']);
});

const pg = (await backends()).find((b) => b.name === 'postgres')!;
const redisSkipReason = await redisSkip();

test('PostgreSQL store with gateway.redis configured: the CLI notifies both carriers', { skip: pg.skip ?? redisSkipReason }, async () => {
  const s = sandbox();
  const target = pg.target();
  const cfg = join(s.home, 'perimeter.yaml');
  writeFileSync(cfg, `gateway:\n  redis: ${REDIS_URL}\n`);
  const storeA = await openStore(target);
  const storeB = await openStore(target);
  after(async () => {
    await storeA.close();
    await storeB.close();
  });
  // A hears only PostgreSQL NOTIFY, B only Redis; neither reloads on its own during the test.
  const a = await LiveKillSwitch.open({ store: storeA, postgres: target, reloadMs: 60_000 });
  const b = await LiveKillSwitch.open({ store: storeB, redis: REDIS_URL, reloadMs: 60_000 });
  after(async () => {
    await a.close();
    await b.close();
  });
  const r = await s.cli(['kill', 'runtime', 'gpu-9', '--config', cfg, '--db', target, '--json']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.deepEqual(r.json().broadcast, { via: ['redis', 'postgres'] });
  await until(() => a.killed(subject({ runtime: 'gpu-9' })) !== undefined && b.killed(subject({ runtime: 'gpu-9' })) !== undefined, 3000);
  const rev = await s.cli(['revive', 'runtime', 'gpu-9', '--config', cfg, '--db', target]);
  assert.equal(rev.code, 0, rev.stderr);
  assert.match(rev.stdout, /gateways notified via redis and postgres/);
  await until(() => a.killed(subject({ runtime: 'gpu-9' })) === undefined && b.killed(subject({ runtime: 'gpu-9' })) === undefined, 3000);
});
