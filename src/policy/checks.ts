/**
 * The admission checks, one small function each, over facts gathered beforehand (admit.ts does
 * the reading). Each returns one Reason; none throws: anything unexpected is a failing reason, so
 * the pipeline fails closed.
 */
import { isPerimeterError } from '../errors/errors.ts';
import { buildManifest } from '../artifact/manifest.ts';
import { parseStatement } from '../signing/statement.ts';
import type { Bundle } from '../signing/bundle.ts';
import { SCAN_LEVELS, type ScanLevel } from '../config/schema.ts';
import type { EnvironmentSettings } from '../config/environments.ts';
import type { TrustedVerifier } from './trust.ts';

export const CHECKS = ['artifact.known', 'files.unchanged', 'signature.trusted', 'scan.verdict', 'license.allowed', 'not.revoked'] as const;
export type CheckId = (typeof CHECKS)[number];

export interface Reason {
  check: CheckId;
  /** pass, fail, or skip (not required by policy, or not reachable after an earlier failure). */
  status: 'pass' | 'fail' | 'skip';
  message: string;
  /** The config setting (policy id) that made this check decide, e.g. `admission.environments.prod.require.scan`. */
  policy: string;
}

const reason = (check: CheckId, status: Reason['status'], policy: string, message: string): Reason => ({ check, status, policy, message });
const short = (d: string): string => (d.length > 23 ? `${d.slice(0, 19)}…${d.slice(-4)}` : d);

export function checkKnown(digest: string | undefined, known: boolean, via?: string, hashError?: string): Reason {
  const p = 'admission.registry';
  if (known) return reason('artifact.known', 'pass', p, `artifact ${digest} is registered${via ? ` (${via})` : ''}`);
  if (digest) return reason('artifact.known', 'fail', p, `no artifact ${digest} is registered`);
  return reason('artifact.known', 'fail', p, `the model could not be identified: ${hashError ?? 'no digest'}`);
}

export interface FilesFact {
  /** Not requested (no --verify-files, nothing hashed). */
  requested: boolean;
  path?: string;
  /** The digest the files on disk hash to, if hashing worked. */
  actual?: string;
  /** Why hashing did not work. */
  error?: string;
}

export function checkFiles(expected: string, f: FilesFact): Reason {
  const p = 'admission.verify_files';
  if (!f.requested) return reason('files.unchanged', 'skip', p, 'files on disk not re-hashed (use --verify-files)');
  if (f.error !== undefined) return reason('files.unchanged', 'fail', p, `cannot re-hash ${f.path ?? 'the model'}: ${f.error}`);
  if (f.actual === expected) return reason('files.unchanged', 'pass', p, `files at ${f.path} hash to ${expected}`);
  return reason('files.unchanged', 'fail', p, `files at ${f.path} hash to ${f.actual}, not the admitted ${expected}: they changed`);
}

export interface BundleFact {
  bundle?: Bundle;
  /** Where it came from: a file path, or `registry metadata`. */
  where?: string;
  /** Why there is none or it could not be parsed. */
  problem?: string;
}

