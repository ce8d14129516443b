/** The limits' behaviours, on the in-process limiter and on the Redis one (real Redis), with an injected clock. */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import type { GatewayLimitRule } from '../../config/gateway-limits.ts';
import { gatewayLimitsSchema } from '../../config/gateway-limits.ts';
import type { Principal } from '../types.ts';
import { REDIS_URL, redisPrefix, redisSkip } from '../../../test/redis.ts';
import { createRateLimiter, formatDuration, type ClosableRateLimiter } from './index.ts';

export function principal(id: string, groups: string[] = [], org: string | null = null): Principal {
  return { id, kind: 'api-key', credential: `k-${id}`, org, groups, verified: true, attestations: [], attributes: {}, fingerprint: id };
}
const alice = principal('alice', ['eng'], 'acme');
const bob = principal('bob', ['ops'], 'acme');
const carol = principal('carol', ['eng'], 'other');

const rules = (r: unknown[]): GatewayLimitRule[] => gatewayLimitsSchema.parse(r);
const NOON = Date.UTC(2026, 0, 15, 12, 0, 0);

const redisSkipReason = await redisSkip();

interface Backend {
  name: string;
  skip: string | undefined;
  make(r: GatewayLimitRule[], now: () => number): ClosableRateLimiter;
}
const made: ClosableRateLimiter[] = [];
const BACKENDS: Backend[] = [
  { name: 'in-process', skip: undefined, make: (r, now) => createRateLimiter({ rules: r, now }) },
  { name: 'redis', skip: redisSkipReason, make: (r, now) => createRateLimiter({ rules: r, now, redis: REDIS_URL, prefix: redisPrefix() }) },
];

