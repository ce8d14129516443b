/**
 * Where a batch goes. Every writer hashes the entries' leaves, then does the same transaction: lock
 * the head, extend (append.ts), insert entries and new subtree nodes, update the head, commit; it
 * resolves with the first index and the leaf hashes.
 *
 * - KyselyWriter: through the store's kysely (PostgreSQL; SQLite when asked).
 * - SqliteWorkerWriter: SQLite on a worker thread with its own connection to the same file.
 *   node:sqlite is synchronous, so on the main thread every batch's insert and fsync would stall
 *   the event loop (the gateway's requests) for milliseconds; on a worker the main thread only
 *   canonicalises (the worker hashes leaves, MACs and commits), and the two run on two cores.
 */
import { Worker } from 'node:worker_threads';
import { PerimeterError, type ErrorCode } from '../errors/errors.ts';
import type { Store } from '../store/store.ts';
import { extend, withLeaves, type HeadRow } from './append.ts';
import type { EntryText } from './entry.ts';
import { insertEntries, insertNodes, readHead, writeHead, writeTransaction } from './db.ts';
import type { Mac } from './mac.ts';
import type { WorkerReply, WorkerRequest } from './sqlite-worker.ts';

/** A written batch: the index of its first entry, and its leaf hashes (32 bytes each, in order). */
export interface Written {
  start: number;
  leaves: Buffer;
}

export interface BatchWriter {
  write(batch: readonly EntryText[]): Promise<Written>;
  close(): Promise<void>;
}

export class KyselyWriter implements BatchWriter {
  readonly #store: Store;
  readonly #mac: Mac;
  readonly #keyPath: string;
  /** The head this writer expects after its latest batch: the next batch is prepared against it before taking the lock. */
  #expected: HeadRow | undefined;
  #seq = 0;
  /** Resolves when the previous batch holds the head lock (or gave up): batches take the lock in the order they were handed in. */
  #previousLocked: Promise<void> = Promise.resolve();

  constructor(store: Store, mac: Mac, keyPath: string) {
    this.#store = store;
    this.#mac = mac;
    this.#keyPath = keyPath;
  }

  write(texts: readonly EntryText[]): Promise<Written> {
    const batch = withLeaves(texts);
    const leaves = Buffer.concat(batch.map((e) => e.leaf));
    const kind = this.#store.kind;
    const seq = ++this.#seq;
    // Rows (indexes, MACs, subtree hashes) prepared outside the lock, against the expected head;
    // used only if the head under the lock is exactly that one (else another process or a
    // failed batch came between, and they are prepared again).
    const base = this.#expected;
    const guess = base ? extend(base, batch, this.#mac, this.#keyPath) : undefined;
    this.#expected = guess?.head;
    const previous = this.#previousLocked;
    let locked!: () => void;
    this.#previousLocked = new Promise((resolve) => (locked = resolve));
    return writeTransaction(this.#store, async (db) => {
      // Two batches in flight run on two connections; without this the second could reach the
      // lock first and take lower indexes than entries handed in before it.
      let head: HeadRow;
      try {
        await previous;
        head = await readHead(db, kind);
      } finally {
        locked();
      }
      const same = base && head.size === base.size && head.frontier === base.frontier && head.mac === base.mac;
      const next = same && guess ? guess : extend(head, batch, this.#mac, this.#keyPath);
      await insertEntries(db, kind, next.rows);
      if (next.nodes.length) await insertNodes(db, kind, next.nodes);
      await writeHead(db, next.head);
      return { start: head.size, head: next.head };
    }).then(
      (r) => {
        if (seq === this.#seq) this.#expected = r.head;
        return { start: r.start, leaves };
      },
      (e: unknown) => {
        locked(); // also when the transaction failed before reaching the lock
        if (seq === this.#seq) this.#expected = undefined;
        throw e;
      },
    );
  }

  async close(): Promise<void> {}
}

export class SqliteWorkerWriter implements BatchWriter {
  readonly #path: string;
  readonly #macKey: Buffer;
  readonly #keyPath: string;
  #worker: Worker | undefined;
  #seq = 0;
  readonly #waiting = new Map<number, { resolve: (w: Written) => void; reject: (e: PerimeterError) => void }>();

  constructor(path: string, macKey: Buffer, keyPath: string) {
    this.#path = path;
    this.#macKey = macKey;
    this.#keyPath = keyPath;
    // Started now, so its ~0.2 s start-up does not land on the first appends; idle, it does not keep the process alive.
    this.#worker = this.#start();
    this.#worker.unref();
  }

  #start(): Worker {
    const w = new Worker(new URL('./sqlite-worker.ts', import.meta.url), { workerData: { path: this.#path, macKey: this.#macKey, keyPath: this.#keyPath } });
    w.on('message', (m: WorkerReply) => {
      const p = this.#waiting.get(m.id);
      if (!p) return;
      this.#waiting.delete(m.id);
      if (this.#waiting.size === 0) w.unref(); // idle: do not keep the process alive
      if (m.error) p.reject(new PerimeterError(m.error.code as ErrorCode, m.error.message, m.error.details ? { details: m.error.details } : undefined));
      else p.resolve({ start: m.start!, leaves: Buffer.from(m.leaves!.buffer, m.leaves!.byteOffset, m.leaves!.byteLength) });
    });
    const failAll = (e: unknown): void => {
      const err = new PerimeterError('PERIM_E_STORE', `the audit writer thread stopped: ${(e as Error)?.message ?? e}`, { cause: e });
      for (const p of this.#waiting.values()) p.reject(err);
      this.#waiting.clear();
      this.#worker = undefined;
    };
    w.on('error', failAll);
    w.on('exit', (code) => failAll(new Error(`exit code ${code}`)));
    return w;
  }

  write(batch: readonly EntryText[]): Promise<Written> {
    this.#worker ??= this.#start();
    const w = this.#worker;
    const id = ++this.#seq;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      w.ref();
      const req: WorkerRequest = { id, batch: batch.map((e) => ({ at: e.at, type: e.type, entry: e.entry })) };
      w.postMessage(req);
    });
  }

  async close(): Promise<void> {
    const w = this.#worker;
    this.#worker = undefined;
    if (w) {
      w.removeAllListeners('exit');
      await w.terminate();
    }
  }
}
