/**
 * The inventory listing on SQLite, on a node:sqlite connection of its own (WAL lets it read beside
 * the store's connection, and writers are not held up), from stored pages (inventory-pages.ts).
 * Changed pages and a changed tail are built by SQLite: each range of rows joined into one BLOB
 * (group_concat), live values merged in SQL from a per-connection temp table of the range's
 * admitted environments; JavaScript never sees a row. One read transaction, so every page and
 * piece comes from the same snapshot; then, holding the write lock, what was built is written back.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { PerimeterError } from '../errors/errors.ts';
import {
  decode,
  groupChanges,
  isCodec,
  pageStats,
  pagedArtifacts,
  pagesToCheck,
  pagesWritten,
  writeBackPlan,
  type Codec,
  type Key,
  type Layout,
  type PageRow,
  type PageWrites,
  type PagedCounts,
  type PagedSource,
  type StreamCounts,
  type WriteBack,
} from './inventory-pages.ts';
import {
  MISSING,
  RUNTIMES_SQL,
  SERVED_ADMITTED_SQL,
  SERVED_SQL,
  SUFFIX_LENGTH,
  fillMissing,
  groupAdmitted,
  migrationsCurrent,
  missingSql,
  missingTexts,
  writeDocument,
  type ChunkSink,
  type InventoryCounts,
  type MissingRow,
  type RuntimeRow,
  type ServedRow,
} from './inventory-stream.ts';

const ENVS = 'temp.perimeter_inventory_envs';
/** The admitted environments of the artifacts `digests` (a subquery; all when undefined) into the temp table. */
const prepareEnvs = (digests?: string): string => `create temp table if not exists perimeter_inventory_envs (digest text primary key, envs text not null) without rowid;
  delete from ${ENVS};
  insert into ${ENVS} select a.digest, json_group_array(a.env order by a.env) from admissions a
    join (select max(id) as id from admissions ${digests ? `where digest in (${digests})` : ''} group by digest, env) l on l.id = a.id
    where a.allowed = 1 group by a.digest;`;

const KEY_AFTER = '(x.created_at, x.digest) > (?, ?)';
const KEY_UPTO = '(x.created_at, x.digest) <= (?, ?)';
const where = (after: boolean, upto: boolean): string => {
  const c = [after ? KEY_AFTER : '', upto ? KEY_UPTO : ''].filter(Boolean);
  return c.length ? `where ${c.join(' and ')}` : '';
};
/** The key of the row `piece` rows into the range (none: the range has fewer). */
const boundSql = (after: boolean, upto: boolean, piece: number): string =>
  `select x.created_at, x.digest from artifacts x ${where(after, upto)} order by x.created_at, x.digest limit 1 offset ${piece - 1}`;
/** The key of the range's last row. */
const lastSql = (after: boolean, upto: boolean): string => `select x.created_at, x.digest from artifacts x ${where(after, upto)} order by x.created_at desc, x.digest desc limit 1`;
/**
 * One range's texts joined by ",\n" as a BLOB, and how many. The rows reach group_concat in the
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
/** A key condition with the key as literals (exec takes no parameters). */
const literalKey = (op: '>' | '<=', [c, d]: Key): string => {
  if (!Number.isSafeInteger(Number(c))) throw new Error(`invalid created_at in an inventory key: ${String(c)}`);
  return `(x.created_at, x.digest) ${op} (${Number(c)}, '${d.replace(/'/g, "''")}')`;
};
const LAYOUT_SQL = 'select id, hi_created_at, hi_digest, rows, codec, tail_rows from inventory_pages order by hi_created_at is null, hi_created_at, hi_digest';
const CHANGES_SQL = 'select page, id from inventory_changes order by page, id';

/** The layout of a listing built wholly from the rows: the tail alone, no pages. */
const ROWS_ONLY: Layout = { pages: [{ id: 0, hi: null, rows: 0, codec: 'none' }], changes: new Map() };

type Arr = SQLInputValue[];

