/**
 * Signature evidence for a registration. Three outcomes besides "none" (no signature file):
 * - verified:   trust material was given and verifyModel passed (its checks are kept);
 * - invalid:    the signature is present but did not verify with the given trust, or is malformed
 *               (the coded error is kept; the artifact is still recorded, never silently passed);
 * - unverified: the signature is present and no trust material was given: "signed, not verified",
 *               with what the bundle *claims* about its signer (not established).
 */
import { existsSync } from 'node:fs';
import { isPerimeterError } from '../errors/errors.ts';
import { bundleCertificates, bundleMethod, type Bundle } from '../signing/bundle.ts';
import { readBundleFile, verifyModel, type VerifyResult } from '../signing/model.ts';
import { leafIdentities, leafIssuers } from '../signing/sigstore/fulcio.ts';
import type { Verifier } from '../signing/verifier.ts';
import { describeCertificate, parseCertificate } from '../signing/x509/certificate.ts';

export type SignatureStatus = 'none' | 'unverified' | 'verified' | 'invalid';

export interface SignatureEvidence {
  status: SignatureStatus;
  method: string | null;
  /** Key hint, certificate subject or Sigstore identity: established when verified, claimed otherwise. */
  signer: string | null;
  issuer: string | null;
  /** What was recorded, for the evidence column. */
  evidence: Record<string, unknown>;
  /** The verification result when verified (its root digest may spare a second hash). */
  result?: VerifyResult;
  /** The bundle as read (kept with the artifact so admission can re-verify it later). */
  bundle?: Bundle;
}

/** What a bundle says about its signer, without trusting it. */
export function claimedSigner(bundle: Bundle): { method: string; signer: string | null; issuer: string | null } {
  const method = bundleMethod(bundle);
  if (method === 'key') return { method, signer: bundle.verificationMaterial.publicKey?.hint ?? null, issuer: null };
  try {
    const leaf = parseCertificate(bundleCertificates(bundle)[0]!);
    if (method === 'sigstore') return { method, signer: leafIdentities(leaf)[0] ?? null, issuer: leafIssuers(leaf)[0] ?? null };
    return { method, signer: describeCertificate(leaf).replace(/^"|"$/g, ''), issuer: null };
  } catch {
    return { method, signer: null, issuer: null };
  }
}

/**
 * Checks the signature at `signaturePath` for the model at `modelPath`. Throws only on errors of
 * the environment (a model that cannot be read); a bad signature is evidence, not an exception.
 */
export async function signatureEvidence(modelPath: string, signaturePath: string, verifier: Verifier | undefined): Promise<SignatureEvidence> {
  if (!existsSync(signaturePath)) {
    return { status: 'none', method: null, signer: null, issuer: null, evidence: verifier ? { note: 'trust material given but the model has no signature', signaturePath } : {} };
  }
  let bundle: Bundle;
  try {
    bundle = readBundleFile(signaturePath);
  } catch (e) {
    if (!isPerimeterError(e) || e.kind !== 'invalid') throw e;
    return { status: 'invalid', method: null, signer: null, issuer: null, evidence: { signaturePath, error: { code: e.code, message: e.message } } };
  }
  const claimed = claimedSigner(bundle);
  if (!verifier) {
    return { status: 'unverified', ...claimed, bundle, evidence: { signaturePath, note: 'signed, not verified: no trust material given', claimed: true } };
  }
  try {
    const r = await verifyModel(modelPath, verifier, { signaturePath });
    const s = r.signer;
    return {
      status: 'verified',
      method: s.method,
      signer: s.subject ?? s.keyHint ?? null,
      issuer: s.issuer ?? null,
      evidence: { signaturePath, checks: r.checks, ...(s.signedAt ? { signedAt: s.signedAt } : {}), ...(s.keyHint ? { keyHint: s.keyHint } : {}), serialization: r.serialization },
      result: r,
      bundle,
    };
  } catch (e) {
    // Failures of the environment (unreadable model) or of the operator's trust material are not evidence.
    if (!isPerimeterError(e) || e.kind !== 'invalid') throw e;
    return { status: 'invalid', ...claimed, bundle, evidence: { signaturePath, claimed: true, error: { code: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) } } };
  }
}
