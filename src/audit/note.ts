/**
 * C2SP signed notes with Ed25519 (c2sp.org/signed-note) whose text is a log checkpoint
 * (c2sp.org/tlog-checkpoint): origin, tree size, base64 root hash, each ending in a newline, then
 * a blank line and "— <key name> base64(key ID || signature)". The key ID is
 * SHA-256(name || 0x0A || 0x01 || 32-byte public key)[:4]; verifier keys are written as
 * "<name>+<hex key ID>+base64(0x01 || public key)". Parsing reuses the Rekor checkpoint reader.
 */
import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { PerimeterError } from '../errors/errors.ts';
import { parseCheckpoint } from '../signing/sigstore/merkle.ts';

const ED25519 = 0x01;
const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex');

export interface VerifierKey {
  /** The key name; Perimeter signs checkpoints with origin = name. */
  name: string;
  /** The 4-byte key ID. */
  id: Buffer;
  /** The 32-byte Ed25519 public key. */
  raw: Buffer;
  publicKey: KeyObject;
  /** The C2SP vkey text. */
  vkey: string;
}

export interface NoteSigner {
  key: VerifierKey;
  privateKey: KeyObject;
}

export interface Checkpoint {
  origin: string;
  size: number;
  root: Buffer;
  /** The whole signed note, as stored and exported. */
  text: string;
}

const malformed = (message: string): never => {
  throw new PerimeterError('PERIM_E_AUDIT_MALFORMED', message);
};

export function validKeyName(name: string): boolean {
  return name.length > 0 && name.length <= 256 && !/[\s+\u0000-\u001f]/u.test(name);
}

/** SHA-256(name || 0x0A || 0x01 || public key)[:4]. */
export function noteKeyId(name: string, raw: Buffer): Buffer {
  return createHash('sha256').update(name, 'utf8').update(Buffer.from([0x0a, ED25519])).update(raw).digest().subarray(0, 4);
}

export function verifierKey(name: string, raw: Buffer): VerifierKey {
  if (!validKeyName(name)) malformed(`key name "${name}" is empty or contains spaces, "+" or control characters`);
  if (raw.length !== 32) malformed('an Ed25519 public key has 32 bytes');
  const id = noteKeyId(name, raw);
  const publicKey = createPublicKey({ key: Buffer.concat([SPKI_ED25519, raw]), format: 'der', type: 'spki' });
  return { name, id, raw, publicKey, vkey: `${name}+${id.toString('hex')}+${Buffer.concat([Buffer.from([ED25519]), raw]).toString('base64')}` };
}

/** Parses "<name>+<hex id>+<base64(0x01 || key)>"; the ID must match the name and key. */
export function parseVkey(text: string): VerifierKey {
  const m = /^([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/]+={0,2})$/.exec(text.trim());
  if (!m) return malformed('a verifier key is "<name>+<8 hex digits>+<base64 key>"');
  const material = Buffer.from(m[3]!, 'base64');
  if (material.length !== 33 || material[0] !== ED25519) malformed('the verifier key is not an Ed25519 (type 0x01) key');
  const key = verifierKey(m[1]!, material.subarray(1));
  if (key.id.toString('hex') !== m[2]) malformed('the verifier key ID does not match its name and key');
  return key;
}

/** Signs a note text (ending in a newline) and returns the signed note. */
export function signNote(text: string, signer: NoteSigner): string {
  if (!text.endsWith('\n')) malformed('note text must end with a newline');
  const sig = sign(null, Buffer.from(text, 'utf8'), signer.privateKey);
  return `${text}\n\u2014 ${signer.key.name} ${Buffer.concat([signer.key.id, sig]).toString('base64')}\n`;
}

export function checkpointBody(origin: string, size: number, root: Buffer): string {
  return `${origin}\n${size}\n${root.toString('base64')}\n`;
}

export function signCheckpoint(signer: NoteSigner, size: number, root: Buffer): string {
  return signNote(checkpointBody(signer.key.name, size, root), signer);
}

/**
 * Parses a checkpoint and checks it: signed by `key` (name and ID match, and every such signature
 * verifies; other signatures are ignored as the spec says), origin = the key's name.
 * Throws PERIM_E_AUDIT_MALFORMED for bad text, PERIM_E_AUDIT_PROOF for a bad signature.
 */
export function openCheckpoint(text: string, key: VerifierKey): Checkpoint {
  let cp: ReturnType<typeof parseCheckpoint>;
  try {
    cp = parseCheckpoint(text);
  } catch (e) {
    return malformed(`checkpoint: ${(e as Error).message}`);
  }
  if (/[\u0000-\u0009\u000b-\u001f]/.test(text)) malformed('checkpoint contains control characters');
  if (cp.size > BigInt(Number.MAX_SAFE_INTEGER)) malformed('checkpoint tree size is too large');
  const mine = cp.signatures.filter((s) => s.name === key.name && s.keyHint.equals(key.id));
  if (mine.length === 0) throw new PerimeterError('PERIM_E_AUDIT_PROOF', `checkpoint is not signed by the audit key ${key.name}+${key.id.toString('hex')}`);
  for (const s of mine) {
    if (!verify(null, Buffer.from(cp.note, 'utf8'), key.publicKey, s.signature)) {
      throw new PerimeterError('PERIM_E_AUDIT_PROOF', `checkpoint signature does not verify with the audit key ${key.name}`);
    }
  }
  if (cp.origin !== key.name) throw new PerimeterError('PERIM_E_AUDIT_PROOF', `checkpoint origin "${cp.origin}" is not the log's origin "${key.name}"`);
  return { origin: cp.origin, size: Number(cp.size), root: cp.rootHash, text };
}

/** The tree size on a checkpoint's second line, without checking anything else (for ordering files). */
export function checkpointSize(text: string): number | undefined {
  const line = text.split('\n')[1];
  return line !== undefined && /^(0|[1-9]\d{0,15})$/.test(line) ? Number(line) : undefined;
}
