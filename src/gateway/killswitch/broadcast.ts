/**
 * Telling running gateways that a kill changed. A message is a hint naming the target ("kill" or
 * "revive", who, when); receivers re-read that target from the store, so messages that arrive out
 * of order or twice cannot leave a replica with the wrong state.
 *
 * Carriers: Redis PUBLISH on `perimeter:kills`, and PostgreSQL NOTIFY on `perimeter_kills` (with
 * the store's schema appended when it is not "public", so tenants sharing a database do not hear
 * each other). The CLI and LiveKillSwitch both send through `publishKillChange`.
 */
import { writeFile } from 'node:fs/promises';
import { hash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { sql } from 'kysely';
import type { Store } from '../../store/store.ts';
import type { KillKind } from '../types.ts';
import { KILL_KINDS } from './store.ts';

export const REDIS_CHANNEL = 'perimeter:kills';
const PG_CHANNEL = 'perimeter_kills';

export interface KillChange {
  readonly op: 'kill' | 'revive';
  readonly kind: KillKind;
  readonly id: string;
  readonly actor: string;
  readonly at: number;
  /** Who sent it (an instance id), so a sender can tell its own messages. */
  readonly origin: string;
}

export function encodeChange(c: KillChange): string {
  return JSON.stringify({ v: 1, op: c.op, kind: c.kind, id: c.id, actor: c.actor, at: c.at, origin: c.origin });
}

/** The change in a message, or undefined when it is not one (ignored: a hint can do no harm, a malformed one is dropped). */
export function decodeChange(text: string): KillChange | undefined {
  try {
    const m = JSON.parse(text) as Record<string, unknown>;
    if (m.v !== 1 || (m.op !== 'kill' && m.op !== 'revive') || !KILL_KINDS.includes(m.kind as KillKind) || typeof m.id !== 'string') return undefined;
    return { op: m.op, kind: m.kind as KillKind, id: m.id, actor: String(m.actor ?? ''), at: Number(m.at ?? 0), origin: String(m.origin ?? '') };
  } catch {
    return undefined;
  }
}

/** The file beside a SQLite store that kill-switch writers rewrite after each change. */
export function killSignalPath(dbPath: string): string {
  return `${dbPath}.kills`;
}

/** The NOTIFY channel of a PostgreSQL store: per schema, at most 63 bytes (PostgreSQL's identifier limit). */
export async function pgChannel(store: Store): Promise<string> {
  const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(store.db);
  const schema = rows[0]?.schema ?? 'public';
  if (schema === 'public') return PG_CHANNEL;
  const named = `${PG_CHANNEL}_${schema}`;
  return Buffer.byteLength(named) <= 63 ? named : `${PG_CHANNEL}_${hash('sha256', schema, 'hex').slice(0, 32)}`;
}

export interface PublishTo {
  store: Store;
  /** A connected ioredis client: PUBLISH there too. */
  redis?: Redis | undefined;
  /** Redis channel (default perimeter:kills). */
  channel?: string | undefined;
  /** The PostgreSQL channel, when already known (else looked up). */
  pgChannel?: string | undefined;
}

/**
 * Sends the change on every carrier there is: Redis when given, NOTIFY when the store is
 * PostgreSQL. Rejects when one fails (the store already holds the change; replicas that missed the
 * message pick it up at their next reload).
 */
export async function publishKillChange(c: KillChange, to: PublishTo): Promise<void> {
  const payload = encodeChange(c);
  const sends: Promise<unknown>[] = [];
  if (to.redis) sends.push(to.redis.publish(to.channel ?? REDIS_CHANNEL, payload));
  if (to.store.kind === 'postgres') {
    sends.push((async () => sql`select pg_notify(${to.pgChannel ?? (await pgChannel(to.store))}, ${payload})`.execute(to.store.db))());
  }
  // SQLite: replicas on this host watch a signal file beside the database (not the database
  // itself, which every audit commit touches).
  if (to.store.kind === 'sqlite') sends.push(writeFile(killSignalPath(to.store.location), payload));
  const results = await Promise.allSettled(sends);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
