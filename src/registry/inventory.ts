/**
 * The inventory: every artifact with its evidence and the environments it is admitted to, and
 * every runtime with what it serves and whether that matches an admitted artifact. A fixed number
 * of set-based queries whatever the size (no per-row query): artifacts joined to their parent,
 * the latest admission decision per (digest, environment), runtimes, served models.
 */
import { DatabaseSync } from 'node:sqlite';
import { sql } from 'kysely';
import type { Store } from '../store/store.ts';
import { read } from './db.ts';
import { DIGEST_AT, LIVE_SUFFIX, SUMMARY_COLUMNS, namesOf, parentNameOf, summaryJson, type SummaryRow } from './summary.ts';

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

/** How a served model relates to the inventory. */
export type ServedStatus = 'admitted' | 'registered, not admitted' | 'not in inventory';

export interface InventoryServed {
  modelId: string;
  servedDigest: string | null;
  artifactDigest: string | null;
  artifactName: string | null;
  /** Environments the matched artifact is admitted to (all of them, not only the runtime's). */
  admittedEnvs: string[];
  /** Against the runtime's environment when it has one, else any environment. */
  status: ServedStatus;
  /** What discovery flagged (unknown_model, not_admitted, mismatch), if anything. */
  finding: string | null;
  source: string;
  seenAt: number;
}

export interface InventoryRuntime {
  name: string;
  kind: string;
  url: string;
  /** The admission environment the runtime serves; null when any will do. */
  env: string | null;
  lastSyncAt: number | null;
  lastSyncError: string | null;
  serves: InventoryServed[];
}

export interface Inventory {
  artifacts: InventoryArtifact[];
  runtimes: InventoryRuntime[];
}


/** digest → JSON array of the environments whose latest decision (highest id) for it allowed it. */
async function admittedEnvs(store: Store): Promise<Map<string, string[]>> {
  const rows = await sql<{ digest: string; env: string }>`
    select a.digest, a.env from admissions a
    join (select digest, env, max(id) as id from admissions group by digest, env) l on l.id = a.id
    where a.allowed = 1
    order by a.env`.execute(store.db);
  const out = new Map<string, string[]>();
  for (const r of rows.rows) {
    const list = out.get(r.digest);
    if (list) list.push(r.env);
    else out.set(r.digest, [r.env]);
  }
  return out;
}

const LIST_SQL = 'select inventory_json, tier, case when inventory_json is null then digest end as d from artifacts order by created_at, digest';
type ListRow = [json: string | null, tier: number | null, digest: string | null];

/**
 * The listing query. On SQLite it runs on a second, plain node:sqlite connection to the same file
 * that returns rows as arrays: for 100k rows that halves the driver's work against kysely's
 * object rows (WAL lets this reader run beside the store's connection). PostgreSQL goes through
 * the store.
 */
async function listRows(store: Store): Promise<ListRow[]> {
  if (store.kind === 'sqlite') {
    const db = new DatabaseSync(store.location);
    try {
      db.exec('PRAGMA busy_timeout = 10000');
      const st = db.prepare(LIST_SQL);
      st.setReturnArrays(true);
      return st.all() as unknown as ListRow[];
    } finally {
      db.close();
    }
  }
  const r = await sql<{ inventory_json: string | null; tier: number | null; d: string | null }>`${sql.raw(LIST_SQL)}`.execute(store.db);
  return r.rows.map((x) => [x.inventory_json, x.tier, x.d]);
}

/**
 * Every artifact as its JSON object text, in registration order: the read model as stored, with
 * the live fields (tier, admitted environments) replaced only where a row has them. Rows without a
 * read model are built from their columns. `emit` gets each object's text; nothing is parsed.
 */
async function eachArtifactJson(store: Store, admitted: Map<string, string[]>, emit: (json: string) => void): Promise<void> {
  const rows = await listRows(store);
  const missing = new Map<string, string>();
  if (rows.some((r) => r[0] === null)) {
    const raw = (await store.db.selectFrom('artifacts').select([...SUMMARY_COLUMNS]).where('inventory_json', 'is', null).execute()) as SummaryRow[];
    const names = await namesOf(store.db, raw.map((r) => r.parent_digest));
    for (const r of raw) missing.set(r.digest, summaryJson(r, parentNameOf(r.parent_digest, r.parent_digest ? names.get(r.parent_digest) : undefined)));
  }
  const envJson = new Map<string, string>();
  for (const [d, envs] of admitted) envJson.set(d, JSON.stringify(envs));
  const digestOf = (j: string): string => {
    const d = j.slice(DIGEST_AT, j.indexOf('"', DIGEST_AT));
    return d.includes('\\') ? (JSON.parse(j) as { digest: string }).digest : d;
  };
  for (const [json, tier, digest] of rows) {
    const j = json ?? missing.get(digest!);
    if (j === undefined) continue; // inserted after the listing query
    const envs = envJson.size ? envJson.get(digestOf(j)) : undefined;
    if (tier === null && envs === undefined) emit(j);
    else emit(`${j.slice(0, -LIVE_SUFFIX.length)},"tier":${tier === null ? 'null' : Number(tier)},"admittedEnvs":${envs ?? '[]'}}`);
  }
}

