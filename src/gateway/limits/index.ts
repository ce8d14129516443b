/**
 * Rate limits and token budgets (`gateway.limits`): `createRateLimiter` picks the in-process
 * limiter, or the Redis one when `redis` is given and there is at least one rule (with no rules
 * every check is a cheap no-op and no connection is made).
 */
import type { Redis } from 'ioredis';
import type { GatewayLimitRule } from '../../config/gateway-limits.ts';
import type { PerimeterError } from '../../errors/errors.ts';
import type { RateLimiter } from '../types.ts';
import { MemoryRateLimiter } from './memory.ts';
import { RedisRateLimiter } from './redis.ts';

export { MemoryRateLimiter } from './memory.ts';
export { RedisRateLimiter } from './redis.ts';
export { formatDuration } from './evaluate.ts';

export interface RateLimiterOptions {
  rules: readonly GatewayLimitRule[];
  /** Share limits across replicas: an ioredis client (left open by close) or a redis:// URL. */
  redis?: Redis | string | undefined;
  /** Redis key prefix (default "perimeter:rl:"). */
  prefix?: string;
  /** Clock (epoch ms) for tests. Without it the Redis limiter uses Redis's clock. */
  now?: () => number;
  /** Redis trouble outside a check (charge failures, connection errors); default: a line on stderr at most every 10 s. */
  onError?: (e: PerimeterError) => void;
}

export interface ClosableRateLimiter extends RateLimiter {
  close(): Promise<void>;
}

export function createRateLimiter(o: RateLimiterOptions): ClosableRateLimiter {
  const onError = o.onError ?? throttledStderr();
  const hasRule = o.rules.some((r) => r.requests_per_minute || r.tokens_per_minute || r.tokens_per_day);
  if (o.redis === undefined || !hasRule) return new MemoryRateLimiter(o.rules, o.now);
  return new RedisRateLimiter({ rules: o.rules, redis: o.redis, onError, ...(o.prefix !== undefined ? { prefix: o.prefix } : {}), ...(o.now ? { now: o.now } : {}) });
}

/** Reports errors on stderr, at most one line every 10 s (counting those left out). */
export function throttledStderr(): (e: PerimeterError) => void {
  let last = 0;
  let dropped = 0;
  return (e) => {
    const now = Date.now();
    if (now - last < 10_000) {
      dropped++;
      return;
    }
    last = now;
    process.stderr.write(`perimeter: [${e.code}] ${e.message}${dropped ? ` (${dropped} similar suppressed)` : ''}\n`);
    dropped = 0;
  };
}
