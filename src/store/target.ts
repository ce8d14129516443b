/**
 * Where the store is, without loading the database drivers or kysely: the default file, the
 * --db / PERIMETER_DB resolution, and which backend a target names. Also the names of the
 * migrations this version applies (migrations.ts asserts it holds exactly these), so a lean path
 * (`inventory --json`) can tell a current database from one that needs migrating.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

/** $XDG_DATA_HOME/perimeter/perimeter.db, else ~/.local/share/perimeter/perimeter.db. */
export function defaultDbPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_DATA_HOME && env.XDG_DATA_HOME.startsWith('/') ? env.XDG_DATA_HOME : join(homedir(), '.local', 'share');
  return join(base, 'perimeter', 'perimeter.db');
}

/** --db flag, else PERIMETER_DB, else the default file. */
export function resolveDbTarget(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  return flag ?? env.PERIMETER_DB ?? defaultDbPath(env);
}

export const isPostgresUrl = (target: string): boolean => /^postgres(ql)?:\/\//.test(target);

/** The migrations this version applies, in order (a new migration is added here and in migrations.ts). */
export const MIGRATION_NAMES: readonly string[] = ['0001_registry', '0002_audit', '0003_registry_more', '0004_runtimes_more', '0005_gateway', '0006_inventory_pages', '0007_inventory_tail'];

/** Whether a database's applied migrations are exactly this version's. */
export const migrationsCurrent = (names: readonly string[]): boolean =>
  names.length === MIGRATION_NAMES.length && [...names].sort().every((n, i) => n === MIGRATION_NAMES[i]);

/**
 * The PostgreSQL advisory lock over the inventory's page layout (migration 0006), as the arguments
 * of pg_advisory_xact_lock*: a constant ("PRM1") and the schema's hash. Writers' triggers hold it
 * shared; a listing writing back its pages holds it exclusive.
 */
export const PAGES_LOCK = `${0x50524d31}, hashtext(current_schema())`;