for (const b of BACKENDS) {
  describe(`limits (${b.name})`, { skip: b.skip }, () => {
    let clock = NOON;
    const setup = (r: unknown[]) => {
      clock = NOON;
      const l = b.make(rules(r), () => clock);
      made.push(l);
      return l;
    };
    after(() => Promise.all(made.splice(0).map((l) => l.close())));

    test('requests per minute: a burst up to the limit, then refused with Retry-After; refills one per interval', async () => {
      const l = setup([{ requests_per_minute: 5 }]);
      const remaining: string[] = [];
      for (let i = 0; i < 5; i++) {
        const r = await l.check(alice, 'm');
        assert.equal(r.allowed, true);
        remaining.push(r.headers['x-ratelimit-remaining-requests']!);
      }
      assert.deepEqual(remaining, ['4', '3', '2', '1', '0']);
      const refused = await l.check(alice, 'm');
      assert.equal(refused.allowed, false);
      assert.equal(refused.code, 'PERIM_E_RATE_LIMITED');
      assert.equal(refused.limit, 'requests_per_minute');
      assert.equal(refused.retryAfterMs, 12_000);
      assert.equal(refused.headers['x-ratelimit-limit-requests'], '5');
      assert.equal(refused.headers['x-ratelimit-remaining-requests'], '0');
      assert.equal(refused.headers['x-ratelimit-reset-requests'], '1m0s');
      clock += 11_999;
      assert.equal((await l.check(alice, 'm')).allowed, false);
      clock += 1;
      const one = await l.check(alice, 'm');
      assert.equal(one.allowed, true);
      assert.equal(one.headers['x-ratelimit-reset-requests'], '1m0s');
      assert.equal((await l.check(alice, 'm')).allowed, false);
      clock += 60_000;
      for (let i = 0; i < 5; i++) assert.equal((await l.check(alice, 'm')).allowed, true, `after a full minute, request ${i}`);
      assert.equal((await l.check(alice, 'm')).allowed, false);
      // another principal has its own count (per principal+model by default)
      assert.equal((await l.check(bob, 'm')).headers['x-ratelimit-remaining-requests'], '4');
    });

    test('tokens per minute: charge goes into debt; check refuses until the debt is paid back', async () => {
      const l = setup([{ tokens_per_minute: 1000 }]);
      const first = await l.check(alice, 'm');
      assert.equal(first.allowed, true);
      assert.equal(first.headers['x-ratelimit-remaining-tokens'], '1000');
      assert.equal(first.headers['x-ratelimit-reset-tokens'], '0s');
      l.charge(alice, 'm', 400);
      await settle(l);
      const after400 = await l.check(alice, 'm');
      assert.equal(after400.headers['x-ratelimit-remaining-tokens'], '600');
      assert.equal(after400.headers['x-ratelimit-reset-tokens'], '24s');
      l.charge(alice, 'm', 2100); // 2500 in all: 1500 in debt
      await settle(l);
      const debt = await l.check(alice, 'm');
      assert.equal(debt.allowed, false);
      assert.equal(debt.code, 'PERIM_E_RATE_LIMITED');
      assert.equal(debt.limit, 'tokens_per_minute');
      assert.equal(debt.retryAfterMs, 90_000);
      assert.equal(debt.headers['x-ratelimit-remaining-tokens'], '0');
      assert.equal(debt.headers['x-ratelimit-reset-tokens'], '2m30s');
      clock += 89_000;
      assert.equal((await l.check(alice, 'm')).allowed, false);
      clock += 1_000;
      const paid = await l.check(alice, 'm');
      assert.equal(paid.allowed, true);
      assert.equal(paid.headers['x-ratelimit-remaining-tokens'], '0');
      clock += 30_000;
      assert.equal((await l.check(alice, 'm')).headers['x-ratelimit-remaining-tokens'], '500');
      l.charge(alice, 'm', 0);
      l.charge(alice, 'm', -5);
      l.charge(alice, 'm', Number.NaN);
      await settle(l);
      assert.equal((await l.check(alice, 'm')).headers['x-ratelimit-remaining-tokens'], '500', 'non-positive charges are ignored');
    });

    test('tokens per day: a budget per UTC day, refused as PERIM_E_BUDGET_EXHAUSTED until midnight', async () => {
      const l = setup([{ tokens_per_day: 1000, per: 'principal' }]);
      l.charge(alice, 'm', 600);
      await settle(l);
      const ok = await l.check(alice, 'other-model');
      assert.equal(ok.allowed, true);
      assert.equal(ok.headers['x-ratelimit-limit-tokens'], '1000');
      assert.equal(ok.headers['x-ratelimit-remaining-tokens'], '400');
      assert.equal(ok.headers['x-ratelimit-reset-tokens'], '12h0m0s');
      l.charge(alice, 'other-model', 400);
      await settle(l);
      const spent = await l.check(alice, 'm');
      assert.equal(spent.allowed, false);
      assert.equal(spent.code, 'PERIM_E_BUDGET_EXHAUSTED');
      assert.equal(spent.limit, 'tokens_per_day');
      assert.equal(spent.retryAfterMs, 12 * 3_600_000);
      clock = Date.UTC(2026, 0, 15, 23, 59, 59, 999);
      assert.equal((await l.check(alice, 'm')).retryAfterMs, 1);
      clock = Date.UTC(2026, 0, 16, 0, 0, 0);
      const tomorrow = await l.check(alice, 'm');
      assert.equal(tomorrow.allowed, true);
      assert.equal(tomorrow.headers['x-ratelimit-remaining-tokens'], '1000');
    });

    test('atomic across rules: a refusal by one rule consumes nothing from the others', async () => {
      const l = setup([
        { principal: '*', per: 'principal', requests_per_minute: 10 },
        { principal: '*', model: 'small', requests_per_minute: 2 },
      ]);
      assert.equal((await l.check(alice, 'small')).allowed, true);
      const second = await l.check(alice, 'small');
      assert.equal(second.allowed, true);
      assert.equal(second.headers['x-ratelimit-limit-requests'], '2', 'the tightest rule is reported');
      assert.equal(second.headers['x-ratelimit-remaining-requests'], '0');
      for (let i = 0; i < 3; i++) assert.equal((await l.check(alice, 'small')).allowed, false);
      const other = await l.check(alice, 'big'); // only the per-principal rule: 2 used before, this is the 3rd
      assert.equal(other.headers['x-ratelimit-limit-requests'], '10');
      assert.equal(other.headers['x-ratelimit-remaining-requests'], '7');
    });

    test('the longest refusal wins: an exhausted day budget is reported over a per-minute limit', async () => {
      const l = setup([{ requests_per_minute: 1, tokens_per_day: 10 }]);
      assert.equal((await l.check(alice, 'm')).allowed, true);
      l.charge(alice, 'm', 10);
      await settle(l);
      const r = await l.check(alice, 'm');
      assert.equal(r.code, 'PERIM_E_BUDGET_EXHAUSTED');
      assert.equal(r.retryAfterMs, 12 * 3_600_000);
      assert.equal(r.headers['x-ratelimit-remaining-requests'], '0');
    });

    test('patterns: exact principal, group:, org:, exact model; per model and per principal share counts', async () => {
      const l = setup([
        { principal: 'group:eng', per: 'principal', requests_per_minute: 3 },
        { principal: 'org:acme', model: 'shared', per: 'model', requests_per_minute: 4 },
        { principal: 'bob', per: 'principal', requests_per_minute: 100 },
      ]);
      // alice and carol are in eng: each has 3 across all models
      assert.equal((await l.check(alice, 'a')).headers['x-ratelimit-remaining-requests'], '2');
      assert.equal((await l.check(alice, 'b')).headers['x-ratelimit-remaining-requests'], '1');
      assert.equal((await l.check(carol, 'a')).headers['x-ratelimit-remaining-requests'], '2');
      // bob is not in eng: only his own rule
      const b1 = await l.check(bob, 'a');
      assert.equal(b1.headers['x-ratelimit-limit-requests'], '100');
      // org acme on model "shared": one count for alice and bob together; carol (org other) is outside it
      const b2 = await l.check(bob, 'shared');
      assert.equal(b2.headers['x-ratelimit-limit-requests'], '4');
      assert.equal(b2.headers['x-ratelimit-remaining-requests'], '3');
      assert.equal((await l.check(alice, 'shared')).headers['x-ratelimit-remaining-requests'], '0', 'alice: 3rd of her eng limit');
      assert.equal((await l.check(bob, 'shared')).headers['x-ratelimit-remaining-requests'], '1', 'shared count: bob, alice, bob');
      assert.equal((await l.check(carol, 'shared')).headers['x-ratelimit-limit-requests'], '3');
      assert.equal((await l.check(principal('dave'), 'x')).headers['x-ratelimit-limit-requests'], undefined, 'no rule matches dave');
    });

    test('token headers report the tightest of tokens per minute and per day', async () => {
      const l = setup([{ tokens_per_minute: 1000, tokens_per_day: 5000 }]);
      assert.equal((await l.check(alice, 'm')).headers['x-ratelimit-limit-tokens'], '1000');
      for (let i = 0; i < 5; i++) {
        l.charge(alice, 'm', 900);
        clock += 60_000;
      }
      await settle(l);
      const r = await l.check(alice, 'm');
      assert.equal(r.headers['x-ratelimit-limit-tokens'], '5000');
      assert.equal(r.headers['x-ratelimit-remaining-tokens'], '500');
      assert.equal(r.headers['x-ratelimit-limit-requests'], undefined);
    });
  });
}

