/**
 * The audit log's queries, the same kysely code on SQLite and PostgreSQL. Writers serialise on the
 * head row: PostgreSQL locks it with SELECT ... FOR UPDATE, SQLite takes the write lock up front
 * with BEGIN IMMEDIATE (waiting up to busy_timeout for other processes). Index allocation happens
 * under that lock, so several processes sharing one database extend one gap-free tree.
 */
import { sql, type Kysely } from 'kysely';
import { PerimeterError } from '../errors/errors.ts';
import type { AuditEntryTable, AuditNodeTable, Database } from '../store/schema.ts';
import type { Store } from '../store/store.ts';
import type { HeadRow } from './append.ts';
import { nodeId, type Piece } from './tree.ts';

export type Db = Kysely<Database>;

export type { HeadRow };

/** Runs `fn` in a write transaction on one connection; commits when it returns, rolls back when it throws. */
export async function writeTransaction<T>(store: Store, fn: (db: Db) => Promise<T>): Promise<T> {
  return store.db.connection().execute(async (db) => {
    await sql.raw(store.kind === 'sqlite' ? 'begin immediate' : 'begin').execute(db);
    let result: T;
    try {
      result = await fn(db);
    } catch (e) {
      await sql.raw('rollback').execute(db).catch(() => {});
      throw e;
    }
    await sql.raw('commit').execute(db);
    return result;
  });
}

/** Runs `fn` over one consistent snapshot (repeatable read on PostgreSQL, a read transaction on SQLite). */
export async function readSnapshot<T>(store: Store, fn: (db: Db) => Promise<T>): Promise<T> {
  return store.db.connection().execute(async (db) => {
    await sql.raw(store.kind === 'sqlite' ? 'begin' : 'begin isolation level repeatable read read only').execute(db);
    try {
      return await fn(db);
    } finally {
      await sql.raw('commit').execute(db).catch(() => {});
    }
  });
}

export async function readHead(db: Db, lock: false | 'postgres' | 'sqlite' = false): Promise<HeadRow> {
  let q = db.selectFrom('audit_head').select(['size', 'frontier', 'mac']).where('id', '=', 1);
  if (lock === 'postgres') q = q.forUpdate();
  const row = await q.executeTakeFirst();
  if (!row) throw new PerimeterError('PERIM_E_AUDIT_TAMPERED', 'the audit head row is missing from the database', { details: { index: 0 } });
  return row;
}

export async function writeHead(db: Db, head: HeadRow): Promise<void> {
  await db.updateTable('audit_head').set({ ...head, updated_at: Date.now() }).where('id', '=', 1).execute();
}

const CHUNK = 2000;

/**
 * Batch inserts. PostgreSQL gets one array parameter per column (INSERT ... SELECT FROM unnest):
 * a 1000-row batch is 6 parameters instead of 6000, about twice the throughput; SQLite (no arrays)
 * gets multi-row VALUES through kysely.
 */
export async function insertEntries(db: Db, kind: Store['kind'], rows: AuditEntryTable[]): Promise<void> {
  if (kind === 'postgres') {
    const col = <K extends keyof AuditEntryTable>(k: K): AuditEntryTable[K][] => rows.map((r) => r[k]);
    await sql`insert into audit_entries (idx, at, type, entry, leaf_hash, mac)
      select * from unnest(${col('idx')}::bigint[], ${col('at')}::bigint[], ${col('type')}::text[], ${col('entry')}::text[], ${col('leaf_hash')}::text[], ${col('mac')}::text[])`.execute(db);
    return;
  }
  for (let i = 0; i < rows.length; i += CHUNK) await db.insertInto('audit_entries').values(rows.slice(i, i + CHUNK)).execute();
}

export async function insertNodes(db: Db, kind: Store['kind'], rows: AuditNodeTable[]): Promise<void> {
  if (kind === 'postgres') {
    await sql`insert into audit_nodes (id, hash) select * from unnest(${rows.map((r) => r.id)}::bigint[], ${rows.map((r) => r.hash)}::text[])`.execute(db);
    return;
  }
  for (let i = 0; i < rows.length; i += CHUNK * 3) await db.insertInto('audit_nodes').values(rows.slice(i, i + CHUNK * 3)).execute();
}

export async function latestCheckpointRow(db: Db): Promise<{ size: number; root: string; note: string } | undefined> {
  return db.selectFrom('audit_checkpoints').select(['size', 'root', 'note']).orderBy('size', 'desc').limit(1).executeTakeFirst();
}

export async function checkpointRows(db: Db, minSize = 0): Promise<{ size: number; root: string; note: string }[]> {
  return db.selectFrom('audit_checkpoints').select(['size', 'root', 'note']).where('size', '>=', minSize).orderBy('size').execute();
}

export async function entriesPage(db: Db, from: number, limit: number): Promise<Pick<AuditEntryTable, 'idx' | 'at' | 'entry' | 'leaf_hash' | 'mac'>[]> {
  return db.selectFrom('audit_entries').select(['idx', 'at', 'entry', 'leaf_hash', 'mac']).where('idx', '>=', from).orderBy('idx').limit(limit).execute();
}

export async function nodesPage(db: Db, fromId: number, limit: number): Promise<AuditNodeTable[]> {
  return db.selectFrom('audit_nodes').select(['id', 'hash']).where('id', '>=', fromId).orderBy('id').limit(limit).execute();
}

/** The hashes of perfect pieces, in one round trip: leaves from the entries, larger subtrees from the node table. */
export async function fetchPieces(db: Db, pieces: readonly Piece[]): Promise<(p: Piece) => Buffer> {
  const leafIdx = pieces.filter((p) => p.level === 0).map((p) => p.start);
  const ids = pieces.filter((p) => p.level > 0).map((p) => nodeId(p.level, p.start));
  // Leaves come back as id -1 - idx so one column keys both tables.
  const leaves = db.selectFrom('audit_entries').select([sql<number>`-1 - idx`.as('id'), 'leaf_hash as hash']).where('idx', 'in', leafIdx.length ? leafIdx : [-1]);
  const rows = ids.length ? await leaves.unionAll(db.selectFrom('audit_nodes').select(['id', 'hash']).where('id', 'in', ids)).execute() : await leaves.execute();
  const byId = new Map(rows.map((r) => [Number(r.id), r.hash]));
  return (p) => {
    const hex = byId.get(p.level === 0 ? -1 - p.start : nodeId(p.level, p.start));
    if (hex === undefined || !/^[0-9a-f]{64}$/.test(hex)) {
      throw new PerimeterError('PERIM_E_AUDIT_TAMPERED', `the audit tree hash for entries ${p.start}..${p.start + 2 ** p.level - 1} is missing or malformed`, {
        details: { index: p.start },
      });
    }
    return Buffer.from(hex, 'hex');
  };
}

/** The first index whose event time is at or after `since` (epoch ms), or undefined. */
export async function firstIndexSince(db: Db, since: number): Promise<number | undefined> {
  const row = await db.selectFrom('audit_entries').select((eb) => eb.fn.min<number>('idx').as('i')).where('at', '>=', since).executeTakeFirst();
  return row?.i === null || row?.i === undefined ? undefined : Number(row.i);
}
