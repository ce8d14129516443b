/**
 * Principals and credentials shared by the authenticators: building a frozen Principal once (with
 * its fingerprint), reading the credential from the request headers, and the three auth errors.
 */
import { hash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { canonicalJson } from '../../audit/canonical.ts';
import { PerimeterError } from '../../errors/errors.ts';
import type { Principal } from '../types.ts';

export type AttrValue = string | number | boolean | readonly string[];

export interface PrincipalFields {
  id: string;
  kind: Principal['kind'];
  credential: string;
  org: string | null;
  groups: readonly string[];
  verified: boolean;
  attestations: readonly string[];
  attributes: Readonly<Record<string, AttrValue>>;
}

/** Hex characters of SHA-256 kept in a fingerprint (64 bits: a cache key part, not a security boundary). */
const FINGERPRINT_HEX = 16;

/** A deep-frozen Principal; the fingerprint covers id, kind and every attribute (not the credential). */
export function makePrincipal(f: PrincipalFields): Principal {
  const attributes: Record<string, AttrValue> = {};
  for (const [k, v] of Object.entries(f.attributes)) attributes[k] = Array.isArray(v) ? Object.freeze([...v]) : v;
  const p = {
    id: f.id,
    kind: f.kind,
    credential: f.credential,
    org: f.org,
    groups: Object.freeze([...f.groups]),
    verified: f.verified,
    attestations: Object.freeze([...f.attestations]),
    attributes: Object.freeze(attributes),
  };
  const canon = canonicalJson({ id: p.id, kind: p.kind, org: p.org, groups: p.groups, verified: p.verified, attestations: p.attestations, attributes: p.attributes });
  return Object.freeze({ ...p, fingerprint: hash('sha256', canon, 'hex').slice(0, FINGERPRINT_HEX) });
}

/** A sorted list without duplicates (so the same set always fingerprints the same). */
export const sortedSet = (xs: readonly string[]): string[] => [...new Set(xs)].sort();

export const authInvalid = (message: string, details?: Record<string, unknown>): PerimeterError =>
  new PerimeterError('PERIM_E_AUTH_INVALID', message, details ? { details } : undefined);
export const authExpired = (message: string, details?: Record<string, unknown>): PerimeterError =>
  new PerimeterError('PERIM_E_AUTH_EXPIRED', message, details ? { details } : undefined);
export const authMissing = (): PerimeterError =>
  new PerimeterError('PERIM_E_AUTH_MISSING', 'no credential: send "authorization: Bearer <key or token>" or "x-api-key: <key>"');

/** Longest credential looked at (a JWT with many groups fits; Node caps all headers at 16 KiB). */
export const MAX_CREDENTIAL = 8192;
const BEARER = /^bearer +(\S+)$/i;

/**
 * The credential of a request: `authorization: Bearer <value>` or `x-api-key: <value>`; undefined
 * when neither is present (or both are empty). Another authorization scheme, a malformed header,
 * two different credentials or an oversized one are refused (PERIM_E_AUTH_INVALID).
 */
export function credentialFrom(headers: IncomingHttpHeaders): string | undefined {
  const auth = headers.authorization;
  const xkey = headers['x-api-key'];
  let value: string | undefined;
  if (auth !== undefined && auth !== '') {
    const m = BEARER.exec(auth);
    if (!m) throw authInvalid('the authorization header is not "Bearer <key or token>"');
    value = m[1]!;
  }
  if (xkey !== undefined && xkey !== '') {
    if (typeof xkey !== 'string' || /[\s,]/.test(xkey)) throw authInvalid('the x-api-key header holds more than one value');
    if (value !== undefined && value !== xkey) throw authInvalid('authorization and x-api-key carry different credentials');
    value = xkey;
  }
  if (value !== undefined && value.length > MAX_CREDENTIAL) throw authInvalid(`the credential is longer than ${MAX_CREDENTIAL} characters`);
  return value;
}
