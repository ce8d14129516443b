/**
 * Runtimes: the inference servers models run on (Ollama, vLLM, llama.cpp, any OpenAI-compatible
 * endpoint, closed-API tenants), and the models each serves. Rows in `runtimes` and
 * `served_models`; every change is an audit event. Discovery (runtimes-sync.ts) fills the served
 * models of runtimes that can say what they serve; bindings name them for those that cannot.
 */
import { PerimeterError } from '../errors/errors.ts';
import type { EventSink } from '../audit/events.ts';
import type { Store } from '../store/store.ts';
import { DIGEST, ENV_NAME } from '../config/schema.ts';
import { evaluate, type Finding, type FindingCode } from './runtimes-findings.ts';

export const RUNTIME_KINDS = ['ollama', 'vllm', 'llamacpp', 'openai', 'closed-api'] as const;
export type RuntimeKind = (typeof RUNTIME_KINDS)[number];
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

export interface RuntimeSpec {
  name: string;
  kind: string;
  url: string;
  /** The admission environment it serves; undefined: admitted in any environment will do. */
  env?: string;
}

export interface ServedModel {
  modelId: string;
  servedDigest: string | null;
  artifactDigest: string | null;
  source: 'discovery' | 'binding';
  finding: Finding | null;
  details: Record<string, unknown>;
  seenAt: number;
}

export interface Runtime {
  name: string;
  kind: RuntimeKind;
  url: string;
  env: string | null;
  createdAt: number;
  updatedAt: number;
  lastSyncAt: number | null;
  lastSyncError: string | null;
  served: ServedModel[];
}

