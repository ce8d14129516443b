/**
 * Inclusion and consistency proofs (RFC 9162 2.1.3 and 2.1.4). Generation is split in two so a
 * store can answer it with one round trip: the plan (which subtree ranges the proof consists of,
 * and the perfect pieces those need) depends only on the sizes; the hashes come from a lookup.
 * Verification needs only hashes, never the log.
 */
import { PerimeterError } from '../errors/errors.ts';
import { rootFromInclusionProof } from '../signing/sigstore/merkle.ts';
import { decompose, hashChildren, rangeHash, splitPoint, type Piece } from './tree.ts';

export type Range = readonly [number, number];

export interface InclusionProof {
  index: number;
  treeSize: number;
  /** hex */
  leafHash: string;
  /** hex, from the leaf's sibling up to the root's child */
  hashes: string[];
}

export interface ConsistencyProof {
  from: number;
  to: number;
  /** hex */
  hashes: string[];
}

function proofError(message: string, details?: Record<string, unknown>): never {
  throw new PerimeterError('PERIM_E_AUDIT_PROOF', message, details ? { details } : undefined);
}

const isSize = (n: number): boolean => Number.isSafeInteger(n) && n >= 0;

function isPowerOfTwo(n: number): boolean {
  let x = n;
  while (x > 1 && x % 2 === 0) x /= 2;
  return x === 1;
}

/** The subtree ranges whose hashes make up the audit path of leaf `index` in a tree of `size` leaves (PATH in RFC 9162 2.1.3.1). */
export function inclusionRanges(index: number, size: number): Range[] {
  if (!isSize(index) || !isSize(size) || index >= size) proofError(`leaf ${index} is not in a tree of ${size} entries`, { index, size });
  const out: Range[] = [];
  const path = (lo: number, hi: number): void => {
    if (hi - lo === 1) return;
    const k = splitPoint(hi - lo);
    if (index < lo + k) {
      path(lo, lo + k);
      out.push([lo + k, hi]);
    } else {
      path(lo + k, hi);
      out.push([lo, lo + k]);
    }
  };
  path(0, size);
  return out;
}

/** The subtree ranges of the consistency proof from size `from` to size `to` (PROOF / SUBPROOF in RFC 9162 2.1.4.1). */
export function consistencyRanges(from: number, to: number): Range[] {
  if (!isSize(from) || !isSize(to) || from > to) proofError(`no consistency proof from size ${from} to size ${to}`, { from, to });
  const out: Range[] = [];
  if (from === 0 || from === to) return out;
  const sub = (m: number, lo: number, hi: number, whole: boolean): void => {
    const n = hi - lo;
    if (m === n) {
      if (!whole) out.push([lo, hi]);
      return;
    }
    const k = splitPoint(n);
    if (m <= k) {
      sub(m, lo, lo + k, whole);
      out.push([lo + k, hi]);
    } else {
      sub(m - k, lo + k, hi, false);
      out.push([lo, lo + k]);
    }
  };
  sub(from, 0, to, true);
  return out;
}

/** Every perfect piece the ranges need, without repeats. */
export function piecesOf(ranges: readonly Range[]): Piece[] {
  const seen = new Map<string, Piece>();
  for (const [a, b] of ranges) for (const p of decompose(a, b)) seen.set(`${p.level}:${p.start}`, p);
  return [...seen.values()];
}

/** The proof hashes for the ranges, given the pieces' hashes. */
export function proofHashes(ranges: readonly Range[], get: (p: Piece) => Buffer): Buffer[] {
  return ranges.map(([a, b]) => rangeHash(a, b, get));
}

const hex32 = (h: string, what: string): Buffer => {
  if (typeof h !== 'string' || !/^[0-9a-f]{64}$/.test(h)) throw new PerimeterError('PERIM_E_AUDIT_MALFORMED', `${what} is not 64 lowercase hex digits`);
  return Buffer.from(h, 'hex');
};

/** The root an inclusion proof leads to; throws PERIM_E_AUDIT_PROOF when the proof has the wrong shape. */
export function inclusionRoot(proof: InclusionProof): Buffer {
  if (!isSize(proof.index) || !isSize(proof.treeSize) || !Array.isArray(proof.hashes)) throw new PerimeterError('PERIM_E_AUDIT_MALFORMED', 'inclusion proof is malformed');
  const leaf = hex32(proof.leafHash, 'inclusion proof leaf hash');
  const path = proof.hashes.map((h, i) => hex32(h, `inclusion proof hash ${i}`));
  try {
    return rootFromInclusionProof(leaf, BigInt(proof.index), BigInt(proof.treeSize), path);
  } catch (e) {
    return proofError(`inclusion proof for entry ${proof.index}: ${(e as Error).message}`, { index: proof.index });
  }
}

/** Checks that the proof leads from its leaf to `root`; throws PERIM_E_AUDIT_PROOF otherwise. */
export function verifyInclusion(proof: InclusionProof, root: Buffer): void {
  if (!inclusionRoot(proof).equals(root)) proofError(`entry ${proof.index} is not in the tree of size ${proof.treeSize} with that root`, { index: proof.index });
}

/**
 * Checks a consistency proof between two tree heads (RFC 9162 2.1.4.2): the tree of size `from`
 * is a prefix of the tree of size `to`. Throws PERIM_E_AUDIT_PROOF otherwise.
 */
export function verifyConsistency(proof: ConsistencyProof, fromRoot: Buffer, toRoot: Buffer): void {
  const { from, to } = proof;
  if (!isSize(from) || !isSize(to) || !Array.isArray(proof.hashes)) throw new PerimeterError('PERIM_E_AUDIT_MALFORMED', 'consistency proof is malformed');
  const path = proof.hashes.map((h, i) => hex32(h, `consistency proof hash ${i}`));
  const fail = (why: string): never => proofError(`the tree of size ${from} is not a prefix of the tree of size ${to}: ${why}`, { from, to });
  if (from > to) fail('sizes are in the wrong order');
  if (from === 0) {
    if (path.length) fail('a proof from the empty tree must be empty');
    return;
  }
  if (from === to) {
    if (path.length) fail('a proof between equal sizes must be empty');
    if (!fromRoot.equals(toRoot)) fail('the roots differ');
    return;
  }
  if (path.length === 0 || path.length > 128) fail('the proof has the wrong length');
  // 2.1.4.2 step 2: when `from` is a power of two its root is the first node.
  if (isPowerOfTwo(from)) path.unshift(fromRoot);
  let fn = from - 1;
  let sn = to - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) fail('the proof is too long');
    if (fn % 2 === 1 || fn === sn) {
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      sr = hashChildren(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) fail('the proof is too short');
  if (!fr.equals(fromRoot)) fail('the old root does not follow from the proof');
  if (!sr.equals(toRoot)) fail('the new root does not follow from the proof');
}
