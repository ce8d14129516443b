/**
 * syncRuntimes: ask each runtime what it serves, match each served model to a registered
 * artifact, evaluate findings, and store the result:
 *
 *   runtime → discover (HTTP, bounded) → match by content (blob sha256 / hashed path) or binding
 *   → finding (unknown_model | mismatch | not_admitted) → served_models rows → events.
 *
 * One runtime failing (timeout, HTTP error, malformed answer) never stops the others: its error
 * is stored in last_sync_error and returned, and its last known models are kept. A finding is
 * recorded as a `runtime.finding` event when it appears or changes (and `runtime.finding_resolved`
 * when it clears), so a periodic sync does not repeat the same event.
 */
import { asPerimeterError, PerimeterError } from '../errors/errors.ts';
import type { EventSink } from '../audit/events.ts';
import type { Store } from '../store/store.ts';
import { discover } from './discovery/index.ts';
import type { DiscoveredModel } from './discovery/types.ts';
import { mapLimit } from './discovery/types.ts';
import { matchFileSha256, matchPath, type HashCache, type Match } from './runtimes-match.ts';
import { evaluate, type Finding } from './runtimes-findings.ts';
import { listRuntimes, servedFromRow, type Runtime, type ServedModel } from './runtimes.ts';

export interface SyncOptions {
  /** Only these runtimes (default all). */
  names?: readonly string[];
  /** Per HTTP request (default 5 s). */
  timeoutMs?: number;
  actor?: string;
}

export interface RuntimeSyncResult {
  runtime: string;
  kind: string;
  ok: boolean;
  error?: { code: string; message: string };
  served: ServedModel[];
  findings: (Finding & { modelId: string })[];
}

export interface SyncReport {
  at: number;
  runtimes: RuntimeSyncResult[];
  findings: number;
  errors: number;
}

export async function syncRuntimes(store: Store, sink: EventSink, opts: SyncOptions = {}): Promise<SyncReport> {
  const runtimes = await listRuntimes(store, opts.names);
  const missing = (opts.names ?? []).filter((n) => !runtimes.some((r) => r.name === n));
  if (missing.length) throw new PerimeterError('PERIM_E_NOT_FOUND', `no runtime named ${missing.join(', ')}`);
  const at = Date.now();
  const results = await mapLimit(runtimes, 4, (rt) => syncOne(store, sink, rt, opts, at));
  return { at, runtimes: results, findings: results.reduce((n, r) => n + r.findings.length, 0), errors: results.filter((r) => !r.ok).length };
}

interface Row {
  runtime: string;
  model_id: string;
  served_digest: string | null;
  artifact_digest: string | null;
  source: string;
  details: string;
  seen_at: number;
  finding: string | null;
}

