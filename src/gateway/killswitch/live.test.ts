/**
 * LiveKillSwitch across two instances on each transport: SQLite (folder watch + polling),
 * PostgreSQL (LISTEN/NOTIFY) and Redis (pub/sub). Propagation is measured end to end, from A's
 * kill() call to B's onKill listener, over 200 kills.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { MemorySink } from '../../audit/events.ts';
import { openStore, type Store } from '../../store/store.ts';
import { tempDir } from '../../../test/helpers.ts';
import pg from 'pg';
import { PG_URL, backends } from '../../../test/stores.ts';
import { REDIS_URL, redisPrefix, redisSkip } from '../../../test/redis.ts';
import type { KillEvent, RequestSubject } from '../types.ts';
import { publishKillChange } from './broadcast.ts';
import { LiveKillSwitch, type LiveKillSwitchOptions } from './live.ts';
import { kill } from './store.ts';

const pgBackend = (await backends()).find((b) => b.name === 'postgres')!;
const redisSkipReason = await redisSkip();

interface Transport {
  name: string;
  skip: string | undefined;
  /** Options for one more instance on the shared store and carrier (a new store connection each). */
  setup(): { target: string; options: (store: Store) => Partial<LiveKillSwitchOptions>; publisher?: () => Redis; cut?: (id: string) => Promise<void> };
}

/** Drops the listening connection of instance `id` from the server side. */
async function cutPostgres(id: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  const r = await c.query('select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1', [`perimeter-kills-${id}`]);
  await c.end();
  assert.equal(r.rowCount, 1);
}
async function cutRedis(id: string): Promise<void> {
  const r = new Redis(REDIS_URL);
  const line = ((await r.client('LIST')) as string).split('\n').find((l) => l.includes(` name=perimeter-kills-${id} `));
  assert.ok(line, 'the subscriber connection is there');
  await r.client('KILL', 'ID', /\bid=(\d+)/.exec(line)![1]!);
  r.disconnect();
}

const TRANSPORTS: Transport[] = [
  { name: 'sqlite (watch + poll)', skip: undefined, setup: () => ({ target: join(tempDir('perimeter-ks-'), 'p.db'), options: () => ({}) }) },
  { name: 'postgres (LISTEN/NOTIFY)', skip: pgBackend.skip, setup: () => {
    const target = pgBackend.target();
    return { target, options: () => ({ postgres: target }), cut: cutPostgres };
  } },
  { name: 'redis (pub/sub)', skip: redisSkipReason, setup: () => {
    const channel = `${redisPrefix()}kills`;
    return { target: join(tempDir('perimeter-ks-'), 'p.db'), options: () => ({ redis: REDIS_URL, channel }), publisher: () => new Redis(REDIS_URL), channel, cut: cutRedis };
  } },
];

const subject = (over: Partial<RequestSubject>): RequestSubject => ({ model: 'none', digest: null, principal: 'nobody', runtime: 'none', ...over });
const quantile = (xs: number[], q: number): number => xs.toSorted((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(q * xs.length) - 1)]!;

async function until(f: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 2));
  }
}

