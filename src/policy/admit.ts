/**
 * Admission: may this artifact run in this environment? A straight, fail-closed line:
 *
 *   identify (digest, or hash the path) → artifact known → files unchanged (--verify-files)
 *   → signature by a trusted identity (the bundle re-verified against the environment's trust)
 *   → scan verdict within the limit → license allowed → not revoked
 *   → decision { allowed, every reason, policy ids } → admissions row + audit event.
 *
 * Every check runs and reports (pass, fail or skip); the decision allows only when none failed
 * and the artifact is known. Every decision is recorded, allow or deny (dry runs excepted).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { PerimeterError, asPerimeterError } from '../errors/errors.ts';
import { hashModel, type HashOptions } from '../artifact/hash.ts';
import type { Serialization } from '../artifact/manifest.ts';
import { parseBundle } from '../signing/bundle.ts';
import { defaultSignaturePath, readBundleFile } from '../signing/model.ts';
import { parseStatement } from '../signing/statement.ts';
import type { Store } from '../store/store.ts';
import type { Selectable } from 'kysely';
import type { ArtifactTable } from '../store/schema.ts';
import type { EventSink } from '../audit/events.ts';
import type { LoadedConfig } from '../config/load.ts';
import { environmentSettings } from '../config/environments.ts';
import { DIGEST, ENV_NAME } from '../config/schema.ts';
import { checkFiles, checkKnown, checkLicense, checkRevoked, checkScan, checkSignature, skipped, type BundleFact, type FilesFact, type Reason } from './checks.ts';
import { trustedVerifiers } from './trust.ts';
import { recordDecision, type DecisionToRecord } from './decisions.ts';

export interface AdmissionContext {
  store: Store;
  sink: EventSink;
  config: LoadedConfig;
  /** Who asks: `cli:<user>`, `webhook:<namespace>/<name>`. */
  actor?: string;
  /** An extra revocation source (kill-switch, registry flag): a reason when revoked. */
  revoked?: (digest: string) => Promise<string | undefined>;
  /** Verification clock for certificates (tests). */
  now?: Date;
}

export interface AdmitRequest {
  env: string;
  /** The artifact to admit; with `path`, the digest the files must have. */
  digest?: string;
  /** The model on disk: hashed to find the artifact, re-hashed with verifyFiles. */
  path?: string;
  /** Re-hash the files and refuse when they differ from the admitted digest. */
  verifyFiles?: boolean;
  /** Extra context recorded with the event (webhook: namespace, pod, container). */
  context?: Record<string, unknown>;
  /** Decide without recording (Kubernetes dry-run requests); the decision id is 0. */
  dryRun?: boolean;
}

/**
 * A decision as returned: what is recorded (`digest` is what the files hash to when the artifact
 * is unknown, null when nothing identified it; `policies` are the config settings that decided:
 * the failing ones on deny, all passing ones on allow), plus its row id.
 */
export interface Decision extends DecisionToRecord {
  /** The admissions row id. */
  id: number;
  artifact?: { name: string; path: string | null };
}

type Artifact = Selectable<ArtifactTable>;

export async function admit(ctx: AdmissionContext, req: AdmitRequest): Promise<Decision> {
  if (!ENV_NAME.test(req.env)) throw new PerimeterError('PERIM_E_USAGE', `environment "${req.env}" is not a valid name`);
  if (req.digest !== undefined && !DIGEST.test(req.digest)) throw new PerimeterError('PERIM_E_USAGE', `"${req.digest}" is not a digest (sha256:<64 hex>)`);
  if (req.verifyFiles && req.path === undefined && req.digest === undefined) throw new PerimeterError('PERIM_E_USAGE', '--verify-files needs a model path or a digest');
  const settings = environmentSettings(ctx.config, req.env);
  const path = req.path === undefined ? undefined : resolve(req.path);

  // Identify: the digest given, else what the files hash to; an unknown digest at a registered path is still that artifact.
  let hashed: { digest?: string; error?: string } | undefined;
  if (path !== undefined && (req.digest === undefined || req.verifyFiles)) hashed = await hashFiles(path, {});
  let digest = req.digest ?? hashed?.digest;
  let artifact = digest ? await artifactByDigest(ctx.store, digest) : undefined;
  let via: string | undefined;
  if (!artifact && path !== undefined && req.digest === undefined) {
    artifact = await artifactByPath(ctx.store, path);
    if (artifact) via = `registered at ${path}`;
  }
  if (artifact) digest = artifact.digest;
  const reasons: Reason[] = [checkKnown(digest, artifact !== undefined, via, hashed?.error)];

  if (!artifact) {
    for (const c of ['files.unchanged', 'signature.trusted', 'scan.verdict', 'license.allowed', 'not.revoked'] as const) reasons.push(skipped(c, 'not checked: the artifact is unknown'));
  } else {
    const bundle = locateBundle(artifact, path);
    reasons.push(checkFiles(artifact.digest, await filesFact(artifact, path, hashed, bundle, req.verifyFiles === true)));
    reasons.push(await checkSignature(artifact.digest, settings, trustedVerifiers(settings, ctx.config.material, ctx.now), bundle));
    reasons.push(checkScan(artifact.scan_verdict, settings));
    reasons.push(checkLicense(artifact.license, settings));
    let revokedBy: string | undefined;
    try {
      revokedBy = ctx.revoked ? await ctx.revoked(artifact.digest) : undefined;
    } catch (e) {
      revokedBy = `the revocation source failed (${asPerimeterError(e).code}); failing closed`;
    }
    reasons.push(checkRevoked(artifact.digest, settings, revokedBy));
  }

  const allowed = artifact !== undefined && reasons.every((r) => r.status !== 'fail');
  const policies = [...new Set(reasons.filter((r) => (allowed ? r.status === 'pass' : r.status === 'fail')).map((r) => r.policy))];
  const decision = {
    allowed,
    digest: digest ?? null,
    env: req.env,
    reasons,
    policies,
    decidedAt: Date.now(),
    ...(artifact ? { artifact: { name: artifact.name, path: artifact.path } } : {}),
  };
  const id = req.dryRun ? 0 : await recordDecision(ctx.store, ctx.sink, decision, { actor: ctx.actor, path, ...req.context });
  return { id, ...decision };
}

