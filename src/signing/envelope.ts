/** DSSE envelopes: building a signed bundle, and checking an envelope's one signature. */
import { verify, type KeyObject } from 'node:crypto';
import { PerimeterError } from '../errors/errors.ts';
import { BUNDLE_MEDIA_TYPE_V03, IN_TOTO_PAYLOAD_TYPE, decodeBase64, type Bundle, type DsseEnvelope, type VerificationMaterial } from './bundle.ts';
import { pae, paeCompatV02 } from './dsse.ts';
import { hashForKey, signEcdsa } from './keys.ts';

export function signedBundle(key: KeyObject, payload: Buffer, verificationMaterial: VerificationMaterial): Bundle {
  const sig = signEcdsa(key, pae(payload, IN_TOTO_PAYLOAD_TYPE));
  return {
    mediaType: BUNDLE_MEDIA_TYPE_V03,
    verificationMaterial,
    dsseEnvelope: {
      payload: payload.toString('base64'),
      payloadType: IN_TOTO_PAYLOAD_TYPE,
      signatures: [{ sig: sig.toString('base64'), keyid: '' }],
    },
  };
}

/** The single DSSE signature of an envelope, decoded. OMS bundles carry exactly one. */
export function singleDsseSignature(envelope: DsseEnvelope): Buffer {
  if (envelope.signatures.length !== 1) {
    throw new PerimeterError('PERIM_E_BUNDLE_MALFORMED', `DSSE envelope has ${envelope.signatures.length} signatures, expected exactly one`);
  }
  return decodeBase64(envelope.signatures[0]!.sig, 'DSSE signature');
}

export interface DsseCheck {
  payload: Buffer;
  /** True when only the model_signing v0.2.0 PAE form verified. */
  compatV02: boolean;
}

/**
 * Verifies the envelope's one signature with an EC key over PAE(payload), using the curve's SHA-2.
 * With `allowCompatV02`, falls back to the v0.2.0 PAE form, which that release signed with SHA-256
 * whatever the curve (the reference verifier hard-codes the same for keys and certificates).
 */
export function verifyDsseSignature(key: KeyObject, envelope: DsseEnvelope, opts: { allowCompatV02?: boolean } = {}): DsseCheck {
  const hash = hashForKey(key);
  const sig = singleDsseSignature(envelope);
  const payload = decodeBase64(envelope.payload, 'dsseEnvelope.payload');
  const ok = (h: string, data: Buffer): boolean => {
    try {
      return verify(h, data, key, sig);
    } catch {
      return false;
    }
  };
  if (ok(hash, pae(payload, envelope.payloadType))) return { payload, compatV02: false };
  if (opts.allowCompatV02 && ok('sha256', paeCompatV02(payload, envelope.payloadType))) return { payload, compatV02: true };
  throw new PerimeterError('PERIM_E_SIGNATURE_INVALID', 'the DSSE signature does not verify with the signer\'s key (wrong key, or the payload was changed)');
}
