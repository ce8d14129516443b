/**
 * Registry plumbing over the store: one write transaction that serializes the writers that could
 * conflict (SQLite: BEGIN IMMEDIATE, one writer at a time, waiting busy_timeout; PostgreSQL:
 * transaction-scoped advisory locks on the names and digests involved, taken in sorted order),
 * retried on the transient errors the backends report (deadlock, serialization, busy).
 */
import { sql, type Kysely } from 'kysely';
import { PerimeterError, isPerimeterError } from '../errors/errors.ts';
import type { Database } from '../store/schema.ts';
import { openStore, type Store } from '../store/store.ts';

const TRANSIENT_PG = new Set(['40001', '40P01', '23505', '55P03']);

function transient(e: unknown): boolean {
  const err = e as { code?: unknown; message?: unknown; errcode?: unknown };
  if (typeof err?.code === 'string' && TRANSIENT_PG.has(err.code)) return true;
  const msg = typeof err?.message === 'string' ? err.message : '';
  return /SQLITE_BUSY|database is locked/i.test(msg);
}

/**
 * Runs `fn` in one transaction on one connection. `lockKeys` name what the transaction writes
 * about (e.g. "digest:sha256:…", "name:org/model"); on PostgreSQL each becomes an advisory lock.
 */
export async function writeTransaction<T>(store: Store, lockKeys: readonly string[], fn: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
  const keys = [...new Set(lockKeys)].sort();
  for (let attempt = 1; ; attempt++) {
    try {
      return await store.db.connection().execute(async (conn) => {
        await sql.raw(store.kind === 'sqlite' ? 'begin immediate' : 'begin').execute(conn);
        try {
          if (store.kind === 'postgres') for (const k of keys) await sql`select pg_advisory_xact_lock(hashtextextended(${k}, 0))`.execute(conn);
          const out = await fn(conn);
          await sql.raw('commit').execute(conn);
          return out;
        } catch (e) {
          await sql.raw('rollback').execute(conn).catch(() => {});
          throw e;
        }
      });
    } catch (e) {
      if (isPerimeterError(e)) throw e;
      if (transient(e) && attempt < 6) {
        await new Promise((r) => setTimeout(r, 20 * attempt + Math.random() * 30));
        continue;
      }
      if (transient(e)) throw new PerimeterError('PERIM_E_CONFLICT', `the registry write kept conflicting with other writers: ${(e as Error).message}`, { cause: e });
      throw new PerimeterError('PERIM_E_STORE', `registry write failed on ${store.location}: ${(e as Error).message}`, { cause: e });
    }
  }
}

/** Wraps a read's driver error as PERIM_E_STORE. */
export async function read<T>(store: Store, what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (isPerimeterError(e)) throw e;
    throw new PerimeterError('PERIM_E_STORE', `cannot read ${what} from ${store.location}: ${(e as Error).message}`, { cause: e });
  }
}

export const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

/** "sha256:abcdef012345" → "abcdef012345" (12 hex digits), for tables. */
export const shortDigest = (d: string | null | undefined): string => (d ? (d.startsWith('name:') ? d : d.replace(/^sha256:/, '').slice(0, 12)) : '');

export const parseJson = <T = Record<string, unknown>>(s: string | null | undefined, fallback: T): T => {
  if (!s) return fallback;
  try {
    return JSON.parse(s) as T;
  } catch {
    return fallback;
  }
};

/**
 * openStore, retried when PostgreSQL reports a schema that vanished mid-migration (SQLSTATE
 * 3F000): kysely's migrator introspects the tables of every schema, and another schema dropped at
 * that moment (another tenant's, or a parallel test's) fails the introspection, not our store.
 */
export async function openStoreRetrying(target: string): Promise<Store> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await openStore(target);
    } catch (e) {
      const cause = (e as { cause?: { code?: unknown } }).cause;
      if (attempt >= 5 || !isPerimeterError(e, 'PERIM_E_STORE') || cause?.code !== '3F000') throw e;
      await new Promise((r) => setTimeout(r, 25 * attempt));
    }
  }
}
