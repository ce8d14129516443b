/**
 * The audit log's Ed25519 key and the files beside it.
 *
 * - KEY (owner-only, 0600): "PRIVATE+KEY+<name>+<hex key ID>+base64(0x01 || 32-byte seed)", the
 *   private-key text of Go's golang.org/x/mod/sumdb/note, so other note tools can read it.
 * - KEY minus ".key" plus ".pub": the C2SP verifier key, public, for `audit verify --public-key`.
 * - KEY minus ".key" plus ".checkpoint": the latest checkpoint, kept outside the database so that
 *   rolling the database back behind it is detected.
 *
 * Default KEY: beside a SQLite file ("<db>.audit.key"); for PostgreSQL, in the per-user data
 * folder ("$XDG_DATA_HOME/perimeter/audit/<hash of user@host:port/database?schema=...>.key"). PERIMETER_AUDIT_KEY
 * or the `keyPath` option overrides it. The key is made on first start of an empty log, never
 * silently replaced. Entry MACs use a key derived from the seed (HKDF-SHA256).
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, hkdfSync, randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PerimeterError } from '../errors/errors.ts';
import { defaultDbPath } from '../store/store.ts';
import { Mac } from './mac.ts';
import { checkpointSize, parseVkey, validKeyName, verifierKey, type NoteSigner, type VerifierKey } from './note.ts';

const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');

export interface AuditKey extends NoteSigner {
  path: string;
  /** Entry and head MACs, keyed from the seed. */
  mac: Mac;
  /** The MAC key itself (for a writer thread). */
  macKey: Buffer;
}

export interface AuditFiles {
  key: string;
  pub: string;
  checkpoint: string;
}

export function auditFiles(keyPath: string): AuditFiles {
  const base = keyPath.endsWith('.key') ? keyPath.slice(0, -4) : keyPath;
  return { key: keyPath, pub: `${base}.pub`, checkpoint: `${base}.checkpoint` };
}

/** Where the key lives when nobody says: see the file comment. */
export function defaultKeyPath(store: { kind: 'sqlite' | 'postgres'; location: string }, env: NodeJS.ProcessEnv = process.env): string {
  if (env.PERIMETER_AUDIT_KEY) return env.PERIMETER_AUDIT_KEY;
  if (store.kind === 'sqlite') return `${store.location}.audit.key`;
  const id = createHash('sha256').update(postgresIdentity(store.location)).digest('hex').slice(0, 16);
  return join(dirname(defaultDbPath(env)), 'audit', `${id}.key`);
}

/** "user@host:port/database?schema=s": one string however the URL was written (password, options, order). */
export function postgresIdentity(url: string): string {
  try {
    const u = new URL(url);
    const schema = u.searchParams.get('schema');
    return `${decodeURIComponent(u.username)}@${u.hostname.toLowerCase()}:${u.port || '5432'}${u.pathname}${schema ? `?schema=${schema}` : ''}`;
  } catch {
    return url;
  }
}

const keyError = (message: string, cause?: unknown): never => {
  throw new PerimeterError('PERIM_E_AUDIT_KEY', message, cause === undefined ? undefined : { cause });
};

function fromSeed(path: string, name: string, seed: Buffer): AuditKey {
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, seed]), format: 'der', type: 'pkcs8' });
  const raw = Buffer.from(createPublicKey(privateKey).export({ format: 'jwk' }).x!, 'base64url');
  const key = verifierKey(name, raw);
  const macKey = Buffer.from(hkdfSync('sha256', seed, Buffer.alloc(0), 'perimeter audit entry MAC v1', 32));
  return { path, key, privateKey, mac: new Mac(macKey), macKey };
}

