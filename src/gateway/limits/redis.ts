/**
 * The Redis limiter: every matching rule of a check in one atomic script call (EVALSHA through
 * ioredis defineCommand), `charge` one fire-and-forget script call. Replicas sharing the Redis
 * share the limits. The script decides; this side recomputes the headers from the state the
 * script read, with the same arithmetic as the in-process limiter.
 *
 * Failures: `check` fails closed, throwing PERIM_E_COORDINATION (the gateway answers 503);
 * `charge` failures are reported to `onError` (the tokens of that response go uncounted).
 */
import { Redis } from 'ioredis';
import type { GatewayLimitRule } from '../../config/gateway-limits.ts';
import { PerimeterError } from '../../errors/errors.ts';
import type { LimitResult, Principal, RateLimiter } from '../types.ts';
import { ALLOWED, Tally, judge, report } from './evaluate.ts';
import { CHARGE_LUA, CHECK_LUA } from './redis-script.ts';
import { compileRules, ruleMatches, subjectOf, type CompiledRule } from './rules.ts';

const CHECK_CMD = 'perimeterLimitCheckV1';
const CHARGE_CMD = 'perimeterLimitChargeV1';

type ScriptFn = (numKeys: number, ...args: string[]) => Promise<unknown>;

export interface RedisLimiterOptions {
  rules: readonly GatewayLimitRule[];
  /** An ioredis client (kept open on close) or a redis:// URL (a client is made and closed here). */
  redis: Redis | string;
  /** Key prefix (default "perimeter:rl:"). */
  prefix?: string;
  /** Clock for tests; by default the scripts use Redis's own clock, so replicas agree on time. */
  now?: () => number;
  onError: (e: PerimeterError) => void;
}

export class RedisRateLimiter implements RateLimiter {
  readonly rules: readonly CompiledRule[];
  readonly client: Redis;
  readonly #owned: boolean;
  readonly #prefix: string;
  readonly #now: (() => number) | undefined;
  readonly #onError: (e: PerimeterError) => void;
  readonly #check: ScriptFn;
  readonly #charge: ScriptFn;
  readonly #tally = new Tally();

  constructor(o: RedisLimiterOptions) {
    this.rules = compileRules(o.rules);
    this.#owned = typeof o.redis === 'string';
    this.client =
      typeof o.redis === 'string'
        ? new Redis(o.redis, { maxRetriesPerRequest: 1, commandTimeout: 1000, enableAutoPipelining: true, connectionName: 'perimeter-limits' })
        : o.redis;
    if (this.#owned) this.client.on('error', (e: Error) => o.onError(coordination('Redis connection for rate limits failed', e)));
    this.#prefix = o.prefix ?? 'perimeter:rl:';
    this.#now = o.now;
    this.#onError = o.onError;
    this.client.defineCommand(CHECK_CMD, { lua: CHECK_LUA });
    this.client.defineCommand(CHARGE_CMD, { lua: CHARGE_LUA });
    const c = this.client as unknown as Record<string, ScriptFn>;
    this.#check = c[CHECK_CMD]!.bind(this.client);
    this.#charge = c[CHARGE_CMD]!.bind(this.client);
  }

  async check(p: Principal, model: string): Promise<LimitResult> {
    const rules = this.rules;
    if (rules.length === 0) return ALLOWED;
    const matched: CompiledRule[] = [];
    const args: string[] = [];
    for (const r of rules) {
      if (!ruleMatches(r, p, model)) continue;
      matched.push(r);
      args.push(this.#key(r, p, model));
    }
    if (matched.length === 0) return ALLOWED;
    const n = matched.length;
    args.push(this.#now ? String(this.#now()) : '');
    for (const r of matched) args.push(String(r.rpm), String(r.tpm), String(r.tpd));
    let out: string[];
    try {
      out = (await this.#check(n, ...args)) as string[];
    } catch (e) {
      throw coordination('the rate-limit store (Redis) did not answer; refusing the request (fail closed)', e);
    }
    const admitted = Number(out[0]) === 1;
    const now = Number(out[1]);
    const t = this.#tally;
    t.clear();
    for (let i = 0; i < n; i++) judge(t, matched[i]!, Number(out[2 + 3 * i]), Number(out[3 + 3 * i]), Number(out[4 + 3 * i]), now);
    // The script is authoritative; the two agree unless float rounding differs at a boundary.
    if (admitted) t.refused = false;
    else if (!t.refused) t.refuse('PERIM_E_RATE_LIMITED', 'requests_per_minute', 1);
    for (let i = 0; i < n; i++) {
      const r = matched[i]!;
      let tat = Number(out[2 + 3 * i]);
      if (admitted && r.rpm) tat = (tat > now ? tat : now) + r.requestInterval;
      report(t, r, tat, Number(out[3 + 3 * i]), Number(out[4 + 3 * i]), now);
    }
    return t.result();
  }

  charge(p: Principal, model: string, tokens: number): void {
    if (!(tokens > 0) || !Number.isFinite(tokens)) return;
    const keys: string[] = [];
    const limits: string[] = [];
    for (const r of this.rules) {
      if ((r.tpm === 0 && r.tpd === 0) || !ruleMatches(r, p, model)) continue;
      keys.push(this.#key(r, p, model));
      limits.push(String(r.tpm), String(r.tpd));
    }
    if (keys.length === 0) return;
    this.#charge(keys.length, ...keys, this.#now ? String(this.#now()) : '', String(tokens), ...limits).catch((e: unknown) =>
      this.#onError(coordination(`could not charge ${tokens} tokens to the rate-limit store (Redis); they go uncounted`, e)),
    );
  }

  #key(r: CompiledRule, p: Principal, model: string): string {
    return `${this.#prefix}${r.id}:${subjectOf(r, p, model)}`;
  }

  async close(): Promise<void> {
    if (this.#owned) await this.client.quit().catch(() => this.client.disconnect());
  }
}

const coordination = (message: string, cause: unknown): PerimeterError =>
  new PerimeterError('PERIM_E_COORDINATION', `${message}: ${(cause as Error)?.message ?? String(cause)}`, { cause });
