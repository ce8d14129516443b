/**
 * SCRAM-SHA-256 (RFC 5802, RFC 7677) for the lean PostgreSQL reader (pg-wire.ts), without channel
 * binding (that reader speaks no TLS). The server's signature is checked: a server that cannot
 * prove it knows the password is refused.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

export interface ScramStart {
  /** The SASLInitialResponse data: gs2 header and client-first-message-bare. */
  clientFirst: string;
  /** Carried to scramFinal. */
  bare: string;
  nonce: string;
}

export interface ScramFinal {
  /** The SASLResponse data: client-final-message. */
  clientFinal: string;
  /** The server-final-message must say `v=` this (base64). */
  serverSignature: string;
}

/** Printable ASCII except ',' (RFC 5802 `printable`), base64 of random bytes by default. */
export function scramStart(user = '', nonce = randomBytes(18).toString('base64')): ScramStart {
  // PostgreSQL ignores the SCRAM user name (it has the startup message's); libpq sends it empty.
  const bare = `n=${user.replace(/=/g, '=3D').replace(/,/g, '=2C')},r=${nonce}`;
  return { clientFirst: `n,,${bare}`, bare, nonce };
}

const hmac = (key: Buffer, text: string): Buffer => createHmac('sha256', key).update(text).digest();

/** The client's proof for the server-first-message; throws when that message is malformed or unsafe. */
export function scramFinal(start: ScramStart, serverFirst: string, password: string): ScramFinal {
  const attrs = new Map<string, string>();
  for (const part of serverFirst.split(',')) {
    const eq = part.indexOf('=');
    if (eq !== 1) throw new Error('malformed SCRAM server-first-message');
    attrs.set(part[0]!, part.slice(2));
  }
  const nonce = attrs.get('r');
  const salt = attrs.get('s');
  const iterations = Number(attrs.get('i'));
  if (!nonce || !nonce.startsWith(start.nonce) || nonce.length === start.nonce.length) throw new Error('SCRAM server nonce does not extend the client nonce');
  if (!salt || !/^[A-Za-z0-9+/]+={0,2}$/.test(salt)) throw new Error('SCRAM salt is not base64');
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > 10_000_000) throw new Error('SCRAM iteration count out of range');
  const salted = pbkdf2Sync(Buffer.from(password, 'utf8'), Buffer.from(salt, 'base64'), iterations, 32, 'sha256');
  const clientKey = hmac(salted, 'Client Key');
  const storedKey = createHash('sha256').update(clientKey).digest();
  const withoutProof = `c=biws,r=${nonce}`;
  const authMessage = `${start.bare},${serverFirst},${withoutProof}`;
  const signature = hmac(storedKey, authMessage);
  const proof = Buffer.alloc(32);
  for (let i = 0; i < 32; i++) proof[i] = clientKey[i]! ^ signature[i]!;
  const serverSignature = hmac(hmac(salted, 'Server Key'), authMessage).toString('base64');
  return { clientFinal: `${withoutProof},p=${proof.toString('base64')}`, serverSignature };
}

/** Whether the server-final-message proves the server knows the password. */
export function scramServerOk(final: ScramFinal, serverFinal: string): boolean {
  const v = /^v=([A-Za-z0-9+/]+={0,2})$/.exec(serverFinal.split(',')[0] ?? '');
  if (!v) return false;
  const got = Buffer.from(v[1]!, 'base64');
  const want = Buffer.from(final.serverSignature, 'base64');
  return got.length === want.length && timingSafeEqual(got, want);
}

/** PostgreSQL's md5 password: "md5" + md5(md5(password + user) + salt). */
export function md5Password(user: string, password: string, salt: Buffer): string {
  const inner = createHash('md5').update(password + user).digest('hex');
  return `md5${createHash('md5').update(Buffer.concat([Buffer.from(inner), salt])).digest('hex')}`;
}