for (const tr of TRANSPORTS) {
  describe(`LiveKillSwitch: ${tr.name}`, { skip: tr.skip }, () => {
    const closing: (() => Promise<void>)[] = [];
    after(async () => {
      for (const c of closing.reverse()) await c().catch(() => {});
    });
    const env = tr.setup();
    const open = async (o: Partial<LiveKillSwitchOptions> = {}) => {
      const store = await openStore(env.target);
      const ks = await LiveKillSwitch.open({ store, ...env.options(store), ...o });
      closing.push(() => store.close(), () => ks.close());
      return { store, ks };
    };

    test('kills on A reach B (onKill and killed()) fast; revive clears; outside writers; restart; audit', async (t) => {
      const sinkA = new MemorySink();
      const a = await open({ sink: sinkA });
      const b = await open();
      const seenB: KillEvent[] = [];
      const seenA: KillEvent[] = [];
      const waiting = new Map<string, () => void>();
      b.ks.onKill((k) => {
        seenB.push(k);
        assert.ok(b.ks.killed(subject({ [k.kind === 'model' ? 'model' : k.kind]: k.id })), 'killed() agrees inside the listener');
        waiting.get(k.id)?.();
      });
      a.ks.onKill((k) => seenA.push(k));

      const latencies: number[] = [];
      for (let i = 0; i < 200; i++) {
        const id = `model-${i}`;
        const seen = new Promise<void>((r) => waiting.set(id, r));
        const t0 = performance.now();
        await a.ks.kill({ kind: 'model', id }, { actor: 'test', reason: `wave ${i}` });
        await Promise.race([seen, new Promise((_, reject) => setTimeout(() => reject(new Error(`${id} not seen by B in 5 s`)), 5000))]);
        latencies.push(performance.now() - t0);
      }
      const p50 = quantile(latencies, 0.5);
      const p99 = quantile(latencies, 0.99);
      t.diagnostic(`${tr.name}: propagation over 200 kills p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${Math.max(...latencies).toFixed(1)} ms`);
      assert.ok(p99 < 100, `p99 ${p99} ms`);
      assert.equal(seenA.length, 200, 'A hears its own kills once');

      // other kinds: digest, principal, runtime
      await a.ks.kill({ kind: 'model', id: `sha256:${'d'.repeat(64)}` }, { actor: 'test' });
      await a.ks.kill({ kind: 'principal', id: 'mallory' }, { actor: 'test' });
      await a.ks.kill({ kind: 'runtime', id: 'gpu-7' }, { actor: 'test' });
      await until(() => seenB.length === 203);
      assert.equal(b.ks.killed(subject({ model: 'fine', digest: `sha256:${'d'.repeat(64)}` }))?.kind, 'model');
      assert.equal(b.ks.killed(subject({ principal: 'mallory' }))?.id, 'mallory');
      assert.equal(b.ks.killed(subject({ runtime: 'gpu-7' }))?.kind, 'runtime');
      assert.equal(b.ks.killed(subject({ model: 'model-x', principal: 'alice', runtime: 'gpu-1' })), undefined);

      // revive clears on both
      const t0 = performance.now();
      await a.ks.revive({ kind: 'model', id: 'model-0' }, { actor: 'test' });
      assert.equal(a.ks.killed(subject({ model: 'model-0' })), undefined);
      await until(() => b.ks.killed(subject({ model: 'model-0' })) === undefined);
      t.diagnostic(`${tr.name}: revive seen by B after ${(performance.now() - t0).toFixed(1)} ms`);
      assert.ok(b.ks.killed(subject({ model: 'model-1' })));

      // a writer that is not a LiveKillSwitch (the CLI): store functions, then the broadcast
      const cli = await openStore(env.target);
      closing.push(() => cli.close());
      const redis = env.publisher?.();
      if (redis) closing.push(async () => redis.disconnect());
      await kill(cli, new MemorySink(), { kind: 'principal', id: 'eve' }, { actor: 'cli:ops' });
      await publishKillChange({ op: 'kill', kind: 'principal', id: 'eve', actor: 'cli:ops', at: Date.now(), origin: 'cli' }, { store: cli, redis, channel: (env as { channel?: string }).channel });
      await until(() => b.ks.killed(subject({ principal: 'eve' })) !== undefined && a.ks.killed(subject({ principal: 'eve' })) !== undefined);

      await new Promise((r) => setTimeout(r, 150)); // a poll or two more: still no duplicate events
      assert.equal(seenB.length, 204);
      assert.equal(new Set(seenB.map((k) => `${k.kind}:${k.id}`)).size, 204);

      // restart: a new instance loads what is active
      await b.ks.close();
      const c = await open();
      assert.ok(c.ks.killed(subject({ model: 'model-199' })));
      assert.ok(c.ks.killed(subject({ principal: 'eve' })));
      assert.equal(c.ks.killed(subject({ model: 'model-0' })), undefined);
      assert.equal(c.ks.active().length, 203);

      // audited on A's sink: 203 kills and one revive
      assert.equal(sinkA.events.filter((e) => e.type === 'gateway.kill').length, 203);
      assert.deepEqual(sinkA.events.filter((e) => e.type === 'gateway.revive').map((e) => e.subject), ['model:model-0']);
    });

    test('a dropped listening connection comes back and resyncs what it missed', { skip: env.cut ? undefined : 'no connection to drop' }, async () => {
      const a = await open({ sink: new MemorySink() });
      const errors: string[] = [];
      const b = await open({ reloadMs: 60_000, onError: (e) => errors.push(e.code) });
      await env.cut!(b.ks.id);
      await a.ks.kill({ kind: 'model', id: 'during-outage' }, { actor: 'test' });
      await until(() => b.ks.killed(subject({ model: 'during-outage' })) !== undefined, 5000);
      await a.ks.kill({ kind: 'model', id: 'after-outage' }, { actor: 'test' });
      await until(() => b.ks.killed(subject({ model: 'after-outage' })) !== undefined, 1000);
      if (tr.name.startsWith('postgres')) assert.ok(errors.includes('PERIM_E_COORDINATION'), errors.join());
    });

    test('a kill written without any message is still picked up (periodic reload; on SQLite the folder watch)', async () => {
      const b = await open({ reloadMs: 200, pollMs: 60_000 });
      const quiet = await openStore(env.target);
      closing.push(() => quiet.close());
      await kill(quiet, new MemorySink(), { kind: 'runtime', id: 'silent-gpu' }, { actor: 'test' });
      await until(() => b.ks.killed(subject({ runtime: 'silent-gpu' })) !== undefined, 3000);
    });
  });
}

