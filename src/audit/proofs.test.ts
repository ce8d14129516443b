/** The Merkle tree and its proofs against a naive RFC 9162 implementation, for many sizes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { EMPTY_ROOT, Frontier, decompose, hashChildren, hashLeaf, nodeId, splitPoint, type Piece } from './tree.ts';
import { consistencyRanges, inclusionRanges, piecesOf, proofHashes, verifyConsistency, verifyInclusion, type ConsistencyProof, type InclusionProof } from './proofs.ts';

const leaves = (n: number, seed = 0): Buffer[] => Array.from({ length: n }, (_, i) => hashLeaf(Buffer.from(`entry ${seed}:${i}`)));

/** MTH straight from RFC 9162 2.1.1. */
function mth(d: Buffer[]): Buffer {
  if (d.length === 0) return createHash('sha256').digest();
  if (d.length === 1) return d[0]!;
  const k = splitPoint(d.length);
  return hashChildren(mth(d.slice(0, k)), mth(d.slice(k)));
}

function lookup(d: Buffer[]): (p: Piece) => Buffer {
  return (p) => mth(d.slice(p.start, p.start + 2 ** p.level));
}

function inclusion(d: Buffer[], index: number, size: number): InclusionProof {
  const hashes = proofHashes(inclusionRanges(index, size), lookup(d)).map((h) => h.toString('hex'));
  return { index, treeSize: size, leafHash: d[index]!.toString('hex'), hashes };
}

function consistency(d: Buffer[], from: number, to: number): ConsistencyProof {
  return { from, to, hashes: proofHashes(consistencyRanges(from, to), lookup(d)).map((h) => h.toString('hex')) };
}

const flip = (hex: string): string => (hex[0] === '0' ? '1' : '0') + hex.slice(1);

test('the frontier root equals RFC 9162 MTH for every size up to 300, and yields each perfect subtree once', () => {
  const d = leaves(300);
  const f = new Frontier();
  assert.ok(f.root().equals(EMPTY_ROOT));
  const nodes = new Map<number, Buffer>();
  let lastId = -1;
  for (let n = 1; n <= 300; n++) {
    f.append(d[n - 1]!, (level, start, hash) => {
      const id = nodeId(level, start);
      assert.ok(id > lastId, 'node ids grow in completion order');
      lastId = id;
      assert.ok(hash.equals(mth(d.slice(start, start + 2 ** level))));
      nodes.set(id, hash);
    });
    assert.ok(f.root().equals(mth(d.slice(0, n))), `size ${n}`);
    const copy = Frontier.fromHex(f.size, f.toHex());
    assert.ok(copy.root().equals(f.root()));
  }
  assert.equal(nodes.size, 300 - 4); // n minus the number of set bits of 300 (0b100101100)
});

test('decompose covers a range with aligned perfect pieces', () => {
  assert.deepEqual(decompose(0, 13), [{ level: 3, start: 0 }, { level: 2, start: 8 }, { level: 0, start: 12 }]);
  assert.deepEqual(decompose(8, 11), [{ level: 1, start: 8 }, { level: 0, start: 10 }]);
  assert.throws(() => new Frontier(3, []), { code: 'PERIM_E_AUDIT_MALFORMED' });
});

test('inclusion proofs verify for every index of many sizes, and fail when anything is changed', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 200 }), fc.nat(), (size, pick) => {
      const d = leaves(size, size);
      const root = mth(d);
      const index = pick % size;
      const p = inclusion(d, index, size);
      verifyInclusion(p, root);
      assert.equal(piecesOf(inclusionRanges(index, size)).length <= 2 * Math.ceil(Math.log2(size + 1)) + 1, true);
      assert.throws(() => verifyInclusion({ ...p, leafHash: flip(p.leafHash) }, root), { code: 'PERIM_E_AUDIT_PROOF' });
      if (p.hashes.length) {
        const j = pick % p.hashes.length;
        assert.throws(() => verifyInclusion({ ...p, hashes: p.hashes.map((h, i) => (i === j ? flip(h) : h)) }, root), { code: 'PERIM_E_AUDIT_PROOF' });
        assert.throws(() => verifyInclusion({ ...p, hashes: p.hashes.slice(1) }, root), { code: 'PERIM_E_AUDIT_PROOF' });
      }
      if (size > 1) assert.throws(() => verifyInclusion({ ...p, index: (index + 1) % size }, root), { code: 'PERIM_E_AUDIT_PROOF' });
    }),
    { numRuns: 300 },
  );
  for (let size = 1; size <= 64; size++) {
    const d = leaves(size, 7);
    for (let i = 0; i < size; i++) verifyInclusion(inclusion(d, i, size), mth(d));
  }
});

test('consistency proofs verify between any two sizes, and fail when anything is changed', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 200 }), fc.nat(), fc.nat(), (to, a, pick) => {
      const from = a % (to + 1);
      const d = leaves(to, to);
      const oldRoot = mth(d.slice(0, from));
      const newRoot = mth(d);
      const p = consistency(d, from, to);
      verifyConsistency(p, oldRoot, newRoot);
      if (from > 0 && from < to) {
        const j = pick % p.hashes.length;
        assert.throws(() => verifyConsistency({ ...p, hashes: p.hashes.map((h, i) => (i === j ? flip(h) : h)) }, oldRoot, newRoot), { code: 'PERIM_E_AUDIT_PROOF' });
        assert.throws(() => verifyConsistency(p, hashLeaf(Buffer.from('other')), newRoot), { code: 'PERIM_E_AUDIT_PROOF' });
        assert.throws(() => verifyConsistency(p, oldRoot, hashLeaf(Buffer.from('other'))), { code: 'PERIM_E_AUDIT_PROOF' });
        assert.throws(() => verifyConsistency({ ...p, hashes: p.hashes.slice(0, -1) }, oldRoot, newRoot), { code: 'PERIM_E_AUDIT_PROOF' });
        // A tree that rewrote one of the first `from` leaves is not consistent with the old head.
        const forged = d.slice();
        forged[pick % from] = hashLeaf(Buffer.from('forged'));
        assert.throws(() => verifyConsistency(consistency(forged, from, to), oldRoot, mth(forged)), { code: 'PERIM_E_AUDIT_PROOF' });
      }
    }),
    { numRuns: 300 },
  );
});

test('edge cases: empty and equal sizes, sizes in the wrong order, malformed hashes', () => {
  const d = leaves(5);
  verifyConsistency({ from: 0, to: 5, hashes: [] }, EMPTY_ROOT, mth(d));
  verifyConsistency({ from: 5, to: 5, hashes: [] }, mth(d), mth(d));
  assert.throws(() => verifyConsistency({ from: 5, to: 5, hashes: [] }, mth(d), mth(d.slice(0, 4))), { code: 'PERIM_E_AUDIT_PROOF' });
  assert.throws(() => consistencyRanges(6, 5), { code: 'PERIM_E_AUDIT_PROOF' });
  assert.throws(() => inclusionRanges(5, 5), { code: 'PERIM_E_AUDIT_PROOF' });
  assert.throws(() => verifyInclusion({ index: 0, treeSize: 1, leafHash: 'zz', hashes: [] }, mth(d)), { code: 'PERIM_E_AUDIT_MALFORMED' });
});
