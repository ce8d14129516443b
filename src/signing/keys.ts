/** EC key handling shared by the key and certificate methods. */
import { createHash, createPrivateKey, createPublicKey, sign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { PerimeterError } from '../errors/errors.ts';

const CURVE_HASH: Record<string, string> = { 'prime256v1': 'sha256', 'secp384r1': 'sha384', 'secp521r1': 'sha512' };
const CURVE_NAME: Record<string, string> = { 'prime256v1': 'P-256', 'secp384r1': 'P-384', 'secp521r1': 'P-521' };

/** "P-256", "P-384" or "P-521" for a supported key. */
export function curveName(key: KeyObject): string {
  hashForKey(key);
  return CURVE_NAME[key.asymmetricKeyDetails!.namedCurve!]!;
}

/** The curve's SHA-2 (P-256 -> SHA-256, P-384 -> SHA-384, P-521 -> SHA-512), as OMS and Sigstore require. */
export function hashForKey(key: KeyObject): string {
  const curve = key.asymmetricKeyType === 'ec' ? key.asymmetricKeyDetails?.namedCurve : undefined;
  const hash = curve ? CURVE_HASH[curve] : undefined;
  if (!hash) {
    throw new PerimeterError('PERIM_E_KEY_UNSUPPORTED', `unsupported key: ${key.asymmetricKeyType}${curve ? ` on ${curve}` : ''} (EC P-256, P-384 or P-521 only)`);
  }
  return hash;
}

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new PerimeterError('PERIM_E_IO', `cannot read ${what} ${path}`, { cause: e });
  }
}

export function loadPrivateKey(path: string, passphrase?: string): KeyObject {
  const pem = readPem(path, 'private key');
  let key: KeyObject;
  try {
    key = createPrivateKey(passphrase === undefined ? { key: pem } : { key: pem, passphrase });
  } catch (e) {
    throw new PerimeterError('PERIM_E_KEY_UNSUPPORTED', `${path} is not a readable PEM private key${passphrase === undefined ? ' (encrypted keys need a password)' : ''}`, { cause: e });
  }
  hashForKey(key);
  return key;
}

export function publicKeyFromPem(pem: string | Buffer, where = 'public key'): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch (e) {
    throw new PerimeterError('PERIM_E_KEY_UNSUPPORTED', `${where} is not a readable PEM public key`, { cause: e });
  }
  hashForKey(key);
  return key;
}

export function loadPublicKey(path: string): KeyObject {
  return publicKeyFromPem(readPem(path, 'public key'), path);
}

/** The OMS key hint: sha256 hex of the key's canonical PEM SubjectPublicKeyInfo text. */
export function keyHint(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return createHash('sha256').update(pub.export({ type: 'spki', format: 'pem' })).digest('hex');
}

export function spkiDer(key: KeyObject): Buffer {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return pub.export({ type: 'spki', format: 'der' });
}

export function signEcdsa(key: KeyObject, data: Buffer): Buffer {
  return sign(hashForKey(key), data, key);
}