/** Re-verifies the bundle against the environment's trust, then checks it signs this digest. */
export async function checkSignature(digest: string, settings: EnvironmentSettings, verifiers: readonly TrustedVerifier[], b: BundleFact): Promise<Reason> {
  const p = `${settings.source.require}.require.signature`;
  const trustPolicy = `${settings.source.trust}.trust`;
  if (!settings.require.signature) return reason('signature.trusted', 'skip', p, `no signature required in environment ${settings.env}`);
  if (verifiers.length === 0) return reason('signature.trusted', 'fail', trustPolicy, `nothing is trusted for environment ${settings.env} (${trustPolicy} names no key, certificate or Sigstore identity)`);
  if (!b.bundle) return reason('signature.trusted', 'fail', p, `no signature bundle: ${b.problem ?? 'none found'}`);
  const failures: string[] = [];
  for (const v of verifiers) {
    let payload: Buffer;
    let signer: string;
    try {
      const r = await v.verifier.verify(b.bundle);
      payload = r.payload;
      signer = r.signer.subject ?? (r.signer.keyHint ? `key ${r.signer.keyHint.slice(0, 16)}…` : r.signer.method);
    } catch (e) {
      if (!isPerimeterError(e, 'PERIM_E_WRONG_METHOD')) failures.push(`${v.label}: ${describe(e)}`);
      continue;
    }
    try {
      const signed = parseStatement(payload);
      const canonical = buildManifest(signed.modelName, signed.serialization, signed.resources).rootDigest;
      if (canonical !== digest && signed.signedRootDigest !== digest) {
        return reason('signature.trusted', 'fail', trustPolicy, `the bundle at ${b.where} is signed by ${signer} (${v.label}) but for ${short(canonical)}, not this artifact`);
      }
    } catch (e) {
      return reason('signature.trusted', 'fail', trustPolicy, `the signed statement in ${b.where} is not usable: ${describe(e)}`);
    }
    return reason('signature.trusted', 'pass', trustPolicy, `signed by ${signer}, trusted by ${v.label} (bundle: ${b.where})`);
  }
  const why = failures.length > 0 ? failures.join('; ') : `the bundle is signed with a method nothing in ${trustPolicy} trusts`;
  return reason('signature.trusted', 'fail', trustPolicy, `signature at ${b.where} is not by a trusted identity: ${why}`);
}

export function checkScan(verdict: string | null, settings: EnvironmentSettings): Reason {
  const p = `${settings.source.require}.require.scan`;
  const max = settings.require.scan;
  if (verdict === null) return reason('scan.verdict', 'fail', p, 'the artifact was never scanned');
  const rank = SCAN_LEVELS.indexOf(verdict as ScanLevel);
  if (rank < 0) return reason('scan.verdict', 'fail', p, `unknown scan verdict "${verdict}"`);
  if (rank <= SCAN_LEVELS.indexOf(max)) return reason('scan.verdict', 'pass', p, `scan verdict ${verdict} is within the limit (${max})`);
  return reason('scan.verdict', 'fail', p, `scan verdict ${verdict} is worse than the limit (${max}) for environment ${settings.env}`);
}

export function checkLicense(license: string | null, settings: EnvironmentSettings): Reason {
  const p = `${settings.source.licenses}.licenses.allow`;
  const allow = settings.licenses.allow;
  if (allow.length === 0) return reason('license.allowed', 'pass', p, `any license is allowed in environment ${settings.env}${license ? ` (${license})` : ''}`);
  if (!license) return reason('license.allowed', 'fail', p, `no license is recorded; allowed: ${allow.join(', ')}`);
  if (allow.some((a) => a.toLowerCase() === license.toLowerCase())) return reason('license.allowed', 'pass', p, `license ${license} is allowed`);
  return reason('license.allowed', 'fail', p, `license ${license} is not allowed (allowed: ${allow.join(', ')})`);
}

/** `revokedBy` is an extra revocation source (a kill-switch, a registry flag) when one exists. */
export function checkRevoked(digest: string, settings: EnvironmentSettings, revokedBy?: string): Reason {
  if (settings.revoked.includes(digest)) return reason('not.revoked', 'fail', 'admission.revoked', `artifact ${short(digest)} is listed in admission.revoked`);
  if (revokedBy) return reason('not.revoked', 'fail', 'admission.revoked', `artifact is revoked: ${revokedBy}`);
  return reason('not.revoked', 'pass', 'admission.revoked', 'not revoked');
}

export function skipped(check: CheckId, why: string): Reason {
  return reason(check, 'skip', 'admission.registry', why);
}

function describe(e: unknown): string {
  if (isPerimeterError(e)) return `[${e.code}] ${e.message}`;
  return `unexpected error: ${(e as Error)?.message ?? String(e)}`;
}
