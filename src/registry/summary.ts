/**
 * The inventory's read model: each artifact row carries its registry fields (and its parent's
 * name) as one JSON object in `inventory_json`, written in the same transaction that writes the
 * row. Listing 100k artifacts then reads one text column instead of twenty (an order of magnitude
 * less work in the database drivers). Fields owned elsewhere (tier, admissions) are read live.
 * A row whose column is NULL (written by something other than the registry) is built from its
 * columns at read time, so the read model can lag nothing but speed.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.ts';

export const SUMMARY_COLUMNS = [
  'digest',
  'name',
  'kind',
  'format',
  'license',
  'parent_digest',
  'predecessor_digest',
  'signer_method',
  'signer',
  'signer_issuer',
  'signature_status',
  'scan_verdict',
  'scan_findings',
  'bytes',
  'files',
  'training_flops',
  'created_at',
  'updated_at',
] as const;

export interface SummaryRow {
  digest: string;
  name: string;
  kind: string;
  format: string | null;
  license: string | null;
  parent_digest: string | null;
  predecessor_digest: string | null;
  signer_method: string | null;
  signer: string | null;
  signer_issuer: string | null;
  signature_status: string;
  scan_verdict: string | null;
  scan_findings: number;
  bytes: number;
  files: number;
  training_flops: number | null;
  created_at: number;
  updated_at: number;
}

/** The parent's name: the registered parent's, or the model id of a pending "name:<id>" parent. */
export const parentNameOf = (parentDigest: string | null, registeredName: string | undefined): string | null =>
  registeredName ?? (parentDigest?.startsWith('name:') ? parentDigest.slice(5) : null);

/**
 * The read model ends with placeholders for the fields owned elsewhere, replaced at read time only
 * for the rows that have a tier or an admission (most rows are emitted exactly as stored).
 */
export const LIVE_SUFFIX = ',"tier":null,"admittedEnvs":[]}';

/** One artifact as the inventory's JSON object, in a fixed key order, digest first. */
export function summaryJson(r: SummaryRow, parentName: string | null): string {
  const json = JSON.stringify({
    digest: r.digest,
    name: r.name,
    kind: r.kind,
    format: r.format,
    license: r.license,
    parentDigest: r.parent_digest,
    parentName,
    predecessorDigest: r.predecessor_digest,
    signerMethod: r.signer_method,
    signer: r.signer,
    signerIssuer: r.signer_issuer,
    signatureStatus: r.signature_status,
    scanVerdict: r.scan_verdict,
    scanFindings: Number(r.scan_findings),
    bytes: Number(r.bytes),
    files: Number(r.files),
    trainingFlops: r.training_flops === null ? null : Number(r.training_flops),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  });
  return json.slice(0, -1) + LIVE_SUFFIX;
}

/** Names of the given parent digests (pending "name:" ones skipped). */
export async function namesOf(db: Kysely<Database>, digests: Iterable<string | null>): Promise<Map<string, string>> {
  const want = [...new Set([...digests].filter((d): d is string => d !== null && !d.startsWith('name:')))];
  const out = new Map<string, string>();
  for (let i = 0; i < want.length; i += 500) {
    const rows = await db.selectFrom('artifacts').select(['digest', 'name']).where('digest', 'in', want.slice(i, i + 500)).execute();
    for (const r of rows) out.set(r.digest, r.name);
  }
  return out;
}

/**
 * Rewrites the read model of `digest`, and of its children when `children` (its name changed, or
 * pending "name:" edges now point at it). Runs inside the registering transaction.
 */
export async function refreshSummaries(trx: Kysely<Database>, digest: string, children: boolean): Promise<void> {
  const rows = (await trx
    .selectFrom('artifacts')
    .select([...SUMMARY_COLUMNS])
    .where((eb) => (children ? eb.or([eb('digest', '=', digest), eb('parent_digest', '=', digest)]) : eb('digest', '=', digest)))
    .execute()) as SummaryRow[];
  const names = await namesOf(trx, rows.map((r) => r.parent_digest));
  for (const r of rows) {
    await trx.updateTable('artifacts').set({ inventory_json: summaryJson(r, parentNameOf(r.parent_digest, r.parent_digest ? names.get(r.parent_digest) : undefined)) }).where('digest', '=', r.digest).execute();
  }
}
