/**
 * Fulcio leaf certificate checks: the chain to a trust-root certificate authority at the log's
 * integrated time, the Sigstore usage profile, and the identity policy (SAN and OIDC issuer).
 */
import { PerimeterError } from '../../errors/errors.ts';
import { describeCertificate, getExtension } from '../x509/certificate.ts';
import type { Certificate } from '../x509/certificate.ts';
import { verifyChain } from '../x509/chain.ts';
import { OID, decodeRawUtf8Extension, decodeUtf8StringExtension } from '../x509/extensions.ts';
import { readString, parseDer } from '../x509/der.ts';
import { isValidAt } from './trust-root.ts';
import type { CertificateAuthority, TrustRoot } from './trust-root.ts';

export interface FulcioPath {
  authority: CertificateAuthority;
  /** Leaf first, the authority's root last. */
  path: Certificate[];
}

/**
 * Finds a trust-root certificate authority valid at `at` whose chain issues the leaf, with every
 * certificate (the short-lived leaf included) valid at `at`. The authority's certificates are
 * used as given: the last one is the anchor, the others intermediates.
 */
export function verifyFulcioChain(leaf: Certificate, trustRoot: TrustRoot, at: Date): FulcioPath {
  const authorities = trustRoot.certificateAuthorities.filter((ca) => isValidAt(ca.validFor, at));
  if (authorities.length === 0) {
    throw new PerimeterError('PERIM_E_CERT_CHAIN', `no certificate authority in the trust root is valid at ${at.toISOString()}`);
  }
  let firstError: unknown;
  for (const authority of authorities) {
    const certs = authority.certificates;
    try {
      const path = verifyChain(leaf, { at, intermediates: certs.slice(0, -1), anchors: certs.slice(-1) });
      return { authority, path };
    } catch (e) {
      // An expired leaf is the same failure whatever the authority: report it as such.
      if (e instanceof PerimeterError && e.code === 'PERIM_E_CERT_EXPIRED') throw e;
      firstError ??= e;
    }
  }
  if (authorities.length === 1) throw firstError;
  throw new PerimeterError('PERIM_E_CERT_CHAIN', `the signing certificate does not chain to any of ${authorities.length} trusted certificate authorities valid at ${at.toISOString()}`, {
    cause: firstError,
  });
}

/** Sigstore's profile for the leaf: keyUsage digitalSignature and extendedKeyUsage codeSigning. */
export function checkFulcioUsage(leaf: Certificate): void {
  if (!leaf.keyUsage?.digitalSignature) {
    throw new PerimeterError('PERIM_E_CERT_USAGE', `signing certificate ${describeCertificate(leaf)} lacks keyUsage digitalSignature`);
  }
  if (!leaf.extKeyUsage?.includes(OID.ekuCodeSigning)) {
    throw new PerimeterError('PERIM_E_CERT_USAGE', `signing certificate ${describeCertificate(leaf)} lacks extendedKeyUsage codeSigning`);
  }
}

/** Identities a Fulcio leaf names: email and URI SANs, and Fulcio's otherName (UTF8String). */
export function leafIdentities(leaf: Certificate): string[] {
  const out: string[] = [];
  for (const san of leaf.subjectAltNames) {
    if (san.type === 'email' || san.type === 'uri') out.push(san.value);
    else if (san.type === 'otherName' && san.oid === OID.fulcioOtherName) {
      try {
        out.push(readString(parseDer(san.value)));
      } catch {
        // an undecodable otherName names nobody
      }
    }
  }
  return out;
}

/** Returns the SAN equal to `identity` (exact, case-sensitive) or throws PERIM_E_IDENTITY_MISMATCH. */
export function matchIdentity(leaf: Certificate, identity: string): string {
  const all = leafIdentities(leaf);
  if (!all.includes(identity)) {
    throw new PerimeterError('PERIM_E_IDENTITY_MISMATCH', `the certificate identity is ${all.length ? all.map((s) => `"${s}"`).join(', ') : 'empty'}, expected "${identity}"`, {
      details: { expected: identity, actual: all },
    });
  }
  return identity;
}

/** OIDC issuers the leaf carries: 1.3.6.1.4.1.57264.1.8 (UTF8String) and legacy .1.1 (raw text). */
export function leafIssuers(leaf: Certificate): string[] {
  const out: string[] = [];
  const v2 = getExtension(leaf, OID.fulcioIssuerV2);
  if (v2) out.push(decodeUtf8StringExtension(v2.value));
  const v1 = getExtension(leaf, OID.fulcioIssuerV1);
  if (v1) out.push(decodeRawUtf8Extension(v1.value));
  return out;
}

/** Every issuer extension present must equal `issuer`, and at least one must be present. */
export function matchIssuer(leaf: Certificate, issuer: string): string {
  const all = leafIssuers(leaf);
  if (all.length === 0) throw new PerimeterError('PERIM_E_ISSUER_MISMATCH', 'the certificate carries no OIDC issuer extension');
  const wrong = all.find((i) => i !== issuer);
  if (wrong !== undefined) {
    throw new PerimeterError('PERIM_E_ISSUER_MISMATCH', `the certificate OIDC issuer is "${wrong}", expected "${issuer}"`, { details: { expected: issuer, actual: all } });
  }
  return issuer;
}
