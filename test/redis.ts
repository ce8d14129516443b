/**
 * The Redis that tests and benches use (PERIMETER_TEST_REDIS, default redis://127.0.0.1:6379), and
 * whether it answers. Outside CI a missing Redis skips its tests with a message; with CI=true they
 * fail. Each test gets its own key prefix so parallel test files never share keys.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

export const REDIS_URL = process.env.PERIMETER_TEST_REDIS ?? 'redis://127.0.0.1:6379';

let reachable: Promise<string | undefined> | undefined;
/** undefined when Redis answers, else why not (checked once per process). */
export function redisProblem(): Promise<string | undefined> {
  reachable ??= (async () => {
    const r = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null });
    r.on('error', () => {});
    try {
      await r.connect();
      await r.ping();
      return undefined;
    } catch (e) {
      return `Redis at ${REDIS_URL} is not reachable (${(e as Error).message})`;
    } finally {
      r.disconnect();
    }
  })();
  return reachable;
}

/** The skip option for node:test: a message outside CI when Redis is absent; throws in CI. */
export async function redisSkip(): Promise<string | undefined> {
  const problem = await redisProblem();
  if (problem && process.env.CI === 'true') throw new Error(`${problem}: CI requires Redis`);
  return problem ? `${problem}; skipping (set CI=true to make this fail)` : undefined;
}

/** A fresh key prefix for one test. */
export function redisPrefix(): string {
  return `perimeter-test:${randomBytes(6).toString('hex')}:`;
}
