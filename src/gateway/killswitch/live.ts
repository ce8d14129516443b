/**
 * The gateway's kill-switch: active kills held in memory (one Map per kind), answered
 * synchronously by `killed()`, kept current by messages from other replicas and the CLI:
 *
 * - Redis configured: a subscriber connection on `perimeter:kills`;
 * - PostgreSQL store (and its URL given): LISTEN on a dedicated connection;
 * - otherwise (SQLite): a watch on the signal file beside the database (killSignalPath), plus polling every `pollMs`.
 *
 * A message names a target; the switch re-reads that target from the store. Every `reloadMs` the
 * whole active set is reloaded anyway, so a lost message is corrected. All changes to memory go
 * through one serial queue (full reloads, re-reads, local kills), so a slow reload can never
 * overwrite a newer change with an older snapshot.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { EventSink } from '../../audit/events.ts';
import { PerimeterError } from '../../errors/errors.ts';
import type { Store } from '../../store/store.ts';
import { throttledStderr } from '../limits/index.ts';
import type { KillEvent, KillKind, KillSwitch, KillTarget, RequestSubject } from '../types.ts';
import { REDIS_CHANNEL, decodeChange, killSignalPath, pgChannel, publishKillChange, type KillChange } from './broadcast.ts';
import { kill, listKills, recordOf, revive, type KillRecord } from './store.ts';
import { postgresReceiver, redisReceiver, sqliteWatcher, type Receiver } from './transports.ts';

export interface LiveKillSwitchOptions {
  store: Store;
  /** Where kill() and revive() record their audit events (required to call them). */
  sink?: EventSink;
  /** redis://...: messages through Redis pub/sub (gateway.redis). */
  redis?: string | undefined;
  /** The store's postgres:// URL (with its password), for the LISTEN connection. Without it a PostgreSQL store is polled. */
  postgres?: string | undefined;
  /** Poll interval when nothing pushes messages (default 100 ms). */
  pollMs?: number;
  /** SQLite: also watch the database folder for commits (default true; polling alone when false). */
  watch?: boolean;
  /** Full reload interval, the safety net (default 10 s). */
  reloadMs?: number;
  /** Redis channel (default perimeter:kills). */
  channel?: string;
  /** Coordination trouble (lost connections, failed broadcasts, reload errors); default: stderr, throttled. */
  onError?: (e: PerimeterError) => void;
}

type Task = { op: 'full' } | { op: 'reread'; target: KillTarget } | { op: 'apply'; target: KillTarget; record: KillRecord | undefined; done: () => void };

export class LiveKillSwitch implements KillSwitch {
  readonly #o: LiveKillSwitchOptions;
  readonly #origin = `gw-${randomBytes(6).toString('hex')}`;
  readonly #onError: (e: PerimeterError) => void;
  #maps: Record<KillKind, Map<string, KillRecord>> = { model: new Map(), principal: new Map(), runtime: new Map() };
  #count = 0;
  readonly #listeners = new Set<(k: KillEvent) => void>();
  readonly #queue: Task[] = [];
  #fullQueued = false;
  #running: Promise<void> | undefined;
  #paused = true;
  #closed = false;
  readonly #receivers: Receiver[] = [];
  readonly #timers: NodeJS.Timeout[] = [];
  #publisher: Redis | undefined;
  #pgChannel: string | undefined;

  private constructor(o: LiveKillSwitchOptions) {
    this.#o = o;
    this.#onError = o.onError ?? throttledStderr();
  }

  /** Subscribes, loads the active kills, starts the timers. Throws PERIM_E_COORDINATION when Redis/PostgreSQL cannot be listened to. */
  static async open(o: LiveKillSwitchOptions): Promise<LiveKillSwitch> {
    const ks = new LiveKillSwitch(o);
    try {
      await ks.#start();
    } catch (e) {
      await ks.close();
      throw e;
    }
    return ks;
  }

