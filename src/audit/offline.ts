/**
 * Offline verification with only the public key: a proof as `perimeter audit prove --json` prints
 * it (the proof, the signed checkpoint(s) it is against) is checked against the verifier key. The
 * proof's tree sizes must equal the checkpoints' sizes: a proof's shape alone does not bind them.
 */
import { PerimeterError } from '../errors/errors.ts';
import { openCheckpoint, type VerifierKey } from './note.ts';
import { verifyConsistency, verifyInclusion, type ConsistencyProof, type InclusionProof } from './proofs.ts';

function sizeMismatch(what: string, proofSize: number, cpSize: number): never {
  throw new PerimeterError('PERIM_E_AUDIT_PROOF', `the ${what} is for a tree of ${proofSize} entries but its checkpoint covers ${cpSize}`);
}

/** Entry `proof.index` with leaf hash `proof.leafHash` is in the log the signed checkpoint describes. */
export function verifyInclusionOffline(proof: InclusionProof, checkpoint: string, key: VerifierKey): void {
  const cp = openCheckpoint(checkpoint, key);
  if (proof.treeSize !== cp.size) sizeMismatch('inclusion proof', proof.treeSize, cp.size);
  verifyInclusion(proof, cp.root);
}

/** The log of the first checkpoint is a prefix of the log of the second. */
export function verifyConsistencyOffline(proof: ConsistencyProof, from: string, to: string, key: VerifierKey): void {
  const a = openCheckpoint(from, key);
  const b = openCheckpoint(to, key);
  if (proof.from !== a.size) sizeMismatch('consistency proof', proof.from, a.size);
  if (proof.to !== b.size) sizeMismatch('consistency proof', proof.to, b.size);
  verifyConsistency(proof, a.root, b.root);
}

/** Checks the JSON `perimeter audit prove --json` prints (either kind). Returns what it proved, in words. */
export function verifyProofDocument(doc: unknown, key: VerifierKey): string {
  const d = doc as Record<string, unknown>;
  if (d && typeof d === 'object' && typeof d.checkpoint === 'string' && Number.isSafeInteger(d.index)) {
    verifyInclusionOffline(d as unknown as InclusionProof, d.checkpoint, key);
    return `entry ${d.index} (leaf ${d.leafHash}) is in the log of ${d.treeSize} entries`;
  }
  const cps = d?.checkpoints as { from?: unknown; to?: unknown } | undefined;
  if (d && typeof d === 'object' && Number.isSafeInteger(d.from) && cps && (typeof cps.from !== 'string' || typeof cps.to !== 'string')) {
    throw new PerimeterError('PERIM_E_AUDIT_MALFORMED', `the consistency proof lacks a signed checkpoint of size ${typeof cps.from === 'string' ? d.to : d.from}: prove between the sizes of two checkpoints`);
  }
  if (d && typeof d === 'object' && Number.isSafeInteger(d.from) && typeof cps?.from === 'string' && typeof cps.to === 'string') {
    verifyConsistencyOffline(d as unknown as ConsistencyProof, cps.from, cps.to, key);
    return `the log of ${d.from} entries is a prefix of the log of ${d.to} entries`;
  }
  throw new PerimeterError('PERIM_E_AUDIT_MALFORMED', 'not a proof as perimeter audit prove --json prints it (with its signed checkpoints)');
}
