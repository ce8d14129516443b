/**
 * Kill-switch entries in the store (table `kills`, one row per kill, active while revived_at is
 * null), audited as gateway.kill / gateway.revive. These functions only write and read the store;
 * telling running gateways is broadcast.ts's job (LiveKillSwitch does both).
 */
import { PerimeterError } from '../../errors/errors.ts';
import type { EventSink } from '../../audit/events.ts';
import type { Store } from '../../store/store.ts';
import type { KillEvent, KillKind, KillTarget } from '../types.ts';

export const KILL_KINDS: readonly KillKind[] = ['model', 'principal', 'runtime'];
const MAX_ID = 512;
const MAX_REASON = 1000;

export interface KillRecord extends KillEvent {
  /** The row id in `kills`. */
  readonly killId: number;
  readonly revivedAt: number | null;
  readonly revivedBy: string | null;
}

interface KillRow {
  id: number;
  kind: string;
  target: string;
  reason: string;
  actor: string;
  created_at: number;
  revived_at: number | null;
  revived_by: string | null;
}

export const recordOf = (r: KillRow): KillRecord => ({
  kind: r.kind as KillKind,
  id: r.target,
  reason: r.reason,
  actor: r.actor,
  at: Number(r.created_at),
  killId: Number(r.id),
  revivedAt: r.revived_at === null ? null : Number(r.revived_at),
  revivedBy: r.revived_by,
});

/** Refuses targets, reasons and actors a kill cannot carry (PERIM_E_USAGE). */
export function checkTarget(t: KillTarget): void {
  if (!KILL_KINDS.includes(t.kind)) throw new PerimeterError('PERIM_E_USAGE', `a kill targets a model, principal or runtime, not "${String(t.kind)}"`);
  if (typeof t.id !== 'string' || t.id.length === 0 || t.id.length > MAX_ID || /[\u0000-\u001f\u007f]/.test(t.id)) {
    throw new PerimeterError('PERIM_E_USAGE', `the ${t.kind} to kill must be 1-${MAX_ID} characters without control characters`);
  }
}

export interface KillOptions {
  reason?: string;
  actor: string;
  /** Epoch ms (default now). */
  at?: number;
}

export interface KillResult {
  readonly record: KillRecord;
  /** false when the target was already killed (the existing kill is returned; nothing is written). */
  readonly created: boolean;
}

export async function kill(store: Store, sink: EventSink, target: KillTarget, o: KillOptions): Promise<KillResult> {
  checkTarget(target);
  const reason = o.reason ?? '';
  if (reason.length > MAX_REASON) throw new PerimeterError('PERIM_E_USAGE', `a kill reason is at most ${MAX_REASON} characters`);
  if (!o.actor) throw new PerimeterError('PERIM_E_USAGE', 'a kill needs an actor');
  const existing = await activeRows(store, target);
  if (existing[0]) return { record: recordOf(existing[0]), created: false };
  const at = o.at ?? Date.now();
  const row = await store.db
    .insertInto('kills')
    .values({ kind: target.kind, target: target.id, reason, actor: o.actor, created_at: at, revived_at: null, revived_by: null })
    .returning(['id'])
    .executeTakeFirstOrThrow();
  const record = recordOf({ id: row.id, kind: target.kind, target: target.id, reason, actor: o.actor, created_at: at, revived_at: null, revived_by: null });
  await sink.record({ type: 'gateway.kill', actor: o.actor, subject: `${target.kind}:${target.id}`, data: { kind: target.kind, target: target.id, reason, kill_id: record.killId }, at });
  return { record, created: true };
}

/** Ends every active kill of the target; PERIM_E_NOT_FOUND when there is none. Returns the revived kills. */
export async function revive(store: Store, sink: EventSink, target: KillTarget, o: { actor: string; at?: number }): Promise<KillRecord[]> {
  checkTarget(target);
  if (!o.actor) throw new PerimeterError('PERIM_E_USAGE', 'a revive needs an actor');
  const at = o.at ?? Date.now();
  const rows = await store.db
    .updateTable('kills')
    .set({ revived_at: at, revived_by: o.actor })
    .where('kind', '=', target.kind)
    .where('target', '=', target.id)
    .where('revived_at', 'is', null)
    .returningAll()
    .execute();
  if (rows.length === 0) throw new PerimeterError('PERIM_E_NOT_FOUND', `no active kill of ${target.kind} ${target.id}`, { details: { kind: target.kind, target: target.id } });
  const records = rows.map(recordOf).sort((a, b) => a.killId - b.killId);
  await sink.record({ type: 'gateway.revive', actor: o.actor, subject: `${target.kind}:${target.id}`, data: { kind: target.kind, target: target.id, kill_ids: records.map((r) => r.killId) }, at });
  return records;
}

/** Kills, newest first; `active: true` only those in force, `false` only revived ones. */
export async function listKills(store: Store, o: { active?: boolean } = {}): Promise<KillRecord[]> {
  let q = store.db.selectFrom('kills').selectAll();
  if (o.active === true) q = q.where('revived_at', 'is', null);
  else if (o.active === false) q = q.where('revived_at', 'is not', null);
  const rows = await q.orderBy('id', 'desc').execute();
  return rows.map(recordOf);
}

function activeRows(store: Store, t: KillTarget): Promise<KillRow[]> {
  return store.db.selectFrom('kills').selectAll().where('kind', '=', t.kind).where('target', '=', t.id).where('revived_at', 'is', null).orderBy('id').execute();
}
