/**
 * kysely's SqliteDialect over Node's built-in node:sqlite (no native addon to compile). The
 * adapter maps node:sqlite's spread-argument statements to the array form kysely expects.
 */
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { SqliteDialect, type SqliteDatabase, type SqliteStatement } from 'kysely';

const toParam = (v: unknown): SQLInputValue => {
  if (v === undefined || v === null) return null;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v instanceof Date) return v.getTime();
  return v as SQLInputValue;
};

class Statement implements SqliteStatement {
  readonly #s: StatementSync;
  readonly reader: boolean;
  constructor(s: StatementSync) {
    this.#s = s;
    this.reader = s.columns().length > 0;
  }
  all(parameters: ReadonlyArray<unknown>): unknown[] {
    return this.#s.all(...parameters.map(toParam));
  }
  run(parameters: ReadonlyArray<unknown>): { changes: number | bigint; lastInsertRowid: number | bigint } {
    return this.#s.run(...parameters.map(toParam));
  }
  iterate(parameters: ReadonlyArray<unknown>): IterableIterator<unknown> {
    return this.#s.iterate(...parameters.map(toParam)) as IterableIterator<unknown>;
  }
}

/** How long a statement waits for another connection's lock before SQLITE_BUSY. */
export const SQLITE_BUSY_TIMEOUT_MS = 10_000;

export function openSqlite(path: string): { dialect: SqliteDialect; raw: DatabaseSync } {
  // The busy timeout is set by the constructor, before the first statement: even switching to WAL
  // reads the file and can meet another process closing it (its final checkpoint holds the lock),
  // which without a busy handler is an immediate SQLITE_BUSY.
  const raw = new DatabaseSync(path, { timeout: SQLITE_BUSY_TIMEOUT_MS });
  // WAL lets readers and one writer work at once; FULL makes every commit survive power loss
  // (group commit in the audit log keeps that affordable). The busy timeout covers other processes.
  raw.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;');
  const db: SqliteDatabase = { close: () => raw.close(), prepare: (sql: string) => new Statement(raw.prepare(sql)) };
  return { dialect: new SqliteDialect({ database: db }), raw };
}
