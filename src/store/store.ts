/**
 * The one database interface. Embedded SQLite in a file by default (node:sqlite, no server);
 * PostgreSQL for shared deployments (`postgres://...`). Same schema and migrations on both.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Kysely, sql } from 'kysely';
import { PerimeterError } from '../errors/errors.ts';
import { MIGRATIONS, type Dialect } from './migrations.ts';
import { openPostgres, redactUrl } from './postgres.ts';
import type { Database } from './schema.ts';
import { openSqlite } from './sqlite.ts';

export type StoreKind = 'sqlite' | 'postgres';

export interface Store {
  readonly db: Kysely<Database>;
  readonly kind: StoreKind;
  /** The file path, or the URL with its password redacted. */
  readonly location: string;
  close(): Promise<void>;
}

/** Where the embedded database lives by default: $XDG_DATA_HOME/perimeter, or ~/.local/share/perimeter. */
export { defaultDbPath, isPostgresUrl, resolveDbTarget } from './target.ts';
import { isPostgresUrl, resolveDbTarget } from './target.ts';

export interface OpenOptions {
  /** Apply pending migrations (default true). */
  migrate?: boolean;
}

export async function openStore(target: string = resolveDbTarget(), options: OpenOptions = {}): Promise<Store> {
  let db: Kysely<Database>;
  let kind: StoreKind;
  let location: string;
  let schema: string | undefined;
  try {
    if (isPostgresUrl(target)) {
      const pg = openPostgres(target);
      db = new Kysely<Database>({ dialect: pg.dialect });
      kind = 'postgres';
      location = redactUrl(target);
      schema = pg.schema;
    } else {
      const path = resolve(target);
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      db = new Kysely<Database>({ dialect: openSqlite(path).dialect });
      kind = 'sqlite';
      location = path;
    }
  } catch (e) {
    throw new PerimeterError('PERIM_E_STORE', `cannot open the store at ${isPostgresUrl(target) ? redactUrl(target) : target}: ${(e as Error).message}`, { cause: e });
  }
  const store: Store = { db, kind, location, close: () => db.destroy() };
  try {
    if (schema) await sql`create schema if not exists ${sql.id(schema)}`.execute(db);
    if (options.migrate ?? true) await migrate(store);
  } catch (e) {
    await db.destroy().catch(() => {});
    if (e instanceof PerimeterError) throw e;
    throw new PerimeterError('PERIM_E_STORE', `cannot prepare the store at ${location}: ${(e as Error).message}`, { cause: e });
  }
  return store;
}

/**
 * Applies pending migrations in name order, all in one transaction under a lock, recording each
 * in perimeter_migrations. Our own small migrator rather than kysely's: that one introspects every
 * schema of the database, so DDL elsewhere in a shared PostgreSQL (another tenant's schema being
 * dropped) could break start-up. PostgreSQL: a transaction-scoped advisory lock; SQLite: BEGIN
 * IMMEDIATE (the database's write lock).
 */
export async function migrate(store: Store): Promise<string[]> {
  const d: Dialect = store.kind === 'postgres' ? { kind: 'postgres', big: 'bigint', serial: 'serial' } : { kind: 'sqlite', big: 'integer', serial: 'integer' };
  const names = Object.keys(MIGRATIONS).sort();
  return store.db.connection().execute(async (conn) => {
    await sql.raw(store.kind === 'postgres' ? 'begin' : 'begin immediate').execute(conn);
    try {
      if (store.kind === 'postgres') await sql`select pg_advisory_xact_lock(7243610158)`.execute(conn);
      await sql`create table if not exists perimeter_migrations (name text primary key, applied_at ${sql.raw(d.big)} not null)`.execute(conn);
      const done = new Set((await sql<{ name: string }>`select name from perimeter_migrations`.execute(conn)).rows.map((r) => r.name));
      const unknown = [...done].filter((n) => !(n in MIGRATIONS));
      if (unknown.length) throw new Error(`the database has migrations this version does not know (${unknown.join(', ')}): it was used by a newer Perimeter`);
      const applied: string[] = [];
      for (const name of names) {
        if (done.has(name)) continue;
        await MIGRATIONS[name]!(d).up(conn);
        await sql`insert into perimeter_migrations (name, applied_at) values (${name}, ${Date.now()})`.execute(conn);
        applied.push(name);
      }
      await sql`commit`.execute(conn);
      return applied;
    } catch (e) {
      await sql`rollback`.execute(conn).catch(() => {});
      throw new PerimeterError('PERIM_E_STORE', `migration failed: ${(e as Error).message ?? String(e)}`, { cause: e });
    }
  });
}