  async #start(): Promise<void> {
    const { store } = this.#o;
    const events = {
      message: (text: string) => this.#onMessage(text),
      resync: () => this.#enqueue({ op: 'full' }),
      error: (e: PerimeterError) => this.#onError(e),
    };
    if (store.kind === 'postgres') this.#pgChannel = await pgChannel(store);
    if (this.#o.redis) {
      this.#publisher = new Redis(this.#o.redis, { maxRetriesPerRequest: 1, commandTimeout: 2000, connectionName: 'perimeter-kills-pub' });
      this.#publisher.on('error', (e: Error) => this.#onError(new PerimeterError('PERIM_E_COORDINATION', `Redis connection for kill-switch messages failed: ${e.message}`, { cause: e })));
      this.#receivers.push(await redisReceiver(this.#o.redis, this.#o.channel ?? REDIS_CHANNEL, `perimeter-kills-${this.#origin}`, events));
    }
    if (store.kind === 'postgres' && this.#o.postgres) this.#receivers.push(await postgresReceiver(this.#o.postgres, this.#pgChannel!, `perimeter-kills-${this.#origin}`, events));
    if (this.#receivers.length === 0) {
      const poll = () => this.#enqueue({ op: 'full' });
      this.#timers.push(setInterval(poll, this.#o.pollMs ?? 100));
      if (store.kind === 'sqlite' && this.#o.watch !== false) this.#receivers.push(sqliteWatcher(killSignalPath(store.location), poll));
    }
    // After subscribing, so nothing sent from here on is missed; messages wait in the queue.
    this.#replace(await listKills(store, { active: true }));
    this.#timers.push(setInterval(() => this.#enqueue({ op: 'full' }), this.#o.reloadMs ?? 10_000));
    for (const t of this.#timers) t.unref();
    this.#paused = false;
    this.#pump();
  }

  /** This instance's id: the origin of its messages, and the name of its Redis / PostgreSQL listening connections ("perimeter-kills-<id>"). */
  get id(): string {
    return this.#origin;
  }

  /** The active kill covering this request: the model (by id or digest), the principal, or the runtime. */
  killed(s: RequestSubject): KillEvent | undefined {
    if (this.#count === 0) return undefined;
    const m = this.#maps;
    return m.model.get(s.model) ?? (s.digest !== null ? m.model.get(s.digest) : undefined) ?? m.principal.get(s.principal) ?? m.runtime.get(s.runtime);
  }

  onKill(listener: (k: KillEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  /** The kills in force, as this replica knows them. */
  active(): KillRecord[] {
    return [...this.#maps.model.values(), ...this.#maps.principal.values(), ...this.#maps.runtime.values()].sort((a, b) => a.killId - b.killId);
  }

  /** Records the kill (store + audit), applies it here, then tells the other replicas. */
  async kill(target: KillTarget, o: { reason?: string; actor: string }): Promise<KillRecord> {
    const { record } = await kill(this.#o.store, this.#sink(), target, o);
    await this.#applyLocal(target, record);
    await this.#broadcast({ op: 'kill', kind: target.kind, id: target.id, actor: o.actor, at: record.at, origin: this.#origin });
    return record;
  }

  /** Ends the target's kills (store + audit; PERIM_E_NOT_FOUND when none), applies it here, tells the other replicas. */
  async revive(target: KillTarget, o: { actor: string }): Promise<KillRecord[]> {
    const records = await revive(this.#o.store, this.#sink(), target, o);
    await this.#applyLocal(target, undefined);
    await this.#broadcast({ op: 'revive', kind: target.kind, id: target.id, actor: o.actor, at: records[0]!.revivedAt!, origin: this.#origin });
    return records;
  }

  /** Reloads every active kill from the store now (resolves once applied). */
  async reload(): Promise<void> {
    this.#enqueue({ op: 'full' });
    while (this.#running) await this.#running;
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const t of this.#timers) clearInterval(t);
    await Promise.all(this.#receivers.map((r) => r.close().catch(() => {})));
    if (this.#publisher) await this.#publisher.quit().catch(() => this.#publisher?.disconnect());
    await this.#running;
    for (const t of this.#queue) if (t.op === 'apply') t.done();
  }

  #sink(): EventSink {
    if (!this.#o.sink) throw new PerimeterError('PERIM_E_USAGE', 'this kill-switch was opened without an event sink; it cannot kill or revive');
    return this.#o.sink;
  }

  async #broadcast(c: KillChange): Promise<void> {
    try {
      await publishKillChange(c, { store: this.#o.store, redis: this.#publisher, channel: this.#o.channel, pgChannel: this.#pgChannel });
    } catch (e) {
      this.#onError(new PerimeterError('PERIM_E_COORDINATION', `the ${c.op} of ${c.kind} ${c.id} is recorded but could not be broadcast (other replicas apply it at their next reload): ${(e as Error).message}`, { cause: e }));
    }
  }

  #onMessage(text: string): void {
    const c = decodeChange(text);
    if (c === undefined || c.origin === this.#origin) return;
    this.#enqueue({ op: 'reread', target: { kind: c.kind, id: c.id } });
  }

  #applyLocal(target: KillTarget, record: KillRecord | undefined): Promise<void> {
    return new Promise((done) => this.#enqueue({ op: 'apply', target, record, done }));
  }

  #enqueue(t: Task): void {
    if (this.#closed) {
      if (t.op === 'apply') t.done();
      return;
    }
    if (t.op === 'full') {
      if (this.#fullQueued) return;
      this.#fullQueued = true;
    }
    this.#queue.push(t);
    this.#pump();
  }

  #pump(): void {
    if (this.#running || this.#paused) return;
    this.#running = this.#drain().finally(() => {
      this.#running = undefined;
      if (this.#queue.length && !this.#closed) this.#pump();
    });
  }

  async #drain(): Promise<void> {
    const { store } = this.#o;
    while (this.#queue.length && !this.#closed) {
      const t = this.#queue.shift()!;
      try {
        if (t.op === 'full') {
          this.#fullQueued = false;
          this.#replace(await listKills(store, { active: true }));
        } else if (t.op === 'reread') {
          const row = await store.db.selectFrom('kills').selectAll().where('kind', '=', t.target.kind).where('target', '=', t.target.id).where('revived_at', 'is', null).orderBy('id').limit(1).executeTakeFirst();
          this.#set(t.target, row ? recordOf(row) : undefined);
        } else {
          this.#set(t.target, t.record);
          t.done();
        }
      } catch (e) {
        if (t.op === 'apply') t.done();
        this.#onError(new PerimeterError('PERIM_E_STORE', `kill-switch ${t.op === 'full' ? 'reload' : 're-read'} failed (kept the last known kills): ${(e as Error).message}`, { cause: e }));
      }
    }
  }

  #set(t: KillTarget, record: KillRecord | undefined): void {
    const map = this.#maps[t.kind];
    const had = map.has(t.id);
    if (record) {
      map.set(t.id, record);
      if (!had) {
        this.#count++;
        this.#emit(record);
      }
    } else if (had) {
      map.delete(t.id);
      this.#count--;
    }
  }

  #replace(records: readonly KillRecord[]): void {
    const old = this.#maps;
    const next: Record<KillKind, Map<string, KillRecord>> = { model: new Map(), principal: new Map(), runtime: new Map() };
    const fresh: KillRecord[] = [];
    for (const r of records.toSorted((a, b) => a.killId - b.killId)) {
      if (!Object.hasOwn(next, r.kind) || next[r.kind].has(r.id)) continue;
      next[r.kind].set(r.id, r);
      if (!old[r.kind].has(r.id)) fresh.push(r);
    }
    this.#maps = next;
    this.#count = next.model.size + next.principal.size + next.runtime.size;
    for (const r of fresh) this.#emit(r);
  }

  #emit(k: KillEvent): void {
    for (const l of this.#listeners) {
      try {
        l(k);
      } catch (e) {
        this.#onError(new PerimeterError('PERIM_E_INTERNAL', `a kill-switch listener threw: ${(e as Error).message}`, { cause: e }));
      }
    }
  }
}
