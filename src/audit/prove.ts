/**
 * Proofs served from the store: the plan from proofs.ts, the hashes in one round trip (stored
 * leaf hashes and perfect-subtree nodes), so an inclusion proof costs O(log n) rows at any size.
 */
import { PerimeterError } from '../errors/errors.ts';
import { fetchPieces, readHead, type Db } from './db.ts';
import { consistencyRanges, inclusionRanges, piecesOf, proofHashes, type ConsistencyProof, type InclusionProof } from './proofs.ts';
import { decompose, foldRight, type Piece } from './tree.ts';

function tooLarge(size: number, have: number): never {
  throw new PerimeterError('PERIM_E_NOT_FOUND', `tree size ${size} is beyond the audit log's ${have} entries`, { details: { size, entries: have } });
}

/** Fetches the pieces; when some are missing, says so as "beyond the log" if the tree is larger than the log. */
async function pieces(db: Db, treeSize: number, list: Piece[]): Promise<(p: Piece) => Buffer> {
  const get = await fetchPieces(db, list);
  try {
    for (const p of list) get(p);
  } catch (e) {
    const have = (await readHead(db)).size;
    if (treeSize > have) tooLarge(treeSize, have);
    throw e;
  }
  return get;
}

/** The inclusion proof of entry `index` in the tree of the first `treeSize` entries (one query). */
export async function inclusionProof(db: Db, index: number, treeSize: number): Promise<InclusionProof> {
  if (!Number.isSafeInteger(index) || index < 0 || index >= treeSize) {
    throw new PerimeterError('PERIM_E_NOT_FOUND', `entry ${index} is not in a tree of ${treeSize} entries`, { details: { index, treeSize } });
  }
  const ranges = inclusionRanges(index, treeSize);
  const leaf = { level: 0, start: index };
  const get = await pieces(db, treeSize, [leaf, ...piecesOf(ranges)]);
  return { index, treeSize, leafHash: get(leaf).toString('hex'), hashes: proofHashes(ranges, get).map((h) => h.toString('hex')) };
}

/** The consistency proof from the tree of `from` entries to the tree of `to` entries. */
export async function consistencyProof(db: Db, from: number, to: number): Promise<ConsistencyProof> {
  const ranges = consistencyRanges(from, to);
  const get = await pieces(db, to, piecesOf(ranges));
  return { from, to, hashes: proofHashes(ranges, get).map((h) => h.toString('hex')) };
}

/** The root of the first `size` entries, from O(log n) stored hashes. */
export async function rootAt(db: Db, size: number): Promise<Buffer> {
  const pieces = decompose(0, size);
  const get = await fetchPieces(db, pieces);
  return foldRight(pieces.map(get));
}

/** The compact range (frontier hashes) of the first `size` entries: what an export starting at `size` begins from. */
export async function prefixHashes(db: Db, size: number): Promise<string[]> {
  const pieces = decompose(0, size);
  const get = await fetchPieces(db, pieces);
  return pieces.map((p) => get(p).toString('hex'));
}