async function syncOne(store: Store, sink: EventSink, rt: Runtime, opts: SyncOptions, at: number): Promise<RuntimeSyncResult> {
  const actor = opts.actor ?? 'system';
  const previous = new Map(rt.served.map((s) => [s.modelId, s]));
  let discovered: DiscoveredModel[] | undefined;
  let error: { code: string; message: string } | undefined;
  try {
    discovered = await discover(rt.kind, rt.url, { timeoutMs: opts.timeoutMs });
  } catch (e) {
    const err = asPerimeterError(e);
    error = { code: err.code, message: err.message };
  }

  const rows: Row[] = [];
  const seen = new Set<string>();
  for (const m of discovered ?? []) {
    if (seen.has(m.modelId)) continue;
    seen.add(m.modelId);
    const prev = previous.get(m.modelId);
    const binding = prev?.source === 'binding' ? prev : undefined;
    const { match, adapters, cache } = await identify(store, m, prev?.details.hash as HashCache | undefined);
    const problem = match.problem ?? (binding ? undefined : `${m.unidentified ?? 'not identified'}; bind it: perimeter runtime bind ${rt.name} ${m.modelId} DIGEST`);
    const finding = await evaluate(store, rt.env, m.modelId, {
      ...(match.artifactDigest ? { artifactDigest: match.artifactDigest } : {}),
      ...(match.artifactDigest ? {} : { problem }),
      ...(binding?.servedDigest ? { boundDigest: binding.servedDigest } : {}),
      ...(adapters ? { adapters } : {}),
    });
    const details = { ...m.details, how: match.how ?? null, discovered_digest: match.servedDigest ?? null, ...(cache ? { hash: cache } : {}), ...(finding ? { finding_message: finding.message } : {}) };
    const bound = binding?.servedDigest ?? null;
    rows.push({
      runtime: rt.name,
      model_id: m.modelId,
      served_digest: bound ?? match.servedDigest ?? null,
      artifact_digest: bound ? (finding?.code === 'unknown_model' ? null : bound) : (match.artifactDigest ?? null),
      source: binding ? 'binding' : 'discovery',
      details: JSON.stringify(details),
      seen_at: at,
      finding: finding?.code ?? null,
    });
  }
  // Bindings discovery did not list: re-evaluated (admission may have changed), kept.
  for (const b of previous.values()) {
    if (b.source !== 'binding' || seen.has(b.modelId)) continue;
    const finding = await evaluate(store, rt.env, b.modelId, { boundDigest: b.servedDigest! });
    const { finding_message: _old, ...rest } = b.details;
    rows.push({
      runtime: rt.name,
      model_id: b.modelId,
      served_digest: b.servedDigest,
      artifact_digest: finding?.code === 'unknown_model' ? null : b.servedDigest,
      source: 'binding',
      details: JSON.stringify({ ...rest, ...(finding ? { finding_message: finding.message } : {}) }),
      seen_at: discovered === undefined && !error ? at : b.seenAt,
      finding: finding?.code ?? null,
    });
  }
  const stale = discovered ? [...previous.values()].filter((s) => s.source === 'discovery' && !seen.has(s.modelId)).map((s) => s.modelId) : [];

  await store.db.transaction().execute(async (trx) => {
    for (const r of rows) {
      await trx
        .insertInto('served_models')
        .values(r)
        .onConflict((oc) => oc.columns(['runtime', 'model_id']).doUpdateSet({ served_digest: r.served_digest, artifact_digest: r.artifact_digest, source: r.source, details: r.details, seen_at: r.seen_at, finding: r.finding }))
        .execute();
    }
    if (stale.length) await trx.deleteFrom('served_models').where('runtime', '=', rt.name).where('model_id', 'in', stale).execute();
    await trx
      .updateTable('runtimes')
      .set({ last_sync_at: at, last_sync_error: error ? `[${error.code}] ${error.message}` : null })
      .where('name', '=', rt.name)
      .execute();
  });

  const served = rows.map(servedFromRow);
  for (const s of served) {
    const prev = previous.get(s.modelId);
    const changed = s.finding?.code !== prev?.finding?.code || s.servedDigest !== prev?.servedDigest || s.finding?.message !== prev?.finding?.message;
    if (s.finding && changed) {
      await sink.record({ type: 'runtime.finding', actor, subject: rt.name, at, data: { runtime: rt.name, model_id: s.modelId, finding: s.finding.code, message: s.finding.message, served_digest: s.servedDigest, artifact_digest: s.artifactDigest } });
    } else if (!s.finding && prev?.finding) {
      await sink.record({ type: 'runtime.finding_resolved', actor, subject: rt.name, at, data: { runtime: rt.name, model_id: s.modelId, was: prev.finding.code, artifact_digest: s.artifactDigest } });
    }
  }
  if (error && `[${error.code}] ${error.message}` !== rt.lastSyncError) {
    await sink.record({ type: 'runtime.sync_error', actor, subject: rt.name, at, data: { runtime: rt.name, code: error.code, message: error.message } });
  }
  const all = error ? [...served, ...rt.served.filter((s) => !rows.some((r) => r.model_id === s.modelId))] : served;
  return {
    runtime: rt.name,
    kind: rt.kind,
    ok: !error,
    ...(error ? { error } : {}),
    served: all.sort((a, b) => a.modelId.localeCompare(b.modelId)),
    findings: served.filter((s) => s.finding).map((s) => ({ modelId: s.modelId, ...s.finding! })),
  };
}

async function identify(store: Store, m: DiscoveredModel, prevCache?: HashCache): Promise<{ match: Match; adapters?: Match[]; cache?: HashCache }> {
  let match: Match;
  let cache: HashCache | undefined;
  if (m.weightsSha256) match = await matchFileSha256(store, m.weightsSha256);
  else if (m.path) ({ match, cache } = await matchPath(store, m.path, prevCache));
  else match = {};
  const adapters: Match[] | undefined = m.adapterSha256 ? await Promise.all(m.adapterSha256.map((a) => matchFileSha256(store, a))) : undefined;
  // Weights identified but something else (an adapter) not: that part is unknown.
  if (m.unidentified && (m.weightsSha256 || m.path)) return { match, adapters: [...(adapters ?? []), { problem: m.unidentified }], ...(cache ? { cache } : {}) };
  return { match, ...(adapters ? { adapters } : {}), ...(cache ? { cache } : {}) };
}
