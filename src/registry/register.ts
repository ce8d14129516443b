/**
 * registerModel: one artifact row plus its lineage edges, written in one transaction, with the
 * evidence gathered first (root digest, scan, signature, metadata). Idempotent per root digest:
 * registering the same files again refreshes the evidence and updated_at; changed files under
 * the same name are a new artifact whose predecessor is the previous one. A parent named by a
 * model id nobody registered yet is kept as a "name:<id>" edge and resolved when it registers.
 */
import { statSync } from 'node:fs';
import { basename, extname, resolve } from 'node:path';
import type { Kysely } from 'kysely';
import { hashModel } from '../artifact/hash.ts';
import { walkModel } from '../artifact/walk.ts';
import type { AuditEvent, EventSink } from '../audit/events.ts';
import { PerimeterError } from '../errors/errors.ts';
import { scanPath, type ScanReport } from '../scan/scan.ts';
import { defaultSignaturePath, type VerifyResult } from '../signing/model.ts';
import type { Verifier } from '../signing/verifier.ts';
import type { Database } from '../store/schema.ts';
import type { Store } from '../store/store.ts';
import { writeTransaction } from './db.ts';
import { resolveParent } from './lookup.ts';
import { ARTIFACT_KINDS, readModelMetadata, type ArtifactKind, type ModelMetadata } from './metadata.ts';
import { signatureEvidence, type SignatureEvidence } from './signature.ts';
import { refreshSummaries } from './summary.ts';

