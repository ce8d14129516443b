import { createHash } from 'node:crypto';
import { blake3 } from '@noble/hashes/blake3.js';
import type { HashAlgorithm } from './manifest.ts';

/** A streaming hash. Node's OpenSSL for sha256 and blake2b-512; @noble/hashes for BLAKE3 (Node has none). */
export interface StreamHasher {
  update(data: Uint8Array): void;
  digestHex(): string;
}

export function createStreamHasher(algorithm: HashAlgorithm): StreamHasher {
  if (algorithm === 'blake3') {
    const h = blake3.create();
    return { update: (d) => void h.update(d), digestHex: () => Buffer.from(h.digest()).toString('hex') };
  }
  // OMS "blake2b" is Python hashlib.blake2b(): 64-byte digest, no key.
  const h = createHash(algorithm === 'sha256' ? 'sha256' : 'blake2b512');
  return { update: (d) => void h.update(d), digestHex: () => h.digest('hex') };
}