export function checkRuntimeSpec(s: RuntimeSpec): void {
  if (!NAME.test(s.name)) throw new PerimeterError('PERIM_E_USAGE', `runtime name "${s.name}" must be letters, digits, "_", "." or "-" (at most 63)`);
  if (!(RUNTIME_KINDS as readonly string[]).includes(s.kind)) throw new PerimeterError('PERIM_E_USAGE', `runtime kind "${s.kind}" is not one of ${RUNTIME_KINDS.join(', ')}`);
  let u: URL;
  try {
    u = new URL(s.url);
  } catch {
    throw new PerimeterError('PERIM_E_USAGE', `runtime URL "${s.url}" is not a URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new PerimeterError('PERIM_E_USAGE', `runtime URL must be http or https, got ${u.protocol}`);
  if (u.username || u.password) throw new PerimeterError('PERIM_E_USAGE', 'runtime URL must not carry credentials (they would be stored in the database)');
  if (s.env !== undefined && !ENV_NAME.test(s.env)) throw new PerimeterError('PERIM_E_USAGE', `environment "${s.env}" is not a valid name`);
}

export async function addRuntime(store: Store, sink: EventSink, s: RuntimeSpec, actor = 'system'): Promise<Runtime> {
  checkRuntimeSpec(s);
  const now = Date.now();
  const existing = await store.db.selectFrom('runtimes').select('name').where('name', '=', s.name).executeTakeFirst();
  if (existing) throw new PerimeterError('PERIM_E_CONFLICT', `a runtime named ${s.name} exists; remove it first`, { details: { name: s.name } });
  const url = new URL(s.url).toString().replace(/\/$/, '');
  try {
    await store.db.insertInto('runtimes').values({ name: s.name, kind: s.kind, url, env: s.env ?? null, created_at: now, updated_at: now }).execute();
  } catch (e) {
    throw new PerimeterError('PERIM_E_CONFLICT', `a runtime named ${s.name} was added at the same time`, { cause: e });
  }
  await sink.record({ type: 'runtime.add', actor, subject: s.name, data: { kind: s.kind, url, env: s.env ?? null }, at: now });
  return getRuntime(store, s.name);
}

export async function removeRuntime(store: Store, sink: EventSink, name: string, actor = 'system'): Promise<void> {
  const removed = await store.db.transaction().execute(async (trx) => {
    await trx.deleteFrom('served_models').where('runtime', '=', name).execute();
    return trx.deleteFrom('runtimes').where('name', '=', name).executeTakeFirst();
  });
  if (Number(removed.numDeletedRows) === 0) throw new PerimeterError('PERIM_E_NOT_FOUND', `no runtime named ${name}`);
  await sink.record({ type: 'runtime.remove', actor, subject: name, data: {} });
}

export async function getRuntime(store: Store, name: string): Promise<Runtime> {
  const [r] = await listRuntimes(store, [name]);
  if (!r) throw new PerimeterError('PERIM_E_NOT_FOUND', `no runtime named ${name}`);
  return r;
}

export async function listRuntimes(store: Store, names?: readonly string[]): Promise<Runtime[]> {
  let q = store.db.selectFrom('runtimes').selectAll().orderBy('name');
  if (names?.length) q = q.where('name', 'in', [...names]);
  const rows = await q.execute();
  if (rows.length === 0) return [];
  const served = await store.db.selectFrom('served_models').selectAll().where('runtime', 'in', rows.map((r) => r.name)).orderBy('model_id').execute();
  return rows.map((r) => ({
    name: r.name,
    kind: r.kind as RuntimeKind,
    url: r.url,
    env: r.env,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    lastSyncAt: r.last_sync_at,
    lastSyncError: r.last_sync_error,
    served: served.filter((s) => s.runtime === r.name).map(servedFromRow),
  }));
}

export function servedFromRow(s: { model_id: string; served_digest: string | null; artifact_digest: string | null; source: string; finding: string | null; details: string; seen_at: number }): ServedModel {
  let details: Record<string, unknown> = {};
  try {
    details = JSON.parse(s.details) as Record<string, unknown>;
  } catch {
    /* keep {} */
  }
  const message = typeof details.finding_message === 'string' ? details.finding_message : s.finding ?? '';
  return {
    modelId: s.model_id,
    servedDigest: s.served_digest,
    artifactDigest: s.artifact_digest,
    source: s.source === 'binding' ? 'binding' : 'discovery',
    finding: s.finding ? { code: s.finding as FindingCode, message } : null,
    details,
    seenAt: s.seen_at,
  };
}

/**
 * Binds a model id served by a runtime to an artifact digest: how OpenAI-compatible endpoints,
 * closed-API tenants and hub-id vLLM models enter the inventory. Evaluated at once.
 */
export async function bindModel(store: Store, sink: EventSink, b: { runtime: string; modelId: string; digest: string }, actor = 'system'): Promise<ServedModel> {
  if (!DIGEST.test(b.digest)) throw new PerimeterError('PERIM_E_USAGE', `"${b.digest}" is not a digest (sha256:<64 hex>)`);
  if (b.modelId.length === 0 || b.modelId.length > 512) throw new PerimeterError('PERIM_E_USAGE', 'a model id is required (at most 512 characters)');
  const rt = await getRuntime(store, b.runtime);
  const finding = await evaluate(store, rt.env, b.modelId, { boundDigest: b.digest });
  const known = finding?.code !== 'unknown_model';
  const now = Date.now();
  const details = finding ? { finding_message: finding.message } : {};
  const row = {
    runtime: b.runtime,
    model_id: b.modelId,
    served_digest: b.digest,
    artifact_digest: known ? b.digest : null,
    source: 'binding',
    details: JSON.stringify(details),
    seen_at: now,
    finding: finding?.code ?? null,
  };
  await store.db
    .insertInto('served_models')
    .values(row)
    .onConflict((oc) => oc.columns(['runtime', 'model_id']).doUpdateSet({ served_digest: row.served_digest, artifact_digest: row.artifact_digest, source: 'binding', details: row.details, seen_at: now, finding: row.finding }))
    .execute();
  await sink.record({ type: 'runtime.bind', actor, subject: b.runtime, data: { model_id: b.modelId, digest: b.digest, finding: finding?.code ?? null }, at: now });
  if (finding) await sink.record({ type: 'runtime.finding', actor, subject: b.runtime, data: { runtime: b.runtime, model_id: b.modelId, finding: finding.code, message: finding.message, served_digest: b.digest }, at: now });
  return servedFromRow(row);
}

export async function unbindModel(store: Store, sink: EventSink, runtime: string, modelId: string, actor = 'system'): Promise<void> {
  const r = await store.db.deleteFrom('served_models').where('runtime', '=', runtime).where('model_id', '=', modelId).where('source', '=', 'binding').executeTakeFirst();
  if (Number(r.numDeletedRows) === 0) throw new PerimeterError('PERIM_E_NOT_FOUND', `no binding of ${modelId} on runtime ${runtime}`);
  await sink.record({ type: 'runtime.unbind', actor, subject: runtime, data: { model_id: modelId } });
}
