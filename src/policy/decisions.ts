/**
 * Admission decisions on record: every decision is a row in `admissions` and an
 * `admission.decision` event. "Admitted" means the latest decision for (digest, environment)
 * allowed it.
 */
import type { Store } from '../store/store.ts';
import type { EventSink } from '../audit/events.ts';
import type { Reason } from './checks.ts';

export interface DecisionToRecord {
  allowed: boolean;
  digest: string | null;
  env: string;
  reasons: Reason[];
  policies: string[];
  decidedAt: number;
}

export async function recordDecision(store: Store, sink: EventSink, d: DecisionToRecord, context: Record<string, unknown> & { actor?: string | undefined }): Promise<number> {
  const { actor, ...rest } = context;
  const row = await store.db
    .insertInto('admissions')
    .values({ digest: d.digest ?? 'unknown', env: d.env, allowed: d.allowed ? 1 : 0, reasons: JSON.stringify(d.reasons), decided_at: d.decidedAt })
    .returning('id')
    .executeTakeFirstOrThrow();
  const data: Record<string, unknown> = { id: Number(row.id), env: d.env, allowed: d.allowed, policies: d.policies, reasons: d.reasons };
  for (const [k, v] of Object.entries(rest)) if (v !== undefined) data[k] = v;
  await sink.record({ type: 'admission.decision', actor: actor ?? 'system', subject: d.digest ?? 'unknown', data, at: d.decidedAt });
  return Number(row.id);
}

export interface RecordedDecision {
  id: number;
  digest: string;
  env: string;
  allowed: boolean;
  reasons: Reason[];
  decidedAt: number;
}

export async function latestDecision(store: Store, digest: string, env: string): Promise<RecordedDecision | undefined> {
  const r = await store.db
    .selectFrom('admissions')
    .selectAll()
    .where('digest', '=', digest)
    .where('env', '=', env)
    .orderBy('decided_at', 'desc')
    .orderBy('id', 'desc')
    .executeTakeFirst();
  return r ? { id: r.id, digest: r.digest, env: r.env, allowed: r.allowed === 1, reasons: JSON.parse(r.reasons) as Reason[], decidedAt: r.decided_at } : undefined;
}

/**
 * Whether the digest is admitted in `env` (its latest decision there allowed it); with env null,
 * whether it is admitted in at least one environment. Returns the environments where it is.
 */
export async function admittedIn(store: Store, digest: string, env: string | null): Promise<string[]> {
  const rows = await store.db
    .selectFrom('admissions')
    .select(['env', 'allowed', 'decided_at', 'id'])
    .where('digest', '=', digest)
    .$if(env !== null, (q) => q.where('env', '=', env!))
    .orderBy('decided_at', 'desc')
    .orderBy('id', 'desc')
    .execute();
  const latest = new Map<string, number>();
  for (const r of rows) if (!latest.has(r.env)) latest.set(r.env, r.allowed);
  return [...latest].filter(([, allowed]) => allowed === 1).map(([e]) => e);
}
