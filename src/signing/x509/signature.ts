/** A certificate's signature by its issuer's key. (DSSE envelope signatures: ../envelope.ts.) */
import { verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { Certificate } from './certificate.ts';

type Hash = 'sha256' | 'sha384' | 'sha512';

/** Certificate signature algorithms we accept: OID → [key type, hash]. SHA-1 and PSS are refused. */
const CERT_SIG_ALGS: Record<string, { keyType: string; hash: Hash | null; nullParamsOk: boolean }> = {
  '1.2.840.10045.4.3.2': { keyType: 'ec', hash: 'sha256', nullParamsOk: false },
  '1.2.840.10045.4.3.3': { keyType: 'ec', hash: 'sha384', nullParamsOk: false },
  '1.2.840.10045.4.3.4': { keyType: 'ec', hash: 'sha512', nullParamsOk: false },
  '1.2.840.113549.1.1.11': { keyType: 'rsa', hash: 'sha256', nullParamsOk: true },
  '1.2.840.113549.1.1.12': { keyType: 'rsa', hash: 'sha384', nullParamsOk: true },
  '1.2.840.113549.1.1.13': { keyType: 'rsa', hash: 'sha512', nullParamsOk: true },
  '1.3.101.112': { keyType: 'ed25519', hash: null, nullParamsOk: false },
};
const DER_NULL = Buffer.from([0x05, 0x00]);

/**
 * True when `issuerKey` signed `cert`'s TBSCertificate (the bytes we parsed, so no parser
 * differential). An unsupported algorithm or a key of the wrong type is false, never a throw.
 */
export function certificateSignedBy(cert: Certificate, issuerKey: KeyObject): boolean {
  const alg = CERT_SIG_ALGS[cert.signatureAlgorithm];
  if (alg === undefined || issuerKey.asymmetricKeyType !== alg.keyType) return false;
  const params = cert.signatureAlgorithmParams;
  if (params !== undefined && !(alg.nullParamsOk && params.equals(DER_NULL))) return false;
  try {
    return verify(alg.hash, cert.tbs, issuerKey, cert.signature);
  } catch {
    return false;
  }
}
