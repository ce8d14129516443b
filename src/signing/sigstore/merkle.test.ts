import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { isPerimeterError } from '../../errors/errors.ts';
import { hashChildren, hashLeaf, parseCheckpoint, rootFromInclusionProof, verifyCheckpoint } from './merkle.ts';
import type { TransparencyLog } from './trust-root.ts';

const tlog = (e: unknown) => isPerimeterError(e, 'PERIM_E_TLOG');

// Reference RFC 6962 tree hash and audit path, written the recursive way the RFC defines them.
function mth(l: Buffer[]): Buffer {
  if (l.length === 1) return l[0]!;
  const k = 2 ** Math.floor(Math.log2(l.length - 1));
  return hashChildren(mth(l.slice(0, k)), mth(l.slice(k)));
}
function path(m: number, l: Buffer[]): Buffer[] {
  if (l.length === 1) return [];
  const k = 2 ** Math.floor(Math.log2(l.length - 1));
  return m < k ? [...path(m, l.slice(0, k)), mth(l.slice(k))] : [...path(m - k, l.slice(k)), mth(l.slice(0, k))];
}

test('inclusion proofs verify for every index of trees of size 1..20, and fail when altered', () => {
  for (let n = 1; n <= 20; n++) {
    const leaves = Array.from({ length: n }, (_, i) => hashLeaf(Buffer.from(`leaf ${i}`)));
    const root = mth(leaves);
    for (let m = 0; m < n; m++) {
      const proof = path(m, leaves);
      assert.deepEqual(rootFromInclusionProof(leaves[m]!, BigInt(m), BigInt(n), proof), root, `n=${n} m=${m}`);
      if (proof.length > 0) {
        const bad = proof.map((h) => Buffer.from(h));
        bad[0]![0]! ^= 1;
        assert.notDeepEqual(rootFromInclusionProof(leaves[m]!, BigInt(m), BigInt(n), bad), root);
        assert.throws(() => rootFromInclusionProof(leaves[m]!, BigInt(m), BigInt(n), proof.slice(1)), tlog);
      }
      if (n > 1) {
        // the same proof for another index either has the wrong length or leads elsewhere
        let other: Buffer | undefined;
        try {
          other = rootFromInclusionProof(leaves[m]!, BigInt((m + 1) % n), BigInt(n), proof);
        } catch (e) {
          assert.ok(tlog(e));
        }
        assert.notDeepEqual(other, root);
      }
    }
  }
  assert.throws(() => rootFromInclusionProof(hashLeaf(Buffer.alloc(0)), 5n, 5n, []), tlog);
  assert.throws(() => rootFromInclusionProof(hashLeaf(Buffer.alloc(0)), 0n, 2n, [Buffer.alloc(31)]), tlog);
});

test('hashLeaf and hashChildren use the RFC 6962 domain prefixes', () => {
  assert.equal(hashLeaf(Buffer.alloc(0)).toString('hex'), '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d');
  assert.notDeepEqual(hashChildren(Buffer.alloc(32), Buffer.alloc(32)), hashLeaf(Buffer.alloc(64)));
});

const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const logId = Buffer.alloc(32, 0xab);
const log: TransparencyLog = {
  baseUrl: 'https://log.test',
  hashAlgorithm: 'SHA2_256',
  keyDetails: 'PKIX_ECDSA_P256_SHA_256',
  publicKey: keys.publicKey,
  publicKeyDer: Buffer.alloc(0),
  validFor: { start: new Date(0) },
  logId,
};
const rootHash = Buffer.alloc(32, 0x11);
function checkpoint(size = 7, hint = logId.subarray(0, 4), extra = ''): string {
  const note = `log.test - 1\n${size}\n${rootHash.toString('base64')}\n${extra}`;
  const sig = Buffer.concat([hint, sign('sha256', Buffer.from(note), keys.privateKey)]);
  return `${note}\n\u2014 log.test ${sig.toString('base64')}\n`;
}

test('signed checkpoints verify and must agree with the proof', () => {
  const cp = verifyCheckpoint(checkpoint(), log, { rootHash, treeSize: 7n });
  assert.equal(cp.origin, 'log.test - 1');
  verifyCheckpoint(checkpoint(7, logId.subarray(0, 4), 'Timestamp: 1\n'), log, { rootHash, treeSize: 7n });
  assert.throws(() => verifyCheckpoint(checkpoint(8), log, { rootHash, treeSize: 7n }), tlog);
  assert.throws(() => verifyCheckpoint(checkpoint(), log, { rootHash: Buffer.alloc(32), treeSize: 7n }), tlog);
  assert.throws(() => verifyCheckpoint(checkpoint(7, Buffer.from('zzzz')), log, { rootHash, treeSize: 7n }), tlog);
  const forged = checkpoint().replace('\n7\n', '\n6\n');
  assert.throws(() => verifyCheckpoint(forged, log, { rootHash, treeSize: 6n }), tlog);
});

test('malformed checkpoints fail PERIM_E_TLOG', () => {
  const good = checkpoint();
  for (const text of [good.replace('\n\n', '\n'), good.slice(0, -1), good.replace('\u2014', '-'), 'a\n\n\u2014 x AAAA\n', `${good}\n\n`, good.replace(/\n7\n/, '\nseven\n')]) {
    assert.throws(() => parseCheckpoint(text), tlog, JSON.stringify(text.slice(0, 40)));
  }
});