async function runtimesOf(store: Store, admitted: Map<string, string[]>): Promise<InventoryRuntime[]> {
  const [runtimes, served] = await Promise.all([
    store.db.selectFrom('runtimes').selectAll().orderBy('name').execute(),
    sql<{ runtime: string; model_id: string; served_digest: string | null; artifact_digest: string | null; artifact_name: string | null; source: string; seen_at: number; finding: string | null }>`
      select s.runtime, s.model_id, s.served_digest, s.artifact_digest, a.name as artifact_name, s.source, s.seen_at, s.finding
      from served_models s left join artifacts a on a.digest = s.artifact_digest
      order by s.runtime, s.model_id`.execute(store.db),
  ]);
  const envOf = new Map(runtimes.map((r) => [r.name, r.env ?? null]));
  const byRuntime = new Map<string, InventoryServed[]>();
  for (const s of served.rows) {
    const envs = s.artifact_digest ? (admitted.get(s.artifact_digest) ?? []) : [];
    const env = envOf.get(s.runtime) ?? null;
    const ok = env === null ? envs.length > 0 : envs.includes(env);
    const status: ServedStatus = !s.artifact_digest || s.artifact_name === null ? 'not in inventory' : ok ? 'admitted' : 'registered, not admitted';
    const item: InventoryServed = { modelId: s.model_id, servedDigest: s.served_digest, artifactDigest: s.artifact_digest, artifactName: s.artifact_name, admittedEnvs: envs, status, finding: s.finding ?? null, source: s.source, seenAt: Number(s.seen_at) };
    const list = byRuntime.get(s.runtime);
    if (list) list.push(item);
    else byRuntime.set(s.runtime, [item]);
  }
  const rts: InventoryRuntime[] = runtimes.map((r) => ({
    name: r.name,
    kind: r.kind,
    url: r.url,
    env: r.env ?? null,
    lastSyncAt: r.last_sync_at === null ? null : Number(r.last_sync_at),
    lastSyncError: r.last_sync_error,
    serves: byRuntime.get(r.name) ?? [],
  }));
  // Served rows whose runtime row is gone still show, under their runtime name.
  for (const [name, serves] of byRuntime) if (!runtimes.some((r) => r.name === name)) rts.push({ name, kind: 'unknown', url: '', env: null, lastSyncAt: null, lastSyncError: null, serves });
  return rts;
}

/** The inventory as objects (for the table and the BOM). For large JSON output use writeInventoryJson. */
export async function inventory(store: Store): Promise<Inventory> {
  return read(store, 'the inventory', async () => {
    const admitted = await admittedEnvs(store);
    const artifacts: InventoryArtifact[] = [];
    await eachArtifactJson(store, admitted, (json) => artifacts.push(JSON.parse(json) as InventoryArtifact));
    return { artifacts, runtimes: await runtimesOf(store, admitted) };
  });
}

/**
 * Streams the inventory as one JSON document, {...head, "artifacts": [...], "runtimes": [...]},
 * one artifact per line, in chunks of about 1 MiB, without building the objects: what
 * `inventory --json` prints, and what to use for large inventories.
 */
export async function writeInventoryJson(store: Store, write: (chunk: string) => void, head: Record<string, unknown> = {}): Promise<{ artifacts: number; runtimes: number }> {
  return read(store, 'the inventory', async () => {
    const admitted = await admittedEnvs(store);
    const h = JSON.stringify(head);
    write(`${h.length > 2 ? `${h.slice(0, -1)},` : '{'}"artifacts":[`);
    let buf = '';
    let n = 0;
    await eachArtifactJson(store, admitted, (json) => {
      buf += (n++ ? ',\n' : '\n') + json;
      if (buf.length >= 1 << 20) {
        write(buf);
        buf = '';
      }
    });
    if (buf) write(buf);
    const runtimes = await runtimesOf(store, admitted);
    write(`${n ? '\n' : ''}],"runtimes":${JSON.stringify(runtimes)}}\n`);
    return { artifacts: n, runtimes: runtimes.length };
  });
}