test('SQLite without the folder watch: polling alone carries kills and revives', async () => {
  const target = join(tempDir('perimeter-ks-'), 'p.db');
  const sa = await openStore(target);
  const sb = await openStore(target);
  const a = await LiveKillSwitch.open({ store: sa, sink: new MemorySink(), watch: false });
  const b = await LiveKillSwitch.open({ store: sb, watch: false, pollMs: 20 });
  after(async () => {
    await a.close();
    await b.close();
    await sa.close();
    await sb.close();
  });
  await a.kill({ kind: 'principal', id: 'p1' }, { actor: 't' });
  await until(() => b.killed(subject({ principal: 'p1' })) !== undefined, 1000);
  await a.revive({ kind: 'principal', id: 'p1' }, { actor: 't' });
  await until(() => b.killed(subject({ principal: 'p1' })) === undefined, 1000);
});

test('killed() answers from memory in tens of nanoseconds', async (t) => {
  const store = await openStore(join(tempDir('perimeter-ks-'), 'p.db'));
  const ks = await LiveKillSwitch.open({ store, sink: new MemorySink() });
  after(async () => {
    await ks.close();
    await store.close();
  });
  const none = subject({ model: 'llama3:8b', digest: `sha256:${'a'.repeat(64)}`, principal: 'alice', runtime: 'gpu-1' });
  const n = 1_000_000;
  let t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) if (ks.killed(none)) throw new Error('killed');
  const empty = Number(process.hrtime.bigint() - t0) / n;
  for (let i = 0; i < 50; i++) await ks.kill({ kind: (['model', 'principal', 'runtime'] as const)[i % 3]!, id: `x-${i}` }, { actor: 't' });
  t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) if (ks.killed(none)) throw new Error('killed');
  const some = Number(process.hrtime.bigint() - t0) / n;
  assert.equal(ks.killed(subject({ runtime: 'x-2' }))?.id, 'x-2');
  t.diagnostic(`killed(): ${empty.toFixed(1)} ns with no kills, ${some.toFixed(1)} ns with 50 kills (4 lookups, none hit)`);
  assert.ok(some < 2000);
});

test('kill() without a sink is a usage error; a listener that throws does not stop the others', async () => {
  const store = await openStore(join(tempDir('perimeter-ks-'), 'p.db'));
  const errors: string[] = [];
  const ks = await LiveKillSwitch.open({ store, onError: (e) => errors.push(e.code) });
  await assert.rejects(ks.kill({ kind: 'model', id: 'm' }, { actor: 'a' }), { code: 'PERIM_E_USAGE' });
  await ks.close();
  const ks2 = await LiveKillSwitch.open({ store, sink: new MemorySink(), onError: (e) => errors.push(e.code) });
  const heard: string[] = [];
  ks2.onKill(() => {
    throw new Error('boom');
  });
  const off = ks2.onKill((k) => heard.push(k.id));
  await ks2.kill({ kind: 'model', id: 'm' }, { actor: 'a' });
  off();
  await ks2.kill({ kind: 'model', id: 'n' }, { actor: 'a' });
  assert.deepEqual(heard, ['m']);
  assert.deepEqual(errors, ['PERIM_E_INTERNAL', 'PERIM_E_INTERNAL']);
  await ks2.close();
  await store.close();
});

test('Redis unreachable at open: PERIM_E_COORDINATION', async () => {
  const store = await openStore(join(tempDir('perimeter-ks-'), 'p.db'));
  after(() => store.close());
  await assert.rejects(LiveKillSwitch.open({ store, redis: 'redis://127.0.0.1:1', onError: () => {} }), { code: 'PERIM_E_COORDINATION' });
});
