/** The "key" method: a long-lived EC key pair, the public key named in the bundle by its hint. */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { PerimeterError } from '../errors/errors.ts';
import { bundleMethod, decodeBase64, type Bundle } from './bundle.ts';
import { signedBundle, verifyDsseSignature } from './envelope.ts';
import { curveName, hashForKey, keyHint, spkiDer } from './keys.ts';
import type { Signer, VerifiedPayload, Verifier } from './verifier.ts';

export class KeySigner implements Signer {
  readonly #key: KeyObject;
  constructor(privateKey: KeyObject) {
    hashForKey(privateKey);
    this.#key = privateKey;
  }
  async sign(payload: Buffer): Promise<Bundle> {
    // OMS v1.0: producers name the key by its hint; no transparency log for this method.
    return signedBundle(this.#key, payload, { publicKey: { hint: keyHint(this.#key) }, tlogEntries: [] });
  }
}

export class KeyVerifier implements Verifier {
  readonly #key: KeyObject;
  constructor(publicKey: KeyObject) {
    hashForKey(publicKey);
    this.#key = publicKey;
  }
  async verify(bundle: Bundle): Promise<VerifiedPayload> {
    const method = bundleMethod(bundle);
    if (method !== 'key') throw new PerimeterError('PERIM_E_WRONG_METHOD', `the bundle was signed with the ${method} method, not with a key`);
    const checks: string[] = [];
    const hint = keyHint(this.#key);
    const named = bundle.verificationMaterial.publicKey!;
    if (named.hint) {
      if (named.hint !== hint) throw new PerimeterError('PERIM_E_KEY_MISMATCH', `the bundle names key ${named.hint.slice(0, 16)}…, not the given key ${hint.slice(0, 16)}…`);
      checks.push(`bundle names the given key (hint ${hint.slice(0, 16)}…)`);
    } else if (named.rawBytes) {
      // Pre-v1.1.0 bundles embed the public key (PEM, base64). It is not trusted, only compared.
      let embedded: Buffer | undefined;
      try {
        embedded = spkiDer(createPublicKey(decodeBase64(named.rawBytes, 'publicKey.rawBytes')));
      } catch {
        embedded = undefined;
      }
      if (embedded && !embedded.equals(spkiDer(this.#key))) throw new PerimeterError('PERIM_E_KEY_MISMATCH', 'the bundle embeds a different public key than the given one');
      checks.push('bundle embeds the given key (pre-v1.1.0 rawBytes form)');
    }
    const { payload, compatV02 } = verifyDsseSignature(this.#key, bundle.dsseEnvelope, { allowCompatV02: true });
    checks.push(`DSSE signature verifies with the given ${curveName(this.#key)} key${compatV02 ? ' (model_signing v0.2.0 encoding)' : ''}`);
    return { payloadType: bundle.dsseEnvelope.payloadType, payload, signer: { method: 'key', keyHint: hint, checks } };
  }
}
