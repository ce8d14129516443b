/**
 * The SQLite audit writer thread (writer.ts): its own node:sqlite connection to the store's file,
 * one transaction per batch (BEGIN IMMEDIATE waits for other writers, in this process or others).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { asPerimeterError } from '../errors/errors.ts';
import { DatabaseSync } from 'node:sqlite';
import { extend, withLeaves, type HeadRow } from './append.ts';
import type { EntryText } from './entry.ts';
import { Mac } from './mac.ts';

export interface WorkerRequest {
  id: number;
  batch: EntryText[];
}

export interface WorkerReply {
  id: number;
  start?: number;
  /** The batch's leaf hashes, 32 bytes each. */
  leaves?: Uint8Array;
  error?: { code: string; message: string; details?: Record<string, unknown> };
}

if (parentPort) {
  const port = parentPort;
  const { path, macKey, keyPath } = workerData as { path: string; macKey: Uint8Array; keyPath: string };
  const mac = new Mac(Buffer.from(macKey));
  // The same settings as the store's connection (src/store/sqlite.ts), without loading kysely here.
  const raw = new DatabaseSync(path, { timeout: 10_000 }); // busy timeout before the first statement
  raw.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;');
  const head = raw.prepare('select size, frontier, mac from audit_head where id = 1');
  const entry = raw.prepare('insert into audit_entries (idx, at, type, entry, leaf_hash, mac) values (?, ?, ?, ?, ?, ?)');
  const node = raw.prepare('insert into audit_nodes (id, hash) values (?, ?)');
  const update = raw.prepare('update audit_head set size = ?, frontier = ?, mac = ?, updated_at = ? where id = 1');

  port.on('message', (req: WorkerRequest) => {
    let reply: WorkerReply;
    try {
      const batch = withLeaves(req.batch); // before the write lock, which other processes may wait for
      raw.exec('begin immediate');
      try {
        const h = head.get() as HeadRow | undefined;
        if (!h) throw new Error('the audit head row is missing');
        const next = extend(h, batch, mac, keyPath);
        for (const r of next.rows) entry.run(r.idx, r.at, r.type, r.entry, r.leaf_hash, r.mac);
        for (const n of next.nodes) node.run(n.id, n.hash);
        update.run(next.head.size, next.head.frontier, next.head.mac, Date.now());
        raw.exec('commit');
        reply = { id: req.id, start: h.size, leaves: Buffer.concat(batch.map((e) => e.leaf)) };
      } catch (e) {
        if (raw.isTransaction) raw.exec('rollback');
        throw e;
      }
    } catch (e) {
      const err = asPerimeterError(e, 'PERIM_E_STORE');
      reply = { id: req.id, error: { code: err.code, message: err.message, ...(err.details ? { details: { ...err.details } } : {}) } };
    }
    port.postMessage(reply);
  });
}
