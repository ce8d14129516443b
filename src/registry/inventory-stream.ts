/**
 * The inventory as one JSON document written as bytes the database produces: what
 * `perimeter inventory --json` prints. Each artifact's text is its read model (summary.ts) as
 * stored, with the live fields (tier, admitted environments) put in only for the rows that have
 * them: in SQL on SQLite, which joins each chunk of rows into one BLOB (inventory-sqlite.ts); from
 * the raw COPY rows on PostgreSQL (inventory-pg.ts, inventory-copy.ts). No object and no string is
 * made per artifact in JavaScript. streamInventoryJson serves stored pages of this text and builds
 * only what changed (inventory-pages.ts). These modules load neither kysely nor zod (node:sqlite or
 * pg only), so a command that uses them starts in tens of milliseconds.
 */
import type { StreamCounts } from './inventory-pages.ts';
import { LIVE_SUFFIX, parentNameOf, summaryJson, type SummaryRow } from './summary.ts';

/**
 * Receives the document in order. A returned promise holds the next chunk back (backpressure);
 * the chunk's memory may be reused once the call returns or its promise settles: copy it to keep it.
 */
export type ChunkSink = (chunk: Uint8Array) => void | Promise<unknown>;

export interface InventoryCounts {
  artifacts: number;
  runtimes: number;
}

/** Listing text: one buffer, or the pieces of one (a stored page as its bytes arrived). */
export type Text = Uint8Array | readonly Uint8Array[];

/**
 * Where the artifacts come from. `chunks` emits the JSON texts of all artifacts in registration
 * order, joined by ",\n", in row-aligned chunks; a row without a read model appears as
 * MISSING + digest + MISSING, and `missing` gives those rows' texts.
 */
export interface ArtifactSource {
  /** `final`: the chunk has no MISSING rows (it is not searched for them); a chunk in pieces is always final. */
  chunks(emit: (text: Text, rows: number, final?: boolean) => void | Promise<void>): Promise<void>;
  missing(digests: string[]): Promise<Map<string, string>>;
  runtimes(): Promise<RuntimeData>;
}

export interface RuntimeRow {
  name: string;
  kind: string;
  url: string;
  env: string | null;
  last_sync_at: number | string | null;
  last_sync_error: string | null;
}
export interface ServedRow {
  runtime: string;
  model_id: string;
  served_digest: string | null;
  artifact_digest: string | null;
  artifact_name: string | null;
  source: string;
  seen_at: number | string;
  finding: string | null;
}
export interface RuntimeData {
  runtimes: RuntimeRow[];
  served: ServedRow[];
  /** digest → environments whose latest decision allowed it, for (at least) the served artifacts. */
  admitted: Map<string, string[]>;
}

/** Marks a row whose read model is missing: a control character no JSON text contains raw. */
export const MISSING = 1;
/** Artifacts per chunk. */
export const CHUNK_ROWS = 1024;
/** What the stored read model ends with; replaced when a row has live values. */
export const SUFFIX_LENGTH = LIVE_SUFFIX.length;

// ---- SQL shared by the sources (the same text runs on SQLite and PostgreSQL) ----

export const RUNTIMES_SQL = 'select name, kind, url, env, last_sync_at, last_sync_error from runtimes order by name';
export const SERVED_SQL = `select s.runtime, s.model_id, s.served_digest, s.artifact_digest, a.name as artifact_name, s.source, s.seen_at, s.finding
  from served_models s left join artifacts a on a.digest = s.artifact_digest order by s.runtime, s.model_id`;
/** The latest decision (highest id) per (digest, environment), allowed ones, for `digests` (a subquery). */
export const admittedSql = (digests: string): string => `select a.digest, a.env from admissions a
  join (select max(id) as id from admissions where digest in (${digests}) group by digest, env) l on l.id = a.id
  where a.allowed = 1 order by a.env`;
export const SERVED_ADMITTED_SQL = admittedSql('select artifact_digest from served_models');
/**
 * The registry columns and live values of the rows without a read model: `envs` is an expression
 * for the admitted environments' JSON array of the artifact `a`, `digests` a subquery of digests.
 */
export const missingSql = (envs: string, digests: string): string => `select a.digest, a.name, a.kind, a.format, a.license, a.parent_digest,
  a.predecessor_digest, a.signer_method, a.signer, a.signer_issuer, a.signature_status, a.scan_verdict, a.scan_findings, a.bytes,
  a.files, a.training_flops, a.created_at, a.updated_at, a.tier, p.name as parent_name, (${envs}) as envs
  from artifacts a left join artifacts p on p.digest = a.parent_digest where a.digest in (${digests})`;

/** One row of missingSql. */
export type MissingRow = SummaryRow & { tier: number | string | null; parent_name: string | null; envs: string | null };

/** The texts of missingSql's rows, by digest. */
export const missingTexts = (rows: readonly MissingRow[]): Map<string, string> =>
  new Map(rows.map((r) => [r.digest, withLive(summaryJson(r, parentNameOf(r.parent_digest, r.parent_name ?? undefined)), r.tier, r.envs)]));

