/**
 * The one database interface. Embedded SQLite in a file by default (node:sqlite, no server);
 * PostgreSQL for shared deployments (`postgres://...`). Same schema and migrations on both.
 */
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Kysely, sql } from 'kysely';
import { Migrator, type MigrationProvider } from 'kysely/migration';
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
export function defaultDbPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_DATA_HOME && env.XDG_DATA_HOME.startsWith('/') ? env.XDG_DATA_HOME : join(homedir(), '.local', 'share');
  return join(base, 'perimeter', 'perimeter.db');
}

/** --db flag, else PERIMETER_DB, else the default file. */
export function resolveDbTarget(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  return flag ?? env.PERIMETER_DB ?? defaultDbPath(env);
}

export const isPostgresUrl = (target: string): boolean => /^postgres(ql)?:\/\//.test(target);

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

export async function migrate(store: Store): Promise<string[]> {
  const d: Dialect = store.kind === 'postgres' ? { kind: 'postgres', big: 'bigint', serial: 'serial' } : { kind: 'sqlite', big: 'integer', serial: 'integer' };
  const provider: MigrationProvider = { getMigrations: async () => Object.fromEntries(Object.entries(MIGRATIONS).map(([name, m]) => [name, m(d)])) };
  // kysely looks for its migration tables across all schemas unless told which: name ours, so
  // stores in different schemas of one PostgreSQL database never see each other's tables.
  const migrationTableSchema =
    store.kind === 'postgres' ? (await sql<{ s: string }>`select current_schema() as s`.execute(store.db)).rows[0]?.s : undefined;
  const { error, results } = await new Migrator({ db: store.db, provider, ...(migrationTableSchema ? { migrationTableSchema } : {}) }).migrateToLatest();
  if (error) throw new PerimeterError('PERIM_E_STORE', `migration failed: ${(error as Error).message ?? String(error)}`, { cause: error });
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
