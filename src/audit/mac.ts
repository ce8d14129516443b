/**
 * MACs that tie each stored entry to its position, and the head row to its state, with a key only
 * the log's writers hold (derived from the audit key, see keys.ts). A database user without the
 * key cannot edit, insert, move or re-hash an entry without `audit verify` naming that exact
 * index; checkpoints alone could only say which checkpoint interval changed. 128-bit tags.
 *
 * HMAC-SHA256 (RFC 2104) written out with one-shot crypto.hash over the padded key: node's
 * createHmac sets the key up again on every call, several times the cost at these sizes.
 */
import { hash, timingSafeEqual } from 'node:crypto';

export class Mac {
  readonly #ipad: Buffer;
  readonly #opad: Buffer;
  /** ipad || "E" || uint64 index || leaf: the inner input of an entry MAC, rewritten in place. */
  readonly #entryIn: Buffer;
  /** opad || inner digest. */
  readonly #outerIn: Buffer;

  constructor(key: Buffer) {
    const k = Buffer.alloc(64);
    (key.length > 64 ? hash('sha256', key, 'buffer') : key).copy(k);
    this.#ipad = Buffer.from(k.map((b) => b ^ 0x36));
    this.#opad = Buffer.from(k.map((b) => b ^ 0x5c));
    this.#entryIn = Buffer.concat([this.#ipad, Buffer.from('E'), Buffer.alloc(8 + 32)]);
    this.#outerIn = Buffer.concat([this.#opad, Buffer.alloc(32)]);
  }

  #finish(inner: Buffer): string {
    inner.copy(this.#outerIn, 64);
    return hash('sha256', this.#outerIn, 'buffer').subarray(0, 16).toString('hex');
  }

  /** HMAC-SHA256 over the concatenated parts, truncated to 128 bits, hex. */
  tag(...parts: (string | Buffer)[]): string {
    return this.#finish(hash('sha256', Buffer.concat([this.#ipad, ...parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p))]), 'buffer'));
  }

  /** The MAC of entry `index` with leaf hash `leaf`: HMAC("E" || uint64be(index) || leaf), fixed length. */
  entry(index: number, leaf: Buffer): string {
    const b = this.#entryIn;
    b.writeUInt32BE(Math.floor(index / 2 ** 32), 65);
    b.writeUInt32BE(index >>> 0, 69);
    leaf.copy(b, 73);
    return this.#finish(hash('sha256', b, 'buffer'));
  }

  head(size: number, frontierJson: string): string {
    return this.tag(`H${size}\n${frontierJson}`);
  }
}

export function macEquals(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