/** Charges to Redis are fire and forget: a round trip later they have landed (one connection keeps order). */
async function settle(l: ClosableRateLimiter): Promise<void> {
  const c = (l as { client?: Redis }).client;
  if (c) await c.ping();
}

test('no rules: allowed at once with no headers, and no Redis connection is made', async () => {
  const l = createRateLimiter({ rules: [], redis: 'redis://127.0.0.1:1' });
  const r = await l.check(alice, 'm');
  assert.deepEqual({ ...r, headers: { ...r.headers } }, { allowed: true, retryAfterMs: 0, headers: {} });
  l.charge(alice, 'm', 100);
  assert.equal((l as { client?: unknown }).client, undefined);
  await l.close();
});

test('formatDuration writes Go-style durations as OpenAI does', () => {
  assert.equal(formatDuration(0), '0s');
  assert.equal(formatDuration(-3), '0s');
  assert.equal(formatDuration(20.2), '21ms');
  assert.equal(formatDuration(1000), '1s');
  assert.equal(formatDuration(1500), '1.5s');
  assert.equal(formatDuration(360_000), '6m0s');
  assert.equal(formatDuration(3_723_250), '1h2m3.25s');
});

describe('Redis limiter across replicas', { skip: redisSkipReason }, () => {
  test('two limiters on two connections share one limit (Redis clock), and keys expire', async (t) => {
    const diag = (m: string) => t.diagnostic(m);
    const prefix = redisPrefix();
    const r = rules([{ requests_per_minute: 6, tokens_per_day: 100 }]);
    const a = createRateLimiter({ rules: r, redis: REDIS_URL, prefix });
    const b = createRateLimiter({ rules: r, redis: new Redis(REDIS_URL), prefix });
    after(async () => {
      await a.close();
      await b.close();
      (b as unknown as { client: Redis }).client.disconnect();
    });
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).check(alice, 'm')));
    assert.equal(results.filter((x) => x.allowed).length, 6);
    assert.ok(results.filter((x) => !x.allowed).every((x) => x.code === 'PERIM_E_RATE_LIMITED' && x.retryAfterMs > 9_000 && x.retryAfterMs <= 10_000));
    a.charge(alice, 'm', 60);
    b.charge(alice, 'm', 40);
    await (a as unknown as { client: Redis }).client.ping();
    await (b as unknown as { client: Redis }).client.ping();
    const spent = await a.check(alice, 'm');
    assert.equal(spent.code, 'PERIM_E_BUDGET_EXHAUSTED');
    // cost of a check on Redis: one round trip (sequential), and throughput with many in flight
    const many = createRateLimiter({ rules: rules([{ requests_per_minute: 1_000_000_000, tokens_per_minute: 1_000_000_000 }, { principal: 'group:eng', requests_per_minute: 1_000_000_000 }]), redis: REDIS_URL, prefix: redisPrefix() });
    after(() => many.close());
    for (let i = 0; i < 200; i++) await many.check(alice, 'm');
    let t0 = performance.now();
    for (let i = 0; i < 1000; i++) await many.check(alice, 'm');
    const seq = (performance.now() - t0) / 1000;
    t0 = performance.now();
    await Promise.all(Array.from({ length: 5000 }, () => many.check(alice, 'm')));
    const par = (performance.now() - t0) / 5000;
    diag(`Redis check (2 matching rules): ${(seq * 1000).toFixed(0)} µs sequential (one round trip), ${(par * 1000).toFixed(1)} µs each with 5000 in flight`);

    const probe = new Redis(REDIS_URL);
    after(() => probe.disconnect());
    const keys = await probe.keys(`${prefix}*`);
    assert.equal(keys.length, 1);
    const ttl = await probe.pttl(keys[0]!);
    assert.ok(ttl > 60_000 && ttl <= 86_400_000 + 2_000, `ttl ${ttl}`);
  });

  test('Redis down: check fails closed with PERIM_E_COORDINATION; charge failures reach onError', async () => {
    const errors: string[] = [];
    const l = createRateLimiter({ rules: rules([{ requests_per_minute: 5, tokens_per_minute: 10 }]), redis: 'redis://127.0.0.1:1', onError: (e) => errors.push(e.code) });
    after(() => l.close());
    await assert.rejects(l.check(alice, 'm'), (e: { code?: string }) => e.code === 'PERIM_E_COORDINATION');
    l.charge(alice, 'm', 5);
    for (let i = 0; i < 100 && !errors.includes('PERIM_E_COORDINATION'); i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(errors.includes('PERIM_E_COORDINATION'));
  });
});