function parseKeyText(path: string, text: string): AuditKey {
  const m = /^PRIVATE\+KEY\+([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/]+={0,2})$/.exec(text.trim());
  if (!m) return keyError(`${path} is not an audit key ("PRIVATE+KEY+<name>+<id>+<base64>")`);
  const material = Buffer.from(m[3]!, 'base64');
  if (material.length !== 33 || material[0] !== 0x01) return keyError(`${path} is not an Ed25519 note key`);
  const key = fromSeed(path, m[1]!, material.subarray(1));
  if (key.key.id.toString('hex') !== m[2]) keyError(`${path}: the key ID does not match its name and key`);
  return key;
}

/** Reads the key file; refuses one that group or others can read or write. undefined when it does not exist. */
export function readKey(path: string): AuditKey | undefined {
  let text: string;
  try {
    const st = statSync(path);
    if ((st.mode & 0o077) !== 0) keyError(`${path} is accessible to other users (mode ${(st.mode & 0o777).toString(8)}); run chmod 600 on it`);
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if (e instanceof PerimeterError) throw e;
    return keyError(`cannot read the audit key ${path}: ${(e as Error).message}`, e);
  }
  return parseKeyText(path, text);
}

function writeAtomically(path: string, data: string, mode: number, exclusive: boolean): boolean {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const fd = openSync(tmp, 'wx', mode);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    if (!exclusive) {
      renameSync(tmp, path);
      return true;
    }
    try {
      linkSync(tmp, path); // atomic and fails if another process made the key first
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw e;
    }
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      /* renamed */
    }
    try {
      const d = openSync(dirname(path), 'r');
      fsyncSync(d);
      closeSync(d);
    } catch {
      /* best effort */
    }
  }
}

/** Makes a new key file (0600, folder 0700) unless one appeared meanwhile; returns the key in the file. */
export function createKey(path: string, name = `perimeter.local/audit/${randomBytes(6).toString('hex')}`): AuditKey {
  if (!validKeyName(name)) keyError(`audit log origin "${name}" is empty or contains spaces, "+" or control characters`);
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const seed = Buffer.from(generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' }).d!, 'base64url');
    const fresh = fromSeed(path, name, seed);
    const text = `PRIVATE+KEY+${name}+${fresh.key.id.toString('hex')}+${Buffer.concat([Buffer.from([0x01]), seed]).toString('base64')}\n`;
    writeAtomically(path, text, 0o600, true);
    const key = readKey(path) ?? keyError(`the audit key ${path} vanished while it was made`);
    writeAtomically(auditFiles(path).pub, `${key.key.vkey}\n`, 0o644, false);
    return key;
  } catch (e) {
    if (e instanceof PerimeterError) throw e;
    return keyError(`cannot create the audit key ${path}: ${(e as Error).message}`, e);
  }
}

/** A verifier key given as the vkey text itself or as a file holding it. */
export function loadVerifierKey(arg: string): VerifierKey {
  const t = arg.trim();
  if (/^[^\s+]+\+[0-9a-f]{8}\+[A-Za-z0-9+/]+={0,2}$/.test(t)) return parseVkey(t);
  let text: string;
  try {
    text = readFileSync(arg, 'utf8');
  } catch (e) {
    return keyError(`cannot read the public key ${arg}: ${(e as Error).message}`, e);
  }
  return parseVkey(text);
}

/** The checkpoint kept outside the database, if any (unchecked text). */
export function readCheckpointFile(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new PerimeterError('PERIM_E_IO', `cannot read the audit checkpoint file ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/** Replaces the checkpoint file when the new checkpoint is larger (atomic rename; never moves it backwards). */
export function writeCheckpointFile(path: string, text: string): void {
  const size = checkpointSize(text) ?? -1;
  const old = readCheckpointFile(path);
  if (old !== undefined && (checkpointSize(old) ?? -1) >= size) return;
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeAtomically(path, text, 0o644, false);
  } catch (e) {
    throw new PerimeterError('PERIM_E_IO', `cannot write the audit checkpoint file ${path}: ${(e as Error).message}`, { cause: e });
  }
}
