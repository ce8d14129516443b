/**
 * Certificate path validation at a given time: build a path from the leaf through the given
 * intermediates to one of the trust anchors, checking at every step name chaining, the issuer's
 * signature, validity at that time, CA basic constraints, keyCertSign, pathLen and that no
 * unknown extension is critical. Fails closed with PERIM_E_CERT_CHAIN or PERIM_E_CERT_EXPIRED.
 *
 * Not done: revocation (CRL/OCSP), name constraints and policy processing (a certificate that
 * marks either critical is refused), and key-usage checks on the leaf (callers decide).
 */
import { PerimeterError } from '../../errors/errors.ts';
import { certificatePublicKey, describeCertificate } from './certificate.ts';
import type { Certificate } from './certificate.ts';
import { OID } from './extensions.ts';
import { certificateSignedBy } from './signature.ts';

/** Longest path accepted, leaf and anchor included. */
export const DEFAULT_MAX_CHAIN_LENGTH = 10;
/** Most intermediates a caller may offer (they come from the untrusted bundle). */
export const MAX_INTERMEDIATES = 32;
/** Most signature checks one path search may make. */
const MAX_SIGNATURE_CHECKS = 128;

/** Extensions whose meaning we enforce here or in the verifiers, so they may be critical. */
const HANDLED_EXTENSIONS = new Set<string>([
  OID.basicConstraints,
  OID.keyUsage,
  OID.extKeyUsage,
  OID.subjectAltName,
  OID.subjectKeyIdentifier,
  OID.authorityKeyIdentifier,
]);

export interface ChainOptions {
  /** The time every certificate in the path must be valid at. */
  at: Date;
  /** Untrusted certificates that may help build the path (e.g. from the bundle). */
  intermediates?: Certificate[];
  /** Trusted certificates; the path must end at one of them. */
  anchors: Certificate[];
  maxLength?: number;
}

function chainError(message: string, details?: Record<string, unknown>): PerimeterError {
  return new PerimeterError('PERIM_E_CERT_CHAIN', message, details ? { details } : undefined);
}

export function isSelfIssued(cert: Certificate): boolean {
  return cert.subject.der.equals(cert.issuer.der);
}

/** Throws PERIM_E_CERT_EXPIRED unless notBefore <= at <= notAfter. */
export function checkValidAt(cert: Certificate, at: Date, role: string): void {
  const t = at.getTime();
  if (t < cert.notBefore.getTime() || t > cert.notAfter.getTime()) {
    throw new PerimeterError(
      'PERIM_E_CERT_EXPIRED',
      `${role} certificate ${describeCertificate(cert)} is not valid at ${at.toISOString()} (valid ${cert.notBefore.toISOString()} to ${cert.notAfter.toISOString()})`,
    );
  }
}

function checkCriticalExtensions(cert: Certificate, role: string): void {
  const unknown = cert.extensions.find((e) => e.critical && !HANDLED_EXTENSIONS.has(e.oid));
  if (unknown) throw chainError(`${role} certificate ${describeCertificate(cert)} has an unsupported critical extension ${unknown.oid}`);
}

/** Checks `issuer` may issue `path.at(-1)`, given the path below it (leaf first). */
function checkIssuer(issuer: Certificate, path: Certificate[], at: Date, anchor: boolean): void {
  const role = anchor ? 'trust anchor' : 'intermediate';
  const child = path[path.length - 1]!;
  if (!certificateSignedBy(child, certificatePublicKey(issuer))) {
    throw chainError(`certificate ${describeCertificate(child)} is not signed by ${role} ${describeCertificate(issuer)}`);
  }
  checkValidAt(issuer, at, role);
  if (issuer.basicConstraints?.cA !== true) throw chainError(`${role} ${describeCertificate(issuer)} is not a CA (basicConstraints cA is not true)`);
  if (issuer.keyUsage !== undefined && !issuer.keyUsage.keyCertSign) {
    throw chainError(`${role} ${describeCertificate(issuer)} may not sign certificates (keyUsage lacks keyCertSign)`);
  }
  checkCriticalExtensions(issuer, role);
  const pathLen = issuer.basicConstraints.pathLen;
  if (pathLen !== undefined) {
    const below = path.slice(1).filter((c) => !isSelfIssued(c)).length;
    if (below > pathLen) throw chainError(`${role} ${describeCertificate(issuer)} allows ${pathLen} intermediates below it, the path has ${below}`);
  }
}

/**
 * Returns a validated path, leaf first and trust anchor last. Throws PERIM_E_CERT_EXPIRED when the
 * leaf (or the only possible path) is not valid at `at`, else PERIM_E_CERT_CHAIN.
 */
export function verifyChain(leaf: Certificate, opts: ChainOptions): Certificate[] {
  const { at, anchors } = opts;
  const intermediates = opts.intermediates ?? [];
  const maxLength = opts.maxLength ?? DEFAULT_MAX_CHAIN_LENGTH;
  if (anchors.length === 0) throw new PerimeterError('PERIM_E_TRUST_ROOT', 'no trust anchor to verify the certificate chain against');
  if (intermediates.length > MAX_INTERMEDIATES) throw chainError(`more than ${MAX_INTERMEDIATES} intermediate certificates`);
  checkValidAt(leaf, at, 'signing');
  checkCriticalExtensions(leaf, 'signing');

  const pool = [...anchors.map((cert) => ({ cert, anchor: true })), ...intermediates.map((cert) => ({ cert, anchor: false }))];
  let best: { depth: number; error: PerimeterError } | undefined;
  let checks = 0;

  const extend = (path: Certificate[]): Certificate[] | undefined => {
    const cur = path[path.length - 1]!;
    const candidates = pool.filter(
      ({ cert }) =>
        cert.subject.der.equals(cur.issuer.der) &&
        !path.some((p) => p.der.equals(cert.der)) &&
        !(cur.authorityKeyId && cert.subjectKeyId && !cur.authorityKeyId.equals(cert.subjectKeyId)),
    );
    for (const { cert, anchor } of candidates) {
      if (path.length + 1 > maxLength) {
        best ??= { depth: path.length, error: chainError(`certificate chain is longer than ${maxLength}`) };
        return undefined;
      }
      if (++checks > MAX_SIGNATURE_CHECKS) throw chainError('certificate path search gave up (too many candidate issuers)');
      try {
        checkIssuer(cert, path, at, anchor);
      } catch (e) {
        if (!(e instanceof PerimeterError)) throw e;
        if (best === undefined || path.length > best.depth) best = { depth: path.length, error: e };
        continue;
      }
      if (anchor) return [...path, cert];
      const found = extend([...path, cert]);
      if (found) return found;
    }
    return undefined;
  };

  const path = extend([leaf]);
  if (path) return path;
  if (best) throw best.error;
  throw chainError(`no trusted issuer found for ${describeCertificate(leaf)} (issuer "${leaf.issuer.text}")`, { issuer: leaf.issuer.text });
}