export function groupAdmitted(rows: Iterable<{ digest: string; env: string }>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const r of rows) {
    const list = out.get(r.digest);
    if (list) list.push(r.env);
    else out.set(r.digest, [r.env]);
  }
  return out;
}

/** What replaces LIVE_SUFFIX in a row that has live values. */
export const liveSuffix = (tier: number | string | null, envsJson: string | null): string =>
  `,"tier":${tier === null ? 'null' : Number(tier)},"admittedEnvs":${envsJson ?? '[]'}}`;

/** A read model with its live values: only rows that have a tier or an admission change. */
export function withLive(json: string, tier: number | string | null, envsJson: string | null): string {
  if (tier === null && envsJson === null) return json;
  return json.slice(0, -SUFFIX_LENGTH) + liveSuffix(tier, envsJson);
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

/** Runtimes with what they serve and whether that matches an admitted artifact. */
export function buildRuntimes({ runtimes, served, admitted }: RuntimeData): InventoryRuntime[] {
  const envOf = new Map(runtimes.map((r) => [r.name, r.env ?? null]));
  const byRuntime = new Map<string, InventoryServed[]>();
  for (const s of served) {
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
  for (const [name, serves] of byRuntime) if (!envOf.has(name)) rts.push({ name, kind: 'unknown', url: '', env: null, lastSyncAt: null, lastSyncError: null, serves });
  return rts;
}

/** A Buffer over the same memory (Buffer's indexOf is memchr; Uint8Array's is many times slower). */
const bytes = (u: Uint8Array): Buffer => (Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength));

/** Replaces the MISSING-marked rows of a chunk with their texts (the chunk itself when it has none). */
export async function fillMissing(text: Uint8Array, missing: ArtifactSource['missing']): Promise<Uint8Array> {
  const buf = bytes(text);
  if (buf.indexOf(MISSING) === -1) return text; // memchr
  const spans: [start: number, end: number, digest: string][] = [];
  for (let at = buf.indexOf(MISSING); at !== -1; at = buf.indexOf(MISSING, at)) {
    const end = buf.indexOf(MISSING, at + 1);
    if (end === -1) throw new Error('unterminated missing-row marker in the inventory listing');
    spans.push([at, end + 1, buf.toString('utf8', at + 1, end)]);
    at = end + 1;
  }
  const texts = await missing(spans.map((s) => s[2]));
  const parts: Uint8Array[] = [];
  let from = 0;
  for (const [start, end, digest] of spans) {
    const json = texts.get(digest);
    if (json === undefined) throw new Error(`artifact ${digest} vanished while the inventory was listed`);
    parts.push(buf.subarray(from, start), Buffer.from(json));
    from = end;
  }
  parts.push(buf.subarray(from));
  return Buffer.concat(parts);
}

/**
 * Writes {...head, "artifacts": [...], "runtimes": [...]}\n, one artifact per line, in registration
 * order, in chunks of a few MB.
 */
export async function writeDocument(source: ArtifactSource, write: ChunkSink, head: Record<string, unknown> = {}): Promise<InventoryCounts> {
  const h = JSON.stringify(head);
  let n = 0;
  let pending = `${h.length > 2 ? `${h.slice(0, -1)},` : '{'}"artifacts":[`;
  await source.chunks(async (text, rows, final) => {
    if (rows === 0) return;
    if (!final && !(text instanceof Uint8Array)) throw new Error('listing text in pieces must be final');
    const body = final || !(text instanceof Uint8Array) ? text : await fillMissing(text, (d) => source.missing(d));
    await write(Buffer.from(pending + (n ? ',\n' : '\n')));
    if (body instanceof Uint8Array) await write(body);
    else for (const piece of body) await write(piece);
    pending = '';
    n += rows;
  });
  const runtimes = buildRuntimes(await source.runtimes());
  await write(Buffer.from(`${pending}${n ? '\n' : ''}],"runtimes":${JSON.stringify(runtimes)}}\n`));
  return { artifacts: n, runtimes: runtimes.length };
}

// The database target and the migration names come from src/store/target.ts, which loads no driver.
export { defaultDbPath, isPostgresUrl, migrationsCurrent, resolveDbTarget, MIGRATION_NAMES as KNOWN_MIGRATIONS } from '../store/target.ts';
import { isPostgresUrl } from '../store/target.ts';

/**
 * Streams the inventory document of the database at `target` (a SQLite file or a postgres:// URL)
 * on a connection of its own. Returns undefined without writing anything when it cannot serve the
 * target as it is (no database file yet, a schema not at this version's migrations): open the
 * store then (it migrates) and use writeInventoryJson.
 */
export async function streamInventoryJson(target: string, write: ChunkSink, head: Record<string, unknown> = {}): Promise<StreamCounts | undefined> {
  if (isPostgresUrl(target)) {
    // The connection is made while the listing's modules load (~10 ms each on the reference machine).
    const early = (await import('../store/pg-wire.ts')).connectWire(target);
    early.catch(() => {}); // streamPostgres awaits it
    return (await import('./inventory-pg.ts')).streamPostgres(target, write, head, early);
  }
  return (await import('./inventory-sqlite.ts')).streamSqliteFile(target, write, head);
}
