/**
 * The audit log: an append-only RFC 9162 Merkle log in the store, with group commit.
 *
 * Callers hand events to `submit` (fire and forget, the gateway's hot path) or `append` (a promise
 * that resolves once the entry is durable, with its index). Entries are canonicalised at once
 * (a malformed event throws to the caller), queued, and written in batches by the writer, which
 * hashes their leaves: one transaction per batch, sent when `maxBatch` entries
 * wait or the oldest waiting entry has waited `maxDelayMs` (or on `flush`), at most two in flight
 * per process. Under a steady stream the window, not the commit time, sets the batch size: a
 * commit's fixed cost (locking, the head's MACs, the WAL write) is shared by every entry that
 * arrived within it instead of going out with one or two entries each. The index is
 * allocated inside the transaction under the head-row lock, so it is known when the batch commits
 * and several processes on one PostgreSQL keep one gap-free tree. A promise resolves only after
 * COMMIT returned: an acknowledged entry is never lost; an entry whose batch failed is rejected
 * (or reported to `onError` when submitted) and was not written.
 */
import { PerimeterError, asPerimeterError } from '../errors/errors.ts';
import type { Store } from '../store/store.ts';
import { openHead } from './append.ts';
import { latestCheckpointRow, readHead, writeTransaction } from './db.ts';
import { entryText, type EntryText } from './entry.ts';
import type { AuditEvent, EventSink } from './events.ts';
import { auditFiles, createKey, defaultKeyPath, readCheckpointFile, readKey, writeCheckpointFile, type AuditFiles, type AuditKey } from './keys.ts';
import { openCheckpoint, signCheckpoint, type Checkpoint, type VerifierKey } from './note.ts';
import { contentReplacer, type PrivacyOptions } from './privacy.ts';
import type { Replacer } from './canonical.ts';
import { consistencyProof, inclusionProof } from './prove.ts';
import type { ConsistencyProof, InclusionProof } from './proofs.ts';
import { KyselyWriter, SqliteWorkerWriter, type BatchWriter } from './writer.ts';

export interface AuditLogOptions extends PrivacyOptions {
  /** The key file (default: see keys.ts; PERIMETER_AUDIT_KEY). */
  keyPath?: string;
  /** The origin (key name) for a key made on first start. */
  origin?: string;
  /** Flush when this many entries wait (default 1000). */
  maxBatch?: number;
  /** Flush at most this long after the first waiting entry (default 2 ms). */
  maxDelayMs?: number;
  /** SQLite only: write batches on a worker thread (default true) so commits never stall the event loop. */
  sqliteWorker?: boolean;
  /** Failures of submitted (fire-and-forget) entries and of interval checkpoints; default: a line on stderr. */
  onError?: (error: PerimeterError, lost: number) => void;
  env?: NodeJS.ProcessEnv;
}

export interface Appended {
  index: number;
  /** hex */
  leafHash: string;
  at: number;
}

interface Waiting extends EntryText {
  /** performance.now() when it was handed in. */
  queued: number;
  resolve?: (a: Appended) => void;
  reject?: (e: PerimeterError) => void;
}

const defaultOnError = (e: PerimeterError, lost: number): void => {
  process.stderr.write(`perimeter audit: [${e.code}] ${e.message}${lost ? ` (${lost} submitted entries not recorded)` : ''}\n`);
};

export class AuditLog implements EventSink {
  readonly store: Store;
  readonly files: AuditFiles;
  readonly #key: AuditKey;
  readonly #writer: BatchWriter;
  readonly #replace: Replacer | undefined;
  readonly #maxBatch: number;
  readonly #maxDelayMs: number;
  readonly #onError: (error: PerimeterError, lost: number) => void;
  #pending: Waiting[] = [];
  #running: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** Wakes the drain loop: a full batch is waiting, or a flush began. */
  #wake: (() => void) | undefined;
  /** Flushes under way: while any is, waiting entries go out at once. */
  #flushing = 0;
  #closed = false;
  #batches = 0;
  #written = 0;
  readonly #intervals = new Set<NodeJS.Timeout>();

  private constructor(store: Store, key: AuditKey, files: AuditFiles, options: AuditLogOptions) {
    this.store = store;
    this.#key = key;
    this.files = files;
    this.#replace = contentReplacer(options);
    this.#maxBatch = Math.max(1, options.maxBatch ?? 1000);
    this.#maxDelayMs = Math.max(0, options.maxDelayMs ?? 2);
    this.#onError = options.onError ?? defaultOnError;
    this.#writer =
      store.kind === 'sqlite' && options.sqliteWorker !== false ? new SqliteWorkerWriter(store.location, key.macKey, key.path) : new KyselyWriter(store, key.mac, key.path);
  }

