/**
 * The inventory listing on SQLite, on a node:sqlite connection of its own (WAL lets it read beside
 * the store's connection, and writers are not held up). SQLite joins each chunk of CHUNK_ROWS
 * artifacts into one BLOB (group_concat), live values merged in SQL from a per-connection temp
 * table of admitted environments: JavaScript sees about a hundred buffers, never a row. One read
 * transaction, so every chunk comes from the same snapshot.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { PerimeterError } from '../errors/errors.ts';
import {
  CHUNK_ROWS,
  MISSING,
  RUNTIMES_SQL,
  SERVED_ADMITTED_SQL,
  SERVED_SQL,
  SUFFIX_LENGTH,
  groupAdmitted,
  migrationsCurrent,
  missingSql,
  missingTexts,
  writeDocument,
  type ArtifactSource,
  type ChunkSink,
  type InventoryCounts,
  type MissingRow,
  type RuntimeRow,
  type ServedRow,
} from './inventory-stream.ts';

const ENVS = 'temp.perimeter_inventory_envs';
const PREPARE_ENVS = `create temp table if not exists perimeter_inventory_envs (digest text primary key, envs text not null) without rowid;
  delete from ${ENVS};
  insert into ${ENVS} select a.digest, json_group_array(a.env order by a.env) from admissions a
    join (select max(id) as id from admissions group by digest, env) l on l.id = a.id
    where a.allowed = 1 group by a.digest;`;

const KEY_AFTER = '(x.created_at, x.digest) > (?, ?)';
const KEY_UPTO = '(x.created_at, x.digest) <= (?, ?)';
const where = (after: boolean, upto: boolean): string => {
  const c = [after ? KEY_AFTER : '', upto ? KEY_UPTO : ''].filter(Boolean);
  return c.length ? `where ${c.join(' and ')}` : '';
};
/** The last key of the chunk that starts after the given key (none: the rest is the last chunk). */
const boundSql = (after: boolean): string => `select x.created_at, x.digest from artifacts x ${where(after, false)} order by x.created_at, x.digest limit 1 offset ${CHUNK_ROWS - 1}`;
/**
 * One chunk's texts joined by ",\n" as a BLOB, and how many. The rows reach group_concat in the
 * subquery's order (SQLite runs it as a co-routine; the tests check the order, ties included): an
 * ORDER BY inside group_concat would sort again and cost ~40% more.
 */
const chunkSql = (after: boolean, upto: boolean): string => `select cast(group_concat(j, ',' || char(10)) as blob), count(*) from (
  select case
    when x.inventory_json is null then char(${MISSING}) || x.digest || char(${MISSING})
    when x.tier is null and e.envs is null then x.inventory_json
    else substr(x.inventory_json, 1, length(x.inventory_json) - ${SUFFIX_LENGTH}) || ',"tier":' || ifnull(x.tier, 'null') || ',"admittedEnvs":' || ifnull(e.envs, '[]') || '}'
  end as j
  from artifacts x left join ${ENVS} e on e.digest = x.digest ${where(after, upto)}
  order by x.created_at, x.digest)`;

type Key = [createdAt: SQLInputValue, digest: SQLInputValue];

function source(db: DatabaseSync): ArtifactSource {
  const statements = new Map<string, StatementSync>();
  const prep = (sql: string): StatementSync => {
    let s = statements.get(sql);
    if (!s) {
      s = db.prepare(sql);
      s.setReturnArrays(true);
      statements.set(sql, s);
    }
    return s;
  };
  return {
    async chunks(emit) {
      let after: Key | undefined;
      for (;;) {
        const upto = prep(boundSql(after !== undefined)).get(...(after ?? [])) as unknown as Key | undefined;
        const [text, rows] = prep(chunkSql(after !== undefined, upto !== undefined)).get(...(after ?? []), ...(upto ?? [])) as unknown as [Uint8Array | null, number];
        if (text) await emit(text, rows);
        if (!upto) return;
        after = upto;
      }
    },
    async missing(digests) {
      const sql = missingSql(`select envs from ${ENVS} e where e.digest = a.digest`, 'select value from json_each(?)');
      return missingTexts(db.prepare(sql).all(JSON.stringify(digests)) as unknown as MissingRow[]);
    },
    async runtimes() {
      return {
        runtimes: db.prepare(RUNTIMES_SQL).all() as unknown as RuntimeRow[],
        served: db.prepare(SERVED_SQL).all() as unknown as ServedRow[],
        admitted: groupAdmitted(db.prepare(SERVED_ADMITTED_SQL).all() as unknown as { digest: string; env: string }[]),
      };
    },
  };
}

/** Writes the document from an open connection, in one read transaction. */
async function write(db: DatabaseSync, sink: ChunkSink, head: Record<string, unknown>): Promise<InventoryCounts> {
  db.exec('begin');
  try {
    db.exec(PREPARE_ENVS); // the temp table is this connection's own: nothing is written to the database
    return await writeDocument(source(db), sink, head);
  } finally {
    db.exec('rollback');
  }
}

const open = (path: string): DatabaseSync => {
  return new DatabaseSync(path, { timeout: 10_000 });
};

const storeError = (path: string, e: unknown): PerimeterError =>
  e instanceof PerimeterError ? e : new PerimeterError('PERIM_E_STORE', `cannot read the inventory from ${path}: ${(e as Error).message}`, { cause: e });

/** The document of an open store's SQLite file (already migrated), read on a second connection. */
export async function writeSqliteDocument(path: string, sink: ChunkSink, head: Record<string, unknown>): Promise<InventoryCounts> {
  const db = open(path);
  try {
    return await write(db, sink, head);
  } finally {
    db.close();
  }
}

/** streamInventoryJson for a SQLite file: undefined when there is no file or its schema is not current. */
export async function streamSqliteFile(target: string, sink: ChunkSink, head: Record<string, unknown>): Promise<InventoryCounts | undefined> {
  const path = resolve(target);
  if (!existsSync(path)) return undefined;
  let db: DatabaseSync | undefined;
  try {
    db = open(path);
    const names = (db.prepare('select name from perimeter_migrations').all() as { name: string }[]).map((r) => r.name);
    if (!migrationsCurrent(names)) throw new Error('not current');
  } catch {
    db?.close();
    return undefined; // openStore will migrate it, or say what is wrong
  }
  try {
    return await write(db, sink, head);
  } catch (e) {
    throw storeError(path, e);
  } finally {
    db.close();
  }
}