export interface RegisterOptions {
  /** Default: the folder name, or the file name without its extension. */
  name?: string;
  /** SPDX id or expression; default what the model's metadata says. */
  license?: string;
  /** Parents as NAME|DIGEST (several for a merge); default what the metadata names. */
  parents?: readonly string[];
  kind?: ArtifactKind;
  /** Default: model.sig in the folder (FILE.sig beside a single file). */
  signaturePath?: string;
  /** Trust material; without it a present signature is recorded "signed, not verified". */
  verifier?: Verifier;
  /** Training compute in FLOP: a base model's own training, a derivative's modification. */
  trainingFlops?: number;
  /** Who registers, for the audit event (e.g. "cli:alice"). */
  actor?: string;
  workers?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface RegisteredEdge {
  parent: string;
  relation: string;
  pending: boolean;
  source: string;
}

export interface RegisterResult {
  digest: string;
  name: string;
  kind: string;
  format: string | null;
  license: string | null;
  /** true: a new artifact; false: the digest was known and its evidence was refreshed. */
  created: boolean;
  predecessor: string | null;
  parents: RegisteredEdge[];
  /** Pending "name:<this name>" edges of other artifacts that now point here. */
  resolvedChildren: number;
  bytes: number;
  files: number;
  signature: Omit<SignatureEvidence, 'result'>;
  scan: { verdict: string; findings: number; failed: boolean };
  trainingFlops: number | null;
  metadata: ModelMetadata;
  createdAt: number;
  updatedAt: number;
  timings: { hashMs: number; scanMs: number; dbMs: number; totalMs: number; hashReused: boolean };
}

const DERIVED: ReadonlySet<string> = new Set(['fine-tune', 'adapter', 'quantization', 'merge']);

function defaultName(abs: string): string {
  const b = basename(abs);
  try {
    if (statSync(abs).isFile() && extname(b)) return b.slice(0, -extname(b).length);
  } catch {
    /* the hash step reports a missing path */
  }
  return b;
}

function checkOptions(o: RegisterOptions): void {
  if (o.kind !== undefined && !ARTIFACT_KINDS.includes(o.kind)) throw new PerimeterError('PERIM_E_USAGE', `unknown kind "${o.kind}" (${ARTIFACT_KINDS.join(', ')})`);
  if (o.trainingFlops !== undefined && !(Number.isFinite(o.trainingFlops) && o.trainingFlops >= 0)) throw new PerimeterError('PERIM_E_USAGE', `training FLOPs must be a non-negative number, got ${o.trainingFlops}`);
  if (o.name !== undefined && (o.name.trim() === '' || o.name.startsWith('name:') || o.name.length > 512)) throw new PerimeterError('PERIM_E_USAGE', `invalid artifact name "${o.name}"`);
}

/**
 * The verified digest can stand for our own hash only when verification hashed exactly the files
 * we would: files/sha256, no symlinks, signed ignore paths that leave out none of our files, and
 * the same number of files and bytes (so no extra git paths the signer chose to sign).
 */
function reusableDigest(modelPath: string, signaturePath: string, r: VerifyResult | undefined): VerifyResult | undefined {
  if (!r) return undefined;
  const s = r.serialization;
  if (s.method !== 'files' || s.hash_type !== 'sha256' || s.allow_symlinks) return undefined;
  const walk = walkModel(modelPath, { signaturePath });
  const ignored = s.ignore_paths ?? [];
  if (walk.files.some((f) => ignored.some((p) => f.name === p || f.name.startsWith(`${p}/`)))) return undefined;
  const bytes = walk.files.reduce((n, f) => n + f.size, 0);
  return walk.files.length === r.resources && bytes === r.bytes ? r : undefined;
}

function scanSummary(rep: ScanReport): Record<string, unknown> {
  const bySeverity: Record<string, number> = {};
  const rules: Record<string, number> = {};
  for (const f of rep.findings) {
    bySeverity[f.severity] = (bySeverity[f.severity] ?? 0) + 1;
    rules[f.ruleId] = (rules[f.ruleId] ?? 0) + 1;
  }
  return {
    verdict: rep.verdict,
    failed: rep.failed,
    threshold: rep.threshold,
    files: rep.files.length,
    bySeverity,
    rules,
    top: rep.findings.filter((f) => f.severity !== 'info').slice(0, 20).map((f) => ({ ruleId: f.ruleId, severity: f.severity, file: f.file, message: f.message.slice(0, 300) })),
    ms: rep.ms,
  };
}

export async function registerModel(store: Store, sink: EventSink, modelPath: string, options: RegisterOptions = {}): Promise<RegisterResult> {
  const t0 = performance.now();
  checkOptions(options);
  const abs = resolve(modelPath);
  const signaturePath = resolve(options.signaturePath ?? defaultSignaturePath(abs));

  // Evidence first, outside any transaction: scan, signature (which may hash), digest, metadata.
  const scanStart = performance.now();
  const scanning = scanPath(abs).then((r) => ({ r, ms: performance.now() - scanStart }));
  scanning.catch(() => {});
  const sig = await signatureEvidence(abs, signaturePath, options.verifier);
  const hashStart = performance.now();
  const reused = reusableDigest(abs, signaturePath, sig.result);
  const hashed = reused ? undefined : await hashModel(abs, { signaturePath, workers: options.workers, onProgress: options.onProgress });
  const digest = reused?.rootDigest ?? hashed!.manifest.rootDigest;
  const bytes = reused?.bytes ?? hashed!.bytes;
  const files = reused?.resources ?? hashed!.manifest.resources.length;
  const hashMs = performance.now() - hashStart;
  const md = readModelMetadata(abs);
  const { r: scan, ms: scanMs } = await scanning;

  const givenName = options.name?.trim() ?? defaultName(abs);
  const parentRefs = options.parents?.length ? options.parents.map((p) => ({ ref: p, source: 'flag' })) : md.parents.map((p) => ({ ref: p.id, source: p.source }));
  const inferredKind: ArtifactKind = options.kind ?? md.kind ?? (parentRefs.length > 1 ? 'merge' : parentRefs.length === 1 ? 'fine-tune' : 'unknown');
  const relation = DERIVED.has(inferredKind) ? inferredKind : 'derivative';
  const { result: _verify, bundle, ...signature } = sig;
  void _verify;
  const serialization = reused?.serialization ?? hashed!.manifest.serialization;
  // The bundle travels with the row (admission re-verifies it with each environment's trust).
  const bundleJson = bundle ? JSON.stringify(bundle) : undefined;
  const metadata = { ...md, path: abs, signaturePath, serialization, ...(bundleJson && bundleJson.length <= 256 * 1024 ? { bundle } : {}) };
  const scanJson = JSON.stringify(scanSummary(scan));
  const trainingFlops = options.trainingFlops ?? md.trainingFlops ?? null;

  const lockKeys = [`digest:${digest}`, `name:${givenName}`, ...parentRefs.map((p) => `name:${p.ref.replace(/^name:/, '')}`)];
  const dbStart = performance.now();
  const out = await writeTransaction(store, lockKeys, async (trx) => {
    const now = Date.now();
    const existing = await trx.selectFrom('artifacts').select(['digest', 'name', 'kind', 'license', 'parent_digest', 'predecessor_digest', 'created_at', 'updated_at', 'training_flops']).where('digest', '=', digest).executeTakeFirst();
    // Re-registering keeps the name unless one is given; a new artifact takes the given or default name.
    const name = options.name !== undefined || !existing ? givenName : existing.name;
    const parents: RegisteredEdge[] = [];
    for (const p of parentRefs) {
      const r = await resolveParent(trx, p.ref);
      const parent = 'pending' in r ? r.pending : r.digest;
      if (parent === digest) throw new PerimeterError('PERIM_E_USAGE', `an artifact cannot be its own parent (${p.ref})`);
      if (!parents.some((x) => x.parent === parent)) parents.push({ parent, relation, pending: 'pending' in r || !r.registered, source: p.source });
    }
    const kind = options.kind ?? (inferredKind !== 'unknown' || !existing ? inferredKind : existing.kind);
    const license = options.license ?? md.license ?? existing?.license ?? null;
    const parentDigest = parents[0]?.parent ?? (existing?.parent_digest ?? null);
    const updatedAt = existing ? Math.max(now, existing.updated_at + 1) : now;
    const evidence = {
      kind,
      format: md.format,
      license,
      parent_digest: parentDigest,
      path: abs,
      bytes,
      files,
      signer_method: signature.method,
      signer: signature.signer,
      signer_issuer: signature.issuer,
      signature_verified: signature.status === 'verified' ? 1 : 0,
      signature_status: signature.status,
      signature_evidence: JSON.stringify(signature.evidence),
      scan_verdict: scan.verdict,
      scan_findings: scanFindings(scan),
      scan_summary: scanJson,
      metadata: JSON.stringify(metadata),
      training_flops: trainingFlops ?? existing?.training_flops ?? null,
      updated_at: updatedAt,
    };
    let predecessor = existing?.predecessor_digest ?? null;
    if (existing) {
      await trx.updateTable('artifacts').set({ ...evidence, ...(options.name !== undefined ? { name } : {}) }).where('digest', '=', digest).execute();
    } else {
      const prev = await trx.selectFrom('artifacts').select('digest').where('name', '=', name).where('digest', '!=', digest).orderBy('created_at', 'desc').orderBy('digest', 'desc').limit(1).executeTakeFirst();
      predecessor = prev?.digest ?? null;
      await trx.insertInto('artifacts').values({ digest, name, predecessor_digest: predecessor, tier: null, created_at: now, ...evidence }).execute();
    }
    if (parents.length) await writeEdges(trx, digest, parents, now, trainingFlops);
    const resolved = await resolvePending(trx, name, digest);
    // Children's read model names their parent: refresh it when this artifact is new (children may
    // have named its digest before it registered), resolved pending names, or was renamed.
    await refreshSummaries(trx, digest, !existing || resolved.rows > 0 || existing.name !== name);
    const resolvedChildren = resolved.edges;
    return { name, created: !existing, predecessor, parents, resolvedChildren, kind, license, createdAt: existing?.created_at ?? now, updatedAt, trainingFlops: evidence.training_flops };
  });
  const dbMs = performance.now() - dbStart;

  const event: AuditEvent = {
    type: 'registry.register',
    ...(options.actor ? { actor: options.actor } : {}),
    subject: digest,
    data: {
      name: out.name,
      kind: out.kind,
      created: out.created,
      predecessor: out.predecessor,
      parents: out.parents.map((p) => ({ parent: p.parent, relation: p.relation })),
      signature: { status: signature.status, method: signature.method, signer: signature.signer, issuer: signature.issuer },
      scan: { verdict: scan.verdict, findings: scanFindings(scan) },
      bytes,
      files,
    },
  };
  try {
    await sink.record(event);
  } catch (e) {
    throw new PerimeterError('PERIM_E_STORE', `artifact ${digest} was registered but its audit event could not be recorded: ${(e as Error).message}`, { cause: e, details: { digest } });
  }

  return {
    digest,
    name: out.name,
    kind: out.kind,
    format: md.format,
    license: out.license,
    created: out.created,
    predecessor: out.predecessor,
    parents: out.parents,
    resolvedChildren: out.resolvedChildren,
    bytes,
    files,
    signature,
    scan: { verdict: scan.verdict, findings: scanFindings(scan), failed: scan.failed },
    trainingFlops: out.trainingFlops,
    metadata: md,
    createdAt: out.createdAt,
    updatedAt: out.updatedAt,
    timings: { hashMs: round(hashMs), scanMs: round(scanMs), dbMs: round(dbMs), totalMs: round(performance.now() - t0), hashReused: reused !== undefined },
  };
}

const scanFindings = (scan: ScanReport): number => scan.findings.filter((f) => f.severity !== 'info').length;
const round = (ms: number): number => Math.round(ms * 10) / 10;

/** Replaces the child's edges with `parents` (a registration that names parents states them all). */
async function writeEdges(trx: Kysely<Database>, child: string, parents: RegisteredEdge[], now: number, trainingFlops: number | null): Promise<void> {
  await trx.deleteFrom('lineage').where('child_digest', '=', child).where('parent_digest', 'not in', parents.map((p) => p.parent)).execute();
  for (const p of parents) {
    const details = JSON.stringify({ source: p.source, ...(p.parent.startsWith('name:') ? { modelId: p.parent.slice(5) } : {}), ...(trainingFlops !== null ? { trainingFlops } : {}) });
    await trx
      .insertInto('lineage')
      .values({ child_digest: child, parent_digest: p.parent, relation: p.relation, details, created_at: now })
      .onConflict((oc) => oc.columns(['child_digest', 'parent_digest']).doUpdateSet({ relation: p.relation, details }))
      .execute();
  }
}

/** Points the pending "name:<name>" edges (and parent columns) at `digest`. Returns how many of each. */
async function resolvePending(trx: Kysely<Database>, name: string, digest: string): Promise<{ edges: number; rows: number }> {
  const pending = `name:${name}`;
  // Artifact rows first, then edges: the same lock order as a registration of the child.
  const rows = await trx.updateTable('artifacts').set({ parent_digest: digest }).where('parent_digest', '=', pending).where('digest', '!=', digest).executeTakeFirst();
  await trx
    .deleteFrom('lineage')
    .where('parent_digest', '=', pending)
    .where((eb) => eb.or([eb('child_digest', '=', digest), eb('child_digest', 'in', eb.selectFrom('lineage as l2').select('l2.child_digest').where('l2.parent_digest', '=', digest))]))
    .execute();
  const r = await trx.updateTable('lineage').set({ parent_digest: digest }).where('parent_digest', '=', pending).executeTakeFirst();
  return { edges: Number(r.numUpdatedRows ?? 0), rows: Number(rows.numUpdatedRows ?? 0) };
}