  /**
   * Opens the log in a store: reads (or, for an empty log, makes) the key, and refuses to start when
   * the key is not the one that wrote the log or the database is behind the checkpoint kept
   * outside it (a rollback).
   */
  static async open(store: Store, options: AuditLogOptions = {}): Promise<AuditLog> {
    const files = auditFiles(options.keyPath ?? defaultKeyPath(store, options.env));
    // The file before the head: another process writes the file only after its entries commit, so
    // read in this order a live log's head is never behind the file (the other order races).
    const outside = readCheckpointFile(files.checkpoint);
    const head = await readHead(store.db);
    const latest = await latestCheckpointRow(store.db);
    let key = readKey(files.key);
    if (!key) {
      if (head.size > 0 || latest) {
        throw new PerimeterError('PERIM_E_AUDIT_KEY', `the audit log has ${head.size} entries but its key ${files.key} is missing; restore it or pass its path`, { details: { path: files.key } });
      }
      key = createKey(files.key, options.origin);
    }
    openHead(head, key.mac, key.path);
    if (latest) {
      try {
        openCheckpoint(latest.note, key.key);
      } catch (e) {
        throw new PerimeterError('PERIM_E_AUDIT_KEY', `the audit key ${files.key} did not sign this log's checkpoints: ${(e as Error).message}`, { cause: e });
      }
    }
    if (outside !== undefined) {
      let cp: Checkpoint;
      try {
        cp = openCheckpoint(outside, key.key);
      } catch (e) {
        throw new PerimeterError('PERIM_E_AUDIT_KEY', `the checkpoint file ${files.checkpoint} was not signed by the audit key ${files.key}: ${(e as Error).message}`, { cause: e });
      }
      if (cp.size > head.size) {
        throw new PerimeterError('PERIM_E_AUDIT_TAMPERED', `the audit database holds ${head.size} entries but ${files.checkpoint} has a checkpoint of ${cp.size}: the database was rolled back`, {
          details: { index: head.size },
        });
      }
    }
    return new AuditLog(store, key, files, options);
  }

  /** The public verifier key ("name+id+base64"), for `audit verify --public-key`. */
  get verifierKey(): VerifierKey {
    return this.#key.key;
  }

  get origin(): string {
    return this.#key.key.name;
  }

  /** Entries handed in and not yet durable. */
  get pending(): number {
    return this.#pending.length;
  }