function source(db: DatabaseSync, paged: boolean): PagedSource {
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
  // The temp table is this connection's own: nothing is written to the database.
  const envs = (after: Key | undefined, upto: Key | undefined): void => {
    const range = [after ? literalKey('>', after) : '', upto ? literalKey('<=', upto) : ''].filter(Boolean);
    db.exec(prepareEnvs(range.length ? `select x.digest from artifacts x where ${range.join(' and ')}` : undefined));
  };
  const missing = async (digests: string[]): Promise<Map<string, string>> => {
    const sql = missingSql(`select envs from ${ENVS} e where e.digest = a.digest`, 'select value from json_each(?)');
    return missingTexts(db.prepare(sql).all(JSON.stringify(digests)) as unknown as MissingRow[]);
  };
  return {
    async layout() {
      if (!paged) return ROWS_ONLY;
      const pages = (prep(LAYOUT_SQL).all() as unknown as [number, number | null, string | null, number, string, number | null][]).map(([id, c, d, rows, codec, tailRows]): PageRow => {
        if (!isCodec(codec)) throw new Error(`inventory page ${id} has unknown codec "${codec}"`);
        return { id, hi: c === null ? null : [c, d!], rows, codec, tailRows };
      });
      return { pages, changes: groupChanges(prep(CHANGES_SQL).all() as unknown as [number, number][]) };
    },
    async *bodies(pages) {
      const st = prep('select codec, body from inventory_pages where id = ?');
      for (const p of pages) {
        const row = st.get(p.id) as unknown as [string, Uint8Array | null] | undefined;
        if (!row?.[1]) throw new Error(`inventory page ${p.id} has no body`);
        yield await decode(row[1], row[0]);
      }
    },
    async *build(after, upto, piece) {
      envs(after, upto); // for this range's artifacts only (missing() reads them too)
      let from: Key | undefined = after;
      const up = (upto ?? []) as Arr;
      for (;;) {
        const at = (from ?? []) as Arr;
        const bound = piece === undefined ? undefined : (prep(boundSql(!!from, !!upto, piece)).get(...at, ...up) as unknown as Key | undefined);
        const to = bound ?? upto;
        const [text, rows] = prep(chunkSql(!!from, !!to)).get(...at, ...((to ?? []) as Arr)) as unknown as [Uint8Array | null, number];
        if (!text || !rows) return;
        const hi = bound ?? (prep(lastSql(!!from, !!upto)).get(...at, ...up) as unknown as Key);
        yield { text: await fillMissing(text, missing), rows, hi };
        if (!bound) return;
        from = bound;
      }
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

/** Writes back what a listing built (inventory-pages.ts), holding the write lock; waits at most ~100 ms for it. */
export function writeBackSqlite(db: DatabaseSync, w: PageWrites | undefined, codec: Codec = 'none'): WriteBack {
  const check = w ? pagesToCheck(w) : [];
  if (!w || !check.length) return { skipped: 'nothing to write' };
  try {
    db.exec('pragma busy_timeout = 100');
    db.exec('begin immediate');
  } catch (error) {
    return { skipped: 'busy', error };
  }
  try {
    const maxPageId = Number((db.prepare('select max(id) as m from inventory_pages').get() as { m: number }).m);
    const ids = db.prepare('select page, id from inventory_changes where page = ? order by id');
    ids.setReturnArrays(true);
    const changes = groupChanges(check.flatMap((p) => ids.all(p) as unknown as [number, number][]));
    const tailEpoch = Number((db.prepare('select rows from inventory_pages where id = 0').get() as { rows: number }).rows);
    const plan = writeBackPlan(w, { maxPageId, tailEpoch, changes }, codec);
    const update = db.prepare('update inventory_pages set rows = ?, codec = ?, body = ? where id = ?');
    const tail = db.prepare('update inventory_pages set rows = ?, tail_rows = ?, codec = ?, body = ? where id = ?');
    const insert = db.prepare('insert into inventory_pages (id, hi_created_at, hi_digest, rows, codec, body) values (?, ?, ?, ?, ?, ?)');
    const forget = db.prepare('delete from inventory_changes where page = ? and id <= ?');
    for (const op of plan) {
      if (op.op === 'update') update.run(op.rows, op.codec, op.body, op.id);
      else if (op.op === 'insert') insert.run(op.id, op.hi[0], op.hi[1], op.rows, op.codec, op.body);
      else if (op.op === 'tail') tail.run(op.epoch, op.rows, op.codec, op.body, 0);
      else forget.run(op.page, op.upTo);
    }
    db.exec('commit');
    return plan.length ? { written: pagesWritten(plan) } : { skipped: 'changed meanwhile' };
  } catch (error) {
    db.exec('rollback');
    return { skipped: 'failed', error };
  }
}

/**
 * Writes the document from an open connection, in one read transaction; then, paged, writes back
 * what it built (unless told not to: tests hold it back to change the rows first).
 */
export async function listSqlite(db: DatabaseSync, sink: ChunkSink, head: Record<string, unknown>, paged: boolean, writeBack = true): Promise<PagedCounts> {
  const writes: { value?: PageWrites } = {};
  let counts: InventoryCounts;
  db.exec('begin');
  try {
    counts = await writeDocument(pagedArtifacts(source(db, paged), writes), sink, head);
  } finally {
    db.exec('rollback');
  }
  const w = writes.value!;
  return { ...counts, pages: { ...pageStats(w), writeBack: writeBack ? writeBackSqlite(db, w) : { skipped: 'held back' } }, writes: w };
}

const open = (path: string): DatabaseSync => {
  return new DatabaseSync(path, { timeout: 10_000 });
};

const storeError = (path: string, e: unknown): PerimeterError =>
  e instanceof PerimeterError ? e : new PerimeterError('PERIM_E_STORE', `cannot read the inventory from ${path}: ${(e as Error).message}`, { cause: e });

/** The document of an open store's SQLite file (already migrated), read on a second connection, built wholly from the rows. */
export async function writeSqliteDocument(path: string, sink: ChunkSink, head: Record<string, unknown>): Promise<InventoryCounts> {
  const db = open(path);
  try {
    const { artifacts, runtimes } = await listSqlite(db, sink, head, false);
    return { artifacts, runtimes };
  } finally {
    db.close();
  }
}

/** streamInventoryJson for a SQLite file: undefined when there is no file or its schema is not current. */
export async function streamSqliteFile(target: string, sink: ChunkSink, head: Record<string, unknown>): Promise<StreamCounts | undefined> {
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
    const { artifacts, runtimes, pages } = await listSqlite(db, sink, head, true);
    return { artifacts, runtimes, pages };
  } catch (e) {
    throw storeError(path, e);
  } finally {
    db.close();
  }
}
