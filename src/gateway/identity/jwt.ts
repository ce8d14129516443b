/**
 * Bearer JWTs from configured OIDC issuers, verified with jose. The unverified `iss` only picks
 * which issuer's rules apply; the token is then verified in full against that issuer: signature
 * with its JWKS (a URL, fetched and cached by jose, or a file), algorithm allow-list (never "none"
 * or HMAC), iss, aud, exp (required), nbf, and a non-empty sub. Verified tokens are cached by
 * SHA-256 of the token until min(exp, 60 s), so a client that reuses its token costs one hash and
 * a Map lookup per request.
 */
import { hash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import type { IncomingHttpHeaders } from 'node:http';
import { createLocalJWKSet, createRemoteJWKSet, decodeJwt, decodeProtectedHeader, errors, jwtVerify, type JSONWebKeySet, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { JwtIssuerConfig } from '../../config/gateway-identity.ts';
import { PerimeterError } from '../../errors/errors.ts';
import type { Authenticator, Principal } from '../types.ts';
import { authExpired, authInvalid, authMissing, credentialFrom, makePrincipal, sortedSet, type AttrValue } from './principal.ts';

export interface JwtOptions {
  /** The clock (epoch ms), for tests. */
  now?: () => number;
  /** Verified tokens kept (default 10,000); the oldest is dropped first. */
  cacheSize?: number;
  /** Longest time a verified token is trusted without verifying it again (default 60 s). */
  cacheTtlMs?: number;
  /** Timeout of a JWKS fetch (default 5 s). */
  fetchTimeoutMs?: number;
}

interface Issuer {
  readonly cfg: JwtIssuerConfig;
  readonly algorithms: ReadonlySet<string>;
  keys: JWTVerifyGetKey;
  /** For jwks_file: the modification time of the file last read. */
  fileMtime?: number;
}

interface Cached {
  readonly principal: Principal;
  readonly until: number;
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
/** Three non-empty base64url segments: the shape of a signed compact JWT. */
export const looksLikeJwt = (token: string): boolean => JWT_SHAPE.test(token);

async function readJwks(path: string): Promise<{ set: JWTVerifyGetKey; mtime: number }> {
  try {
    const [text, st] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    const json = JSON.parse(text) as JSONWebKeySet;
    return { set: createLocalJWKSet(json), mtime: st.mtimeMs };
  } catch (e) {
    throw new PerimeterError('PERIM_E_CONFIG', `JWKS file ${path} cannot be used: ${(e as Error).message}`, { cause: e, details: { path } });
  }
}

/** A claim by name, or by a dotted path into nested objects (e.g. "realm_access.roles"). */
function claimAt(payload: JWTPayload, name: string): unknown {
  if (Object.hasOwn(payload, name)) return payload[name];
  let v: unknown = payload;
  for (const part of name.split('.')) {
    if (typeof v !== 'object' || v === null || Array.isArray(v) || !Object.hasOwn(v, part)) return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

const stringList = (v: unknown): string[] =>
  typeof v === 'string' && v !== '' ? [v] : Array.isArray(v) ? sortedSet(v.filter((x): x is string => typeof x === 'string' && x !== '')) : [];

function attrValue(v: unknown): AttrValue | undefined {
  if (typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))) return v;
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  return undefined;
}

function principalOf(iss: string, payload: JWTPayload, cfg: JwtIssuerConfig): Principal {
  const sub = payload.sub;
  if (typeof sub !== 'string' || sub === '') throw authInvalid('the token has no subject (sub)', { issuer: iss });
  const c = cfg.claims;
  const org = claimAt(payload, c.org);
  const verified = claimAt(payload, c.verified);
  const attributes: Record<string, AttrValue> = {};
  for (const [name, claim] of Object.entries(c.attributes)) {
    const v = attrValue(claimAt(payload, claim));
    if (v !== undefined) attributes[name] = v;
  }
  return makePrincipal({
    id: `${iss}#${sub}`,
    kind: 'jwt',
    credential: typeof payload.jti === 'string' && payload.jti !== '' ? payload.jti : iss,
    org: typeof org === 'string' && org !== '' ? org : null,
    groups: stringList(claimAt(payload, c.groups)),
    verified: verified === true || verified === 'true',
    attestations: stringList(claimAt(payload, c.attestations)),
    attributes,
  });
}

/** jose's failures as the gateway's three codes; messages say which check failed, never the token. */
function asAuthError(e: unknown, iss: string): PerimeterError {
  if (e instanceof PerimeterError) return e;
  const d = { issuer: iss };
  if (e instanceof errors.JWTExpired) return authExpired('the token has expired', d);
  if (e instanceof errors.JWTClaimValidationFailed) {
    if (e.claim === 'nbf') return authExpired('the token is not valid yet (nbf)', d);
    return authInvalid(`the token's ${e.claim} claim is not accepted (${e.reason})`, { ...d, claim: e.claim });
  }
  if (e instanceof errors.JOSEAlgNotAllowed) return authInvalid("the token's algorithm is not accepted for this issuer", d);
  if (e instanceof errors.JWSSignatureVerificationFailed) return authInvalid("the token's signature does not verify", d);
  if (e instanceof errors.JWKSNoMatchingKey) return authInvalid("no key of the issuer's JWKS matches the token", d);
  if (e instanceof errors.JWKSTimeout) return authInvalid("the issuer's JWKS could not be fetched in time", d);
  if (e instanceof errors.JOSEError) return authInvalid(`the token is not accepted (${e.code})`, d);
  return authInvalid(`the issuer's JWKS could not be fetched or used: ${(e as Error)?.message ?? String(e)}`, d);
}

export class JwtAuthenticator implements Authenticator {
  readonly #issuers = new Map<string, Issuer>();
  readonly #cache = new Map<string, Cached>();
  readonly #inflight = new Map<string, Promise<Principal>>();
  readonly #now: () => number;
  readonly #cacheSize: number;
  readonly #ttl: number;

  private constructor(options: JwtOptions) {
    this.#now = options.now ?? Date.now;
    this.#cacheSize = options.cacheSize ?? 10_000;
    this.#ttl = options.cacheTtlMs ?? 60_000;
  }

  /** Reads JWKS files now (a bad file is PERIM_E_CONFIG); JWKS URLs are fetched on first use. */
  static async open(issuers: readonly JwtIssuerConfig[], options: JwtOptions = {}): Promise<JwtAuthenticator> {
    const a = new JwtAuthenticator(options);
    for (const cfg of issuers) {
      if (a.#issuers.has(cfg.issuer)) throw new PerimeterError('PERIM_E_CONFIG', `JWT issuer ${cfg.issuer} is configured twice`);
      const algorithms = new Set<string>((cfg.algorithms as readonly string[]).filter((x) => x !== 'none' && !/^HS/i.test(x)));
      if (algorithms.size === 0) throw new PerimeterError('PERIM_E_CONFIG', `JWT issuer ${cfg.issuer} accepts no asymmetric algorithm`);
      if (cfg.jwks_url && !cfg.jwks_file) {
        const keys = createRemoteJWKSet(new URL(cfg.jwks_url), { timeoutDuration: options.fetchTimeoutMs ?? 5000 });
        a.#issuers.set(cfg.issuer, { cfg, algorithms, keys });
      } else if (cfg.jwks_file && !cfg.jwks_url) {
        const { set, mtime } = await readJwks(cfg.jwks_file);
        a.#issuers.set(cfg.issuer, { cfg, algorithms, keys: set, fileMtime: mtime });
      } else {
        throw new PerimeterError('PERIM_E_CONFIG', `JWT issuer ${cfg.issuer}: give exactly one of jwks_url and jwks_file`);
      }
    }
    return a;
  }

  /** Verified tokens currently cached. */
  get cached(): number {
    return this.#cache.size;
  }

  /** Re-reads JWKS files that changed, emptying the cache when one did (URL key sets refresh themselves on unknown key ids and every 10 minutes). */
  async refresh(): Promise<void> {
    for (const i of this.#issuers.values()) {
      const path = i.cfg.jwks_file;
      if (!path) continue;
      const st = await stat(path).catch(() => undefined);
      if (!st || st.mtimeMs === i.fileMtime) continue;
      const { set, mtime } = await readJwks(path);
      i.keys = set;
      i.fileMtime = mtime;
      // A key may have been withdrawn: tokens it verified must be checked again.
      this.#cache.clear();
    }
  }

  /** The principal of a compact JWT, from the cache or verified now. */
  verify(token: string): Promise<Principal> {
    const key = hash('sha256', token, 'base64');
    const hit = this.#cache.get(key);
    if (hit !== undefined) {
      if (hit.until > this.#now()) return Promise.resolve(hit.principal);
      this.#cache.delete(key);
    }
    let p = this.#inflight.get(key);
    if (p === undefined) {
      p = this.#verifyNow(token, key).finally(() => this.#inflight.delete(key));
      this.#inflight.set(key, p);
    }
    return p;
  }

  async #verifyNow(token: string, key: string): Promise<Principal> {
    if (!looksLikeJwt(token)) throw authInvalid('malformed token: not a signed compact JWT');
    let iss: unknown;
    let alg: unknown;
    try {
      alg = decodeProtectedHeader(token).alg;
      iss = decodeJwt(token).iss;
    } catch {
      throw authInvalid('malformed token: its header or claims are not JSON');
    }
    const issuer = typeof iss === 'string' ? this.#issuers.get(iss) : undefined;
    if (!issuer) throw authInvalid('the token is not from a configured issuer', typeof iss === 'string' ? { issuer: iss.slice(0, 200) } : undefined);
    if (typeof alg !== 'string' || !issuer.algorithms.has(alg)) throw authInvalid("the token's algorithm is not accepted for this issuer", { issuer: issuer.cfg.issuer });
    const now = this.#now();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, issuer.keys, {
        issuer: issuer.cfg.issuer,
        audience: [...issuer.cfg.audiences],
        algorithms: [...issuer.algorithms] as never,
        clockTolerance: issuer.cfg.clock_tolerance_s,
        requiredClaims: ['exp', 'sub'],
        currentDate: new Date(now),
      }));
    } catch (e) {
      throw asAuthError(e, issuer.cfg.issuer);
    }
    const principal = principalOf(issuer.cfg.issuer, payload, issuer.cfg);
    const until = Math.min((payload.exp as number) * 1000, now + this.#ttl);
    if (this.#cacheSize > 0 && until > now) {
      if (this.#cache.size >= this.#cacheSize) this.#cache.delete(this.#cache.keys().next().value!);
      this.#cache.set(key, { principal, until });
    }
    return principal;
  }

  async authenticate(headers: IncomingHttpHeaders): Promise<Principal> {
    const token = credentialFrom(headers);
    if (token === undefined) throw authMissing();
    return this.verify(token);
  }
}
