/**
 * The inventory: every artifact with its evidence and the environments it is admitted to, and
 * every runtime with what it serves and whether that matches an admitted artifact. A fixed number
 * of set-based queries whatever the size (no per-row query). The listing itself is built by the
 * database (inventory-stream.ts, inventory-sqlite.ts, inventory-pg.ts): each artifact's read model
 * with its live values merged in SQL, joined into chunks of bytes.
 */
import { sql } from 'kysely';
import type { Store } from '../store/store.ts';
import { read } from './db.ts';
import { Admitted } from './inventory-copy.ts';
import { ENVS_SQL, MISSING_PG_SQL, ROWS_SQL, SESSION_SQL, rowText } from './inventory-pg.ts';
import {
  CHUNK_ROWS,
  RUNTIMES_SQL,
  SERVED_ADMITTED_SQL,
  SERVED_SQL,
  groupAdmitted,
  missingTexts,
  writeDocument,
  type ArtifactSource,
  type ChunkSink,
  type InventoryCounts,
  type InventoryRuntime,
  type MissingRow,
  type RuntimeRow,
  type ServedRow,
} from './inventory-stream.ts';
import { writeSqliteDocument } from './inventory-sqlite.ts';

export type { ChunkSink, InventoryCounts, InventoryRuntime, InventoryServed, ServedStatus } from './inventory-stream.ts';
export { streamInventoryJson } from './inventory-stream.ts';

export interface InventoryArtifact {
  digest: string;
  name: string;
  kind: string;
  format: string | null;
  license: string | null;
  /** A digest, or "name:<id>" for a parent not registered yet. */
  parentDigest: string | null;
  parentName: string | null;
  predecessorDigest: string | null;
  signerMethod: string | null;
  signer: string | null;
  signerIssuer: string | null;
  /** none | unverified | verified | invalid */
  signatureStatus: string;
  scanVerdict: string | null;
  scanFindings: number;
  bytes: number;
  files: number;
  tier: number | null;
  trainingFlops: number | null;
  /** Environments whose latest admission decision for this digest allowed it. */
  admittedEnvs: string[];
  createdAt: number;
  updatedAt: number;
}

export interface Inventory {
  artifacts: InventoryArtifact[];
  runtimes: InventoryRuntime[];
}

/**
 * PostgreSQL through the store's pool (kysely): the same SQL as the COPY of inventory-pg.ts, its
 * rows joined here. `perimeter inventory --json` uses the COPY on a connection of its own.
 */
async function writePostgres(store: Store, sink: ChunkSink, head: Record<string, unknown>): Promise<InventoryCounts> {
  return store.db
    .transaction()
    .setIsolationLevel('repeatable read')
    .execute(async (trx) => {
      for (const s of SESSION_SQL.split(';')) await sql.raw(s).execute(trx);
      const source: ArtifactSource = {
        async chunks(emit) {
          const admitted = new Admitted(JSON.parse((await sql.raw<{ m: string }>(ENVS_SQL).execute(trx)).rows[0]!.m) as Record<string, string[]>);
          const rows = (await sql.raw<{ j: string | null; d: string | null; t: string | null }>(ROWS_SQL).execute(trx)).rows;
          for (let i = 0; i < rows.length; i += CHUNK_ROWS) {
            const end = Math.min(rows.length, i + CHUNK_ROWS);
            const texts: string[] = [];
            for (let k = i; k < end; k++) texts.push(rowText(rows[k]!.j, rows[k]!.d, rows[k]!.t, admitted));
            await emit(Buffer.from(texts.join(',\n')), end - i);
          }
        },
        async missing(digests) {
          const [before, after] = MISSING_PG_SQL.split('$1') as [string, string];
          return missingTexts((await sql<MissingRow>`${sql.raw(before)}${digests}${sql.raw(after)}`.execute(trx)).rows);
        },
        async runtimes() {
          const runtimes = (await sql.raw<RuntimeRow>(RUNTIMES_SQL).execute(trx)).rows;
          const served = (await sql.raw<ServedRow>(SERVED_SQL).execute(trx)).rows;
          const admitted = groupAdmitted((await sql.raw<{ digest: string; env: string }>(SERVED_ADMITTED_SQL).execute(trx)).rows);
          return { runtimes, served, admitted };
        },
      };
      return writeDocument(source, sink, head);
    });
}

/**
 * Streams the inventory as one JSON document, {...head, "artifacts": [...], "runtimes": [...]}\n,
 * one artifact per line, in registration order, as UTF-8 chunks of a few MB each: what
 * `perimeter inventory --json` prints.
 */
export async function writeInventoryJsonBytes(store: Store, sink: ChunkSink, head: Record<string, unknown> = {}): Promise<InventoryCounts> {
  return read(store, 'the inventory', () => (store.kind === 'sqlite' ? writeSqliteDocument(store.location, sink, head) : writePostgres(store, sink, head)));
}

/** writeInventoryJsonBytes with each chunk as a string (chunks end on whole artifacts). */
export async function writeInventoryJson(store: Store, write: (chunk: string) => void, head: Record<string, unknown> = {}): Promise<InventoryCounts> {
  return writeInventoryJsonBytes(store, (c) => write(Buffer.from(c.buffer, c.byteOffset, c.byteLength).toString('utf8')), head);
}

/** The inventory as objects (for the table and the BOM). For large JSON output use writeInventoryJson. */
export async function inventory(store: Store): Promise<Inventory> {
  const parts: Uint8Array[] = [];
  await writeInventoryJsonBytes(store, (c) => void parts.push(c));
  const doc = JSON.parse(Buffer.concat(parts).toString('utf8')) as Inventory;
  return { artifacts: doc.artifacts, runtimes: doc.runtimes };
}
