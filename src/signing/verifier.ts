/**
 * Roles. A Verifier checks who signed a bundle's DSSE envelope and returns the signed payload;
 * it never looks at model files (verifyModel does that with the payload it returns).
 */
import type { Bundle } from './bundle.ts';

/** What a successful signature check established about the signer. */
export interface SignerIdentity {
  method: 'key' | 'certificate' | 'sigstore';
  /** sha256 hex of the PEM SubjectPublicKeyInfo (the OMS key hint), for key and certificate methods. */
  keyHint?: string;
  /** Leaf certificate subject (certificate method) or SAN identity (sigstore). */
  subject?: string;
  /** OIDC issuer from the Fulcio certificate (sigstore). */
  issuer?: string;
  /** The time the signature is checked against (leaf notBefore, or Rekor integratedTime). ISO 8601. */
  signedAt?: string;
  /** Human-readable list of checks that passed, for `--json` and the demo. */
  checks: string[];
}

export interface VerifiedPayload {
  payloadType: string;
  payload: Buffer;
  signer: SignerIdentity;
}

export interface Verifier {
  verify(bundle: Bundle): Promise<VerifiedPayload>;
}

export interface Signer {
  /** Signs DSSE pre-authentication-encoded bytes; returns a complete bundle. */
  sign(payload: Buffer): Promise<Bundle>;
}
