/**
 * Offline verification of Sigstore (keyless) bundles, as `model_signing` does through
 * sigstore-python: the Rekor entry is trusted and matches the bundle, the Fulcio leaf chains to
 * the trust root at the entry's integrated time, its SCT verifies, it names the expected identity
 * and OIDC issuer, and its key signed the DSSE envelope. No network access.
 *
 * Time comes only from the Rekor signed entry timestamp (the leaf lives ten minutes); the
 * verification clock `now` only bounds integratedTime from the future. RFC 3161 timestamps are
 * not checked.
 */
import { PerimeterError } from '../../errors/errors.ts';
import { bundleCertificates, bundleMethod } from '../bundle.ts';
import type { Bundle } from '../bundle.ts';
import type { VerifiedPayload, Verifier } from '../verifier.ts';
import { certificatePublicKey, describeCertificate, parseCertificate } from '../x509/certificate.ts';
import { singleDsseSignature, verifyDsseSignature } from '../envelope.ts';
import { checkFulcioUsage, matchIdentity, matchIssuer, verifyFulcioChain } from './fulcio.ts';
import { checkDsseEntryBody, selectTlogEntry, verifyTlogEntry } from './rekor.ts';
import { verifyEmbeddedSct } from './sct.ts';
import { defaultTrustRoot } from './trust-root.ts';
import type { TrustRoot } from './trust-root.ts';

export interface SigstoreVerifierOptions {
  /** Expected signer identity: an email or URI SAN of the Fulcio certificate, exactly. */
  identity: string;
  /** Expected OIDC issuer, exactly as in the certificate. */
  issuer: string;
  /** Defaults to the shipped Sigstore public-good trust root. */
  trustRoot?: TrustRoot;
  /** Verification clock; defaults to the current time at each verify(). */
  now?: Date;
}

/** The leaf certificate of a sigstore-method bundle, or PERIM_E_WRONG_METHOD. */
export function sigstoreLeaf(bundle: Bundle): Buffer {
  const method = bundleMethod(bundle);
  const vm = bundle.verificationMaterial;
  const certs = bundleCertificates(bundle);
  // Older bundles carried the Fulcio leaf as a one-element x509CertificateChain with a log entry.
  const oldStyle = method === 'certificate' && certs.length === 1 && (vm.tlogEntries?.length ?? 0) > 0;
  if (method !== 'sigstore' && !oldStyle) {
    throw new PerimeterError('PERIM_E_WRONG_METHOD', `the bundle was signed with the ${method} method, not Sigstore`);
  }
  return certs[0]!;
}

export class SigstoreVerifier implements Verifier {
  readonly #identity: string;
  readonly #issuer: string;
  readonly #trustRoot: TrustRoot;
  readonly #now: Date | undefined;

  constructor(options: SigstoreVerifierOptions) {
    if (!options.identity) throw new PerimeterError('PERIM_E_USAGE', 'an expected identity is required');
    if (!options.issuer) throw new PerimeterError('PERIM_E_USAGE', 'an expected OIDC issuer is required');
    const trustRoot = options.trustRoot ?? defaultTrustRoot();
    if (trustRoot.tlogs.length === 0) throw new PerimeterError('PERIM_E_TRUST_ROOT', 'the trust root has no transparency log');
    if (trustRoot.certificateAuthorities.length === 0) throw new PerimeterError('PERIM_E_TRUST_ROOT', 'the trust root has no certificate authority');
    this.#identity = options.identity;
    this.#issuer = options.issuer;
    this.#trustRoot = trustRoot;
    this.#now = options.now;
  }

  async verify(bundle: Bundle): Promise<VerifiedPayload> {
    const leafDer = sigstoreLeaf(bundle);
    singleDsseSignature(bundle.dsseEnvelope);
    const leaf = parseCertificate(leafDer);
    const now = this.#now ?? new Date();

    const entry = verifyTlogEntry(selectTlogEntry(bundle), this.#trustRoot, now);
    checkDsseEntryBody(entry.body, bundle.dsseEnvelope, leafDer);
    const checks = [...entry.checks, 'Rekor entry body matches the bundle (payload hash, signature, certificate)'];

    const at = entry.integratedTime;
    const { path } = verifyFulcioChain(leaf, this.#trustRoot, at);
    checks.push(`certificate chain to Fulcio root ${describeCertificate(path[path.length - 1]!)} at integrated time ${iso(at)} (leaf valid ${iso(leaf.notBefore)} to ${iso(leaf.notAfter)})`);
    checks.push(verifyEmbeddedSct(leaf, path[1]!, this.#trustRoot.ctlogs));

    checkFulcioUsage(leaf);
    checks.push('signing certificate has keyUsage digitalSignature and extendedKeyUsage codeSigning');
    const subject = matchIdentity(leaf, this.#identity);
    checks.push(`certificate identity is "${subject}"`);
    const issuer = matchIssuer(leaf, this.#issuer);
    checks.push(`certificate OIDC issuer is "${issuer}"`);

    const { payload } = verifyDsseSignature(certificatePublicKey(leaf), bundle.dsseEnvelope);
    checks.push('DSSE signature verified with the Fulcio certificate key');

    const tsa = bundle.verificationMaterial.timestampVerificationData?.rfc3161Timestamps ?? [];
    if (tsa.length > 0) checks.push(`${tsa.length} RFC 3161 timestamp(s) present but not checked (time comes from Rekor)`);

    return {
      payloadType: bundle.dsseEnvelope.payloadType,
      payload,
      signer: { method: 'sigstore', subject, issuer, signedAt: iso(at), checks },
    };
  }
}

function iso(d: Date): string {
  return d.toISOString().replace('.000Z', 'Z');
}