  /** Transactions written and entries they held, since open (group commit at work). */
  get stats(): { batches: number; entries: number } {
    return { batches: this.#batches, entries: this.#written };
  }

  /** Records an event without waiting (the hot path). A failure to store it goes to `onError`. */
  submit(event: AuditEvent): void {
    this.#enqueue({ ...this.#prepare(event), queued: performance.now() });
  }

  /** Records an event; resolves with its index once it is durable. */
  append(event: AuditEvent): Promise<Appended> {
    return new Promise((resolve, reject) => this.#enqueue({ ...this.#prepare(event), queued: performance.now(), resolve, reject }));
  }

  /** EventSink: resolves once the event is durable. */
  async record(event: AuditEvent): Promise<void> {
    await this.append(event);
  }

  /** Resolves when every entry handed in before the call is durable (or failed). */
  async flush(): Promise<void> {
    this.#flushing++;
    try {
      this.#wake?.();
      while (this.#pending.length || this.#running) await this.#kick();
    } finally {
      this.#flushing--;
    }
  }

  /** Signs a checkpoint of everything durable, unless the latest one already covers it; also writes it beside the key. */
  async checkpoint(): Promise<Checkpoint> {
    await this.flush();
    const text = await writeTransaction(this.store, async (db) => {
      const head = await readHead(db, this.store.kind);
      const frontier = openHead(head, this.#key.mac, this.#key.path);
      const latest = await latestCheckpointRow(db);
      if (latest && latest.size >= head.size) return latest.note;
      const root = frontier.root();
      const note = signCheckpoint(this.#key, head.size, root);
      await db.insertInto('audit_checkpoints').values({ size: head.size, root: root.toString('hex'), note, created_at: Date.now() }).execute();
      return note;
    });
    writeCheckpointFile(this.files.checkpoint, text);
    return openCheckpoint(text, this.#key.key);
  }

  /** The latest stored checkpoint, checked against the key; undefined when there is none. */
  async latestCheckpoint(): Promise<Checkpoint | undefined> {
    const row = await latestCheckpointRow(this.store.db);
    return row ? openCheckpoint(row.note, this.#key.key) : undefined;
  }

  /** Signs a checkpoint every `ms` while the log grew; returns a function that stops it. */
  startCheckpointing(ms: number): () => void {
    let busy = false;
    let last = -1;
    const timer = setInterval(() => {
      if (busy || this.#closed) return;
      busy = true;
      readHead(this.store.db)
        .then((h) => (h.size !== last ? this.checkpoint().then((cp) => void (last = cp.size)) : undefined))
        .catch((e) => this.#onError(asPerimeterError(e, 'PERIM_E_STORE'), 0))
        .finally(() => (busy = false));
    }, ms);
    timer.unref();
    this.#intervals.add(timer);
    return () => {
      clearInterval(timer);
      this.#intervals.delete(timer);
    };
  }

  /** Inclusion proof of entry `index` in the tree of `treeSize` entries (default: the latest checkpoint's size). */
  async proveInclusion(index: number, treeSize?: number): Promise<InclusionProof> {
    const size = treeSize ?? (await this.latestCheckpoint())?.size ?? 0;
    return inclusionProof(this.store.db, index, size);
  }

  async proveConsistency(from: number, to: number): Promise<ConsistencyProof> {
    return consistencyProof(this.store.db, from, to);
  }

  /** Stops interval checkpoints and waits for queued entries; the store stays open (the caller owns it). */
  async close(): Promise<void> {
    for (const t of this.#intervals) clearInterval(t);
    this.#intervals.clear();
    this.#closed = true;
    await this.flush();
    await this.#writer.close();
  }

  #prepare(event: AuditEvent): EntryText {
    if (this.#closed) throw new PerimeterError('PERIM_E_AUDIT_CLOSED', 'the audit log is closed');
    return entryText(event, this.#replace);
  }

  #enqueue(w: Waiting): void {
    this.#pending.push(w);
    if (!this.#running) this.#schedule();
    else if (this.#pending.length >= this.#maxBatch) this.#wake?.();
  }

  #schedule(): void {
    if (this.#pending.length >= this.#maxBatch) void this.#kick();
    else this.#timer ??= setTimeout(() => void this.#kick(), this.#maxDelayMs);
  }

  #kick(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#running ??= this.#drain().finally(() => {
      this.#running = undefined;
      if (this.#pending.length) this.#schedule();
    });
    return this.#running;
  }

  /** Milliseconds until the waiting entries are due to go out (0: now). */
  #dueIn(): number {
    if (this.#flushing > 0 || this.#pending.length >= this.#maxBatch) return 0;
    return Math.max(0, this.#pending[0]!.queued + this.#maxDelayMs - performance.now());
  }

  /**
   * Writes batches until none wait, with up to two in flight: a due batch goes out while another
   * commits (it waits for the head lock, so the database never idles between batches); entries not
   * yet due gather until they are, a batch finishes, or enough wait to fill one. Order is kept: a
   * batch asks for the head lock only once the batch before it holds it (writer.ts), so indexes
   * follow the order entries were handed in.
   */
  async #drain(): Promise<void> {
    const inflight = new Set<Promise<void>>();
    while (this.#pending.length || inflight.size) {
      let wait = 0;
      while (this.#pending.length && inflight.size < 2 && (wait = this.#dueIn()) === 0) {
        const p: Promise<void> = this.#commit(this.#pending.splice(0, this.#maxBatch)).finally(() => inflight.delete(p));
        inflight.add(p);
      }
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        for (const p of inflight) p.then(resolve, resolve);
        if (this.#pending.length && inflight.size < 2) timer = setTimeout(resolve, Math.max(1, wait));
      });
      if (timer) clearTimeout(timer);
      this.#wake = undefined;
    }
  }

  async #commit(batch: Waiting[]): Promise<void> {
    let start: number;
    let leaves: Buffer;
    try {
      ({ start, leaves } = await this.#writer.write(batch));
    } catch (e) {
      const err = asPerimeterError(e, 'PERIM_E_STORE');
      let lost = 0;
      for (const w of batch) {
        if (w.reject) w.reject(err);
        else lost++;
      }
      if (lost) this.#onError(err, lost);
      return;
    }
    this.#batches++;
    this.#written += batch.length;
    batch.forEach((w, i) => w.resolve?.({ index: start + i, leafHash: leaves.toString('hex', 32 * i, 32 * i + 32), at: w.at }));
  }
}
