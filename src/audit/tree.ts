/**
 * The RFC 9162 (RFC 6962) Merkle tree the audit log is: leaf hash SHA-256(0x00 || entry), node
 * hash SHA-256(0x01 || left || right), the tree over leaves 0..n-1 split at the largest power of two
 * below n. Hashing comes from the Rekor verifier (src/signing/sigstore/merkle.ts) so there is one
 * implementation of the two hash functions in the code base.
 *
 * A Frontier is the tree's compact range: the roots of the perfect subtrees that make up leaves
 * [0, n), one per set bit of n, largest first. Appending a leaf touches O(log n) hashes and yields
 * every perfect subtree it completes (the log stores those for proofs); the root folds the frontier
 * right to left. No step rescans the leaves.
 */
import { createHash } from 'node:crypto';
import { PerimeterError } from '../errors/errors.ts';
import { hashChildren, hashLeaf, hashLeafText } from '../signing/sigstore/merkle.ts';

export { hashChildren, hashLeaf, hashLeafText };

/** Root of the empty tree: SHA-256 of nothing. */
export const EMPTY_ROOT: Buffer = createHash('sha256').digest();

/** A perfect, aligned subtree: leaves [start, start + 2^level). Level 0 is one leaf. */
export interface Piece {
  level: number;
  start: number;
}

/** The stored key of a perfect subtree of level >= 1: its last leaf index * 64 + level (grows in the order appends complete them). */
export function nodeId(level: number, start: number): number {
  return (start + 2 ** level - 1) * 64 + level;
}

function popCount(n: number): number {
  let c = 0;
  for (let x = n; x > 0; x = Math.floor(x / 2)) c += x % 2;
  return c;
}

/** The largest power of two strictly below n (n >= 2). */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** Leaves [a, b) as perfect aligned subtrees, left to right (the greedy binary decomposition). */
export function decompose(a: number, b: number): Piece[] {
  const out: Piece[] = [];
  while (a < b) {
    let size = 1;
    let level = 0;
    while (a % (size * 2) === 0 && a + size * 2 <= b) {
      size *= 2;
      level++;
    }
    out.push({ level, start: a });
    a += size;
  }
  return out;
}

/** Folds subtree roots (left to right) into the root over their union: right to left. */
export function foldRight(hashes: readonly Buffer[]): Buffer {
  if (hashes.length === 0) return EMPTY_ROOT;
  let r = hashes[hashes.length - 1]!;
  for (let i = hashes.length - 2; i >= 0; i--) r = hashChildren(hashes[i]!, r);
  return r;
}

/**
 * MTH(D[a:b]) for a range that is a subtree in RFC 9162's split (a is a multiple of a power of two
 * >= b - a), from the hashes of its perfect pieces.
 */
export function rangeHash(a: number, b: number, get: (p: Piece) => Buffer): Buffer {
  return foldRight(decompose(a, b).map(get));
}

export class Frontier {
  #size: number;
  readonly #nodes: Buffer[];

  constructor(size = 0, nodes: Buffer[] = []) {
    if (!Number.isSafeInteger(size) || size < 0 || nodes.length !== popCount(size) || nodes.some((n) => n.length !== 32)) {
      throw new PerimeterError('PERIM_E_AUDIT_MALFORMED', `a tree frontier of size ${size} needs ${popCount(size)} hashes of 32 bytes, got ${nodes.length}`);
    }
    this.#size = size;
    this.#nodes = nodes.slice();
  }

  static fromHex(size: number, hex: readonly string[]): Frontier {
    return new Frontier(size, hex.map((h) => Buffer.from(h, 'hex')));
  }

  get size(): number {
    return this.#size;
  }

  /** The perfect subtree roots, largest (leftmost) first. */
  get hashes(): readonly Buffer[] {
    return this.#nodes;
  }

  toHex(): string[] {
    return this.#nodes.map((n) => n.toString('hex'));
  }

  clone(): Frontier {
    return new Frontier(this.#size, this.#nodes);
  }

  /** Adds a leaf hash; `onNode` sees each perfect subtree (level >= 1) the leaf completes, lowest first. */
  append(leaf: Buffer, onNode?: (level: number, start: number, hash: Buffer) => void): void {
    let h = leaf;
    let level = 0;
    for (let s = this.#size; s % 2 === 1; s = Math.floor(s / 2)) {
      h = hashChildren(this.#nodes.pop()!, h);
      level++;
      onNode?.(level, this.#size + 1 - 2 ** level, h);
    }
    this.#nodes.push(h);
    this.#size++;
  }

  root(): Buffer {
    return foldRight(this.#nodes);
  }
}
