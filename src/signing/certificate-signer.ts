/** The "certificate" method: a long-lived key whose certificate chains to the verifier's trust anchor. */
import { X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { PerimeterError } from '../errors/errors.ts';
import type { Bundle } from './bundle.ts';
import { signedBundle } from './envelope.ts';
import { hashForKey } from './keys.ts';
import type { Signer } from './verifier.ts';

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Every certificate in a PEM file, as DER. */
export function readPemCertificates(path: string): Buffer[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new PerimeterError('PERIM_E_IO', `cannot read certificate file ${path}`, { cause: e });
  }
  const blocks = text.match(PEM_CERT) ?? [];
  if (blocks.length === 0) throw new PerimeterError('PERIM_E_CERT_MALFORMED', `${path} holds no PEM certificate`);
  return blocks.map((b) => {
    try {
      return new X509Certificate(b).raw;
    } catch (e) {
      throw new PerimeterError('PERIM_E_CERT_MALFORMED', `${path} holds a certificate that cannot be parsed`, { cause: e });
    }
  });
}

export class CertificateSigner implements Signer {
  readonly #key: KeyObject;
  readonly #chain: Buffer[];
  /** @param chain the signing certificate first, then intermediates (no need for the root). */
  constructor(privateKey: KeyObject, chain: Buffer[]) {
    hashForKey(privateKey);
    const leaf = chain[0];
    if (!leaf) throw new PerimeterError('PERIM_E_USAGE', 'a signing certificate is required');
    if (!new X509Certificate(leaf).checkPrivateKey(privateKey)) {
      throw new PerimeterError('PERIM_E_KEY_MISMATCH', 'the private key does not belong to the signing certificate');
    }
    this.#key = privateKey;
    this.#chain = chain;
  }
  async sign(payload: Buffer): Promise<Bundle> {
    return signedBundle(this.#key, payload, {
      x509CertificateChain: { certificates: this.#chain.map((c) => ({ rawBytes: c.toString('base64') })) },
      tlogEntries: [],
    });
  }
}