test('in-process check costs about a microsecond', (t) => {
  const l = createRateLimiter({
    rules: rules([
      { principal: 'group:eng', per: 'principal', requests_per_minute: 1_000_000_000, tokens_per_minute: 1_000_000_000 },
      { model: 'm', requests_per_minute: 1_000_000_000, tokens_per_day: 1_000_000_000 },
      { principal: 'org:nobody', requests_per_minute: 1 },
    ]),
  }) as unknown as { checkSync: (p: Principal, m: string) => { allowed: boolean }; check: (p: Principal, m: string) => Promise<unknown> };
  const n = 200_000;
  for (let i = 0; i < 20_000; i++) l.checkSync(alice, 'm');
  let t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) if (!l.checkSync(alice, 'm').allowed) throw new Error('refused');
  const sync = Number(process.hrtime.bigint() - t0) / n;
  t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) void l.check(alice, 'm');
  const promised = Number(process.hrtime.bigint() - t0) / n;
  const none = createRateLimiter({ rules: [] });
  t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) void none.check(alice, 'm');
  const noop = Number(process.hrtime.bigint() - t0) / n;
  t.diagnostic(`per check: ${sync.toFixed(0)} ns (sync, 3 rules, 2 matching), ${promised.toFixed(0)} ns (check), ${noop.toFixed(0)} ns (no rules)`);
  assert.ok(sync < 10_000, `${sync} ns per check`); // loose: a shared CI machine; ~1 µs on a quiet one
});

test('config: a rule without any limit, or a bare group:/org:, is refused with its path', () => {
  const bad = gatewayLimitsSchema.safeParse([{ principal: 'alice' }, { principal: 'group:', requests_per_minute: 1 }]);
  assert.equal(bad.success, false);
  const issues = bad.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  assert.deepEqual(issues, ['0: a limit rule needs requests_per_minute, tokens_per_minute or tokens_per_day', '1.principal: group: and org: need a name (group:<name>, org:<name>)']);
});
