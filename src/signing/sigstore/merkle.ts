/**
 * RFC 6962 Merkle inclusion proofs and C2SP signed-note checkpoints, as Rekor v1 serves them.
 * Failures are PERIM_E_TLOG.
 */
import { hash, verify } from 'node:crypto';
import { PerimeterError } from '../../errors/errors.ts';
import type { TransparencyLog } from './trust-root.ts';

const MAX_PROOF_HASHES = 64;
const MAX_CHECKPOINT_BYTES = 64 * 1024;
const MAX_NOTE_SIGNATURES = 100;

function tlogError(message: string): never {
  throw new PerimeterError('PERIM_E_TLOG', message);
}

const LEAF_PREFIX = Buffer.from([0]);
const NODE_PREFIX = Buffer.from([1]);

// One-shot crypto.hash over the concatenation: about twice as fast as a Hash object for these
// short inputs, which matters to the audit log (src/audit) that hashes millions of them.
export function hashLeaf(leaf: Uint8Array): Buffer {
  return hash('sha256', Buffer.concat([LEAF_PREFIX, leaf]), 'buffer');
}

/** hashLeaf of a string's UTF-8 bytes, without copying them into a buffer first. */
export function hashLeafText(leaf: string): Buffer {
  return hash('sha256', `\u0000${leaf}`, 'buffer');
}

export function hashChildren(left: Uint8Array, right: Uint8Array): Buffer {
  return hash('sha256', Buffer.concat([NODE_PREFIX, left, right]), 'buffer');
}

function bitLength(n: bigint): number {
  return n === 0n ? 0 : n.toString(2).length;
}

function popCount(n: bigint): number {
  return [...n.toString(2)].filter((c) => c === '1').length;
}

/** The root an inclusion proof leads to (RFC 9162 2.1.3.2); throws when the proof has the wrong shape. */
export function rootFromInclusionProof(leafHash: Buffer, index: bigint, treeSize: bigint, proof: Buffer[]): Buffer {
  if (index < 0n || treeSize <= 0n || index >= treeSize) tlogError(`inclusion proof index ${index} is outside a tree of size ${treeSize}`);
  if (proof.length > MAX_PROOF_HASHES || proof.some((h) => h.length !== 32)) tlogError('inclusion proof hashes are malformed');
  const inner = bitLength(index ^ (treeSize - 1n));
  const border = popCount(index >> BigInt(inner));
  if (proof.length !== inner + border) tlogError(`inclusion proof has ${proof.length} hashes, expected ${inner + border}`);
  let node = leafHash;
  for (let i = 0; i < inner; i++) {
    node = ((index >> BigInt(i)) & 1n) === 0n ? hashChildren(node, proof[i]!) : hashChildren(proof[i]!, node);
  }
  for (let i = inner; i < proof.length; i++) node = hashChildren(proof[i]!, node);
  return node;
}

/** Signs/verifies with a log key: ECDSA with the curve's hash (or keyDetails'), Ed25519, RSA SHA-256. */
export function verifyWithLogKey(log: TransparencyLog, data: Uint8Array, signature: Uint8Array): boolean {
  const key = log.publicKey;
  let hash: string | null = 'sha256';
  if (key.asymmetricKeyType === 'ed25519') hash = null;
  else if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    hash = curve === 'secp384r1' ? 'sha384' : curve === 'secp521r1' ? 'sha512' : 'sha256';
  } else if (key.asymmetricKeyType !== 'rsa') return false;
  if (/SHA_?384/.test(log.keyDetails)) hash = 'sha384';
  if (/SHA_?512/.test(log.keyDetails)) hash = 'sha512';
  try {
    return verify(hash, data, key, signature);
  } catch {
    return false;
  }
}

export interface Checkpoint {
  origin: string;
  size: bigint;
  rootHash: Buffer;
  /** The signed text: the note body up to and including its last newline. */
  note: string;
  signatures: { name: string; keyHint: Buffer; signature: Buffer }[];
}

/** Parses a signed note whose body is a log checkpoint (origin, size, base64 root hash, extras). */
export function parseCheckpoint(text: string): Checkpoint {
  if (text.length > MAX_CHECKPOINT_BYTES) tlogError('checkpoint is too large');
  const split = text.indexOf('\n\n');
  if (split < 0 || text.indexOf('\n\n', split + 1) >= 0) tlogError('checkpoint must have exactly one blank line before its signatures');
  const note = text.slice(0, split + 1);
  const sigBlock = text.slice(split + 2);
  if (sigBlock.length === 0 || !sigBlock.endsWith('\n')) tlogError('checkpoint signature block is empty or lacks a final newline');
  const lines = note.slice(0, -1).split('\n');
  const [origin, sizeLine, hashLine] = lines;
  if (!origin || sizeLine === undefined || hashLine === undefined) tlogError('checkpoint has fewer than three lines');
  if (!/^(0|[1-9]\d{0,19})$/.test(sizeLine)) tlogError('checkpoint tree size is not a decimal number');
  if (!/^[A-Za-z0-9+/]{43}=$/.test(hashLine)) tlogError('checkpoint root hash is not base64 of 32 bytes');
  const signatures: Checkpoint['signatures'] = [];
  for (const line of sigBlock.slice(0, -1).split('\n')) {
    if (signatures.length >= MAX_NOTE_SIGNATURES) tlogError('checkpoint has too many signatures');
    const m = /^\u2014 (\S+) ([A-Za-z0-9+/]+={0,2})$/.exec(line);
    if (!m) tlogError('checkpoint signature line is malformed');
    const raw = Buffer.from(m[2]!, 'base64');
    if (raw.length < 5) tlogError('checkpoint signature is too short');
    signatures.push({ name: m[1]!, keyHint: raw.subarray(0, 4), signature: raw.subarray(4) });
  }
  return { origin, size: BigInt(sizeLine), rootHash: Buffer.from(hashLine, 'base64'), note, signatures };
}

/**
 * Verifies a checkpoint: a signature whose key hint is the log id's first four bytes verifies with
 * the log key, and the checkpoint's size and root hash equal the inclusion proof's.
 */
export function verifyCheckpoint(text: string, log: TransparencyLog, expect: { rootHash: Buffer; treeSize: bigint }): Checkpoint {
  const cp = parseCheckpoint(text);
  const hint = log.logId.subarray(0, 4);
  const candidates = cp.signatures.filter((s) => s.keyHint.equals(hint));
  if (candidates.length === 0) tlogError(`checkpoint has no signature from the log ${log.baseUrl || log.logId.toString('hex')}`);
  if (!candidates.every((s) => verifyWithLogKey(log, Buffer.from(cp.note, 'utf8'), s.signature))) {
    tlogError('checkpoint signature does not verify with the log key');
  }
  if (!cp.rootHash.equals(expect.rootHash)) tlogError('checkpoint root hash differs from the inclusion proof root hash');
  if (cp.size !== expect.treeSize) tlogError(`checkpoint tree size ${cp.size} differs from the inclusion proof tree size ${expect.treeSize}`);
  return cp;
}
