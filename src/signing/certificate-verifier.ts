/**
 * Verifies bundles made with the certificate method (x509CertificateChain), as the reference
 * `model_signing` does: the chain must verify at the leaf's notBefore against the trust anchors,
 * and the leaf must allow signing (keyUsage digitalSignature, or else EKU codeSigning). Perimeter
 * additionally refuses a leaf that has expired by the verification time ("expiry enforced").
 */
import { createHash } from 'node:crypto';
import { PerimeterError } from '../errors/errors.ts';
import { bundleCertificates, bundleMethod } from './bundle.ts';
import type { Bundle } from './bundle.ts';
import type { VerifiedPayload, Verifier } from './verifier.ts';
import { certificatePublicKey, describeCertificate, parseCertificate, pemCertificates } from './x509/certificate.ts';
import type { Certificate } from './x509/certificate.ts';
import { MAX_INTERMEDIATES, verifyChain } from './x509/chain.ts';
import { OID } from './x509/extensions.ts';
import { verifyDsseSignature } from './envelope.ts';

export interface CertificateVerifierOptions {
  /** The verification time for the expiry check; defaults to the current time at each verify(). */
  now?: Date;
}

/** Parses trust anchor PEM texts (each may hold several certificates). Throws PERIM_E_TRUST_ROOT. */
export function parseTrustAnchors(pems: readonly string[]): Certificate[] {
  const anchors: Certificate[] = [];
  for (const text of pems) {
    const ders = pemCertificates(text);
    if (ders.length === 0) throw new PerimeterError('PERIM_E_TRUST_ROOT', 'a trust anchor file holds no PEM CERTIFICATE block');
    for (const der of ders) {
      try {
        anchors.push(parseCertificate(der));
      } catch (e) {
        throw new PerimeterError('PERIM_E_TRUST_ROOT', `a trust anchor certificate cannot be parsed: ${(e as Error).message}`, { cause: e });
      }
    }
  }
  if (anchors.length === 0) throw new PerimeterError('PERIM_E_TRUST_ROOT', 'no trust anchor certificate given');
  return anchors;
}

/** The reference's rule: keyUsage digitalSignature, or failing that EKU codeSigning. */
export function leafMaySign(leaf: Certificate): boolean {
  if (leaf.keyUsage?.digitalSignature) return true;
  return leaf.extKeyUsage?.includes(OID.ekuCodeSigning) ?? false;
}

/** The OMS key hint: sha256 hex of the public key's PEM SubjectPublicKeyInfo text. */
export function keyHintOf(leaf: Certificate): string {
  const pem = certificatePublicKey(leaf).export({ type: 'spki', format: 'pem' });
  return createHash('sha256').update(pem).digest('hex');
}

export class CertificateVerifier implements Verifier {
  readonly #anchors: Certificate[];
  readonly #now: Date | undefined;

  constructor(trustAnchorPems: readonly string[], options: CertificateVerifierOptions = {}) {
    this.#anchors = parseTrustAnchors(trustAnchorPems);
    this.#now = options.now;
  }

  async verify(bundle: Bundle): Promise<VerifiedPayload> {
    const method = bundleMethod(bundle);
    if (method !== 'certificate') {
      throw new PerimeterError('PERIM_E_WRONG_METHOD', `the bundle was signed with the ${method} method, not a certificate chain`);
    }
    const ders = bundleCertificates(bundle);
    if (ders.length - 1 > MAX_INTERMEDIATES) throw new PerimeterError('PERIM_E_BUNDLE_MALFORMED', `the bundle carries more than ${MAX_INTERMEDIATES + 1} certificates`);
    const [leaf, ...intermediates] = ders.map((d) => parseCertificate(d));
    if (leaf === undefined) throw new PerimeterError('PERIM_E_BUNDLE_MALFORMED', 'the bundle carries no certificate');
    const checks: string[] = [];

    const at = leaf.notBefore;
    const path = verifyChain(leaf, { at, intermediates, anchors: this.#anchors });
    const anchor = path[path.length - 1]!;
    checks.push(`certificate chain to trusted anchor ${describeCertificate(anchor)} at ${iso(at)} (${path.length} certificates)`);

    if (!leafMaySign(leaf)) {
      throw new PerimeterError('PERIM_E_CERT_USAGE', `signing certificate ${describeCertificate(leaf)} has neither keyUsage digitalSignature nor extendedKeyUsage codeSigning`);
    }
    checks.push(leaf.keyUsage?.digitalSignature ? 'signing certificate has keyUsage digitalSignature' : 'signing certificate has extendedKeyUsage codeSigning');

    const now = this.#now ?? new Date();
    if (leaf.notAfter.getTime() < now.getTime()) {
      throw new PerimeterError('PERIM_E_CERT_EXPIRED', `signing certificate ${describeCertificate(leaf)} expired at ${iso(leaf.notAfter)} (verification time ${iso(now)})`);
    }
    checks.push(`signing certificate not expired at ${iso(now)} (valid until ${iso(leaf.notAfter)})`);

    const { payload, compatV02 } = verifyDsseSignature(certificatePublicKey(leaf), bundle.dsseEnvelope, { allowCompatV02: true });
    checks.push(compatV02 ? 'DSSE signature verified with the leaf key (model_signing v0.2.0 compatibility encoding)' : 'DSSE signature verified with the leaf key');

    return {
      payloadType: bundle.dsseEnvelope.payloadType,
      payload,
      signer: {
        method: 'certificate',
        keyHint: keyHintOf(leaf),
        subject: leaf.subject.text,
        signedAt: iso(at),
        checks,
      },
    };
  }
}

function iso(d: Date): string {
  return d.toISOString().replace('.000Z', 'Z');
}