async function artifactByDigest(store: Store, digest: string): Promise<Artifact | undefined> {
  return store.db.selectFrom('artifacts').selectAll().where('digest', '=', digest).executeTakeFirst();
}

async function artifactByPath(store: Store, path: string): Promise<Artifact | undefined> {
  return store.db.selectFrom('artifacts').selectAll().where('path', '=', path).orderBy('updated_at', 'desc').executeTakeFirst();
}

function metadataOf(a: Artifact): Record<string, unknown> {
  try {
    const m: unknown = JSON.parse(a.metadata);
    return m && typeof m === 'object' && !Array.isArray(m) ? (m as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/**
 * The artifact's bundle: inline in the registry metadata (`bundle`), at `signature_path`, beside
 * the path being admitted, or beside the registered path (`signaturePath` is accepted too). Where it comes from does not matter to
 * trust: the bundle is verified, and it must sign this digest.
 */
export function locateBundle(a: Artifact, path: string | undefined): BundleFact {
  const m = metadataOf(a);
  try {
    if (m.bundle !== undefined && m.bundle !== null) {
      return { bundle: parseBundle(typeof m.bundle === 'string' ? m.bundle : JSON.stringify(m.bundle)), where: 'registry metadata' };
    }
    const named = typeof m.signature_path === 'string' ? m.signature_path : typeof m.signaturePath === 'string' ? m.signaturePath : undefined;
    const candidates = [
      named,
      path !== undefined ? defaultSignaturePath(path) : undefined,
      a.path ? defaultSignaturePath(a.path) : undefined,
    ].filter((p): p is string => p !== undefined);
    const found = candidates.find((p) => existsSync(p));
    if (!found) return { problem: candidates.length ? `none at ${[...new Set(candidates)].join(' or ')}` : 'the artifact has no path and no bundle in the registry' };
    return { bundle: readBundleFile(found), where: found };
  } catch (e) {
    const err = asPerimeterError(e);
    return { problem: `[${err.code}] ${err.message}` };
  }
}

async function hashFiles(path: string, options: HashOptions): Promise<{ digest?: string; error?: string }> {
  try {
    const r = await hashModel(path, { ...options, signaturePath: defaultSignaturePath(path) });
    return { digest: r.manifest.rootDigest };
  } catch (e) {
    const err = asPerimeterError(e);
    return { error: `[${err.code}] ${err.message}` };
  }
}

/** How the artifact was hashed: as its bundle says, else as its metadata says, else the defaults. */
function serializationOf(a: Artifact, b: BundleFact): Serialization | undefined {
  if (b.bundle) {
    try {
      return parseStatement(Buffer.from(b.bundle.dsseEnvelope.payload, 'base64')).serialization;
    } catch {
      /* the signature check reports it */
    }
  }
  const s = metadataOf(a).serialization;
  return s && typeof s === 'object' ? (s as Serialization) : undefined;
}

async function filesFact(a: Artifact, path: string | undefined, hashed: { digest?: string; error?: string } | undefined, b: BundleFact, requested: boolean): Promise<FilesFact> {
  const target = path ?? a.path ?? undefined;
  // A path given without --verify-files was hashed anyway to find the artifact: report what it showed.
  if (!requested && hashed === undefined) return { requested: false };
  if (target === undefined) return { requested: true, error: 'the artifact has no registered path; give the model path' };
  const ser = serializationOf(a, b);
  const defaults = !ser || (ser.method === 'files' && ser.hash_type === 'sha256' && !ser.allow_symlinks && !(ser.ignore_paths?.length ?? 0));
  if (defaults && hashed && path === target) return { requested: true, path: target, ...hashed, ...(hashed.digest ? { actual: hashed.digest } : {}) };
  const options: HashOptions = ser
    ? { method: ser.method, hashAlgorithm: ser.hash_type, shardSize: ser.shard_size, allowSymlinks: ser.allow_symlinks, ignorePaths: ser.ignore_paths ?? [] }
    : {};
  const r = await hashFiles(target, options);
  return { requested: true, path: target, ...(r.digest ? { actual: r.digest } : {}), ...(r.error ? { error: r.error } : {}) };
}
