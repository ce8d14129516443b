/** JWTs against a JWKS served by a real local HTTP server, and from a JWKS file. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT, exportJWK, generateKeyPair, base64url, type JWTPayload, type CryptoKey } from 'jose';
import { gatewayIdentitySchema, type JwtIssuerConfig } from '../../config/gateway-identity.ts';
import { isPerimeterError, type ErrorCode } from '../../errors/errors.ts';
import { tempDir } from '../../../test/helpers.ts';
import { JwtAuthenticator } from './jwt.ts';

const ISS = 'https://idp.example.test';
const AUD = 'perimeter';

const es = await generateKeyPair('ES256');
const rs = await generateKeyPair('RS256');
const stranger = await generateKeyPair('ES256');
const jwks = { keys: [{ ...(await exportJWK(es.publicKey)), kid: 'es', alg: 'ES256', use: 'sig' }, { ...(await exportJWK(rs.publicKey)), kid: 'rs', alg: 'RS256', use: 'sig' }] };

let fetches = 0;
const server = createServer((req, res) => {
  if (req.url !== '/jwks.json') return void res.writeHead(404).end();
  fetches++;
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks));
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
after(() => server.close());
const JWKS_URL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;

/** Through the config schema, as the gateway gets it. */
function issuer(over: Record<string, unknown> = {}): JwtIssuerConfig {
  return gatewayIdentitySchema.parse({ jwt: [{ issuer: ISS, audiences: [AUD], jwks_url: JWKS_URL, algorithms: ['ES256'], claims: { attributes: { email: 'email', roles: 'realm_access.roles' } }, ...over }] }).jwt[0]!;
}

async function sign(claims: JWTPayload, o: { key?: CryptoKey; alg?: string; kid?: string; exp?: number | null; nbf?: number } = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const j = new SignJWT({ sub: 'alice', iss: ISS, aud: AUD, ...claims }).setProtectedHeader({ alg: o.alg ?? 'ES256', kid: o.kid ?? 'es' }).setIssuedAt(now);
  if (o.exp !== null) j.setExpirationTime(o.exp ?? now + 300);
  if (o.nbf !== undefined) j.setNotBefore(o.nbf);
  return j.sign(o.key ?? es.privateKey);
}

async function rejectsWith(p: Promise<unknown>, code: ErrorCode, message?: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isPerimeterError(e, code), `expected ${code}, got ${String(e)}`);
    if (message) assert.match((e as Error).message, message);
    return true;
  });
}

test('a valid token: principal from the claims; the cache returns the same principal without verifying again', async () => {
  let now = Date.now();
  const a = await JwtAuthenticator.open([issuer()], { now: () => now });
  const t = await sign({ org: 'acme', groups: ['ml', 'eng', 'ml'], email_verified: true, attestations: 'aup-2026', email: 'a@x.test', realm_access: { roles: ['user'] }, jti: 'tok-1' });
  const p = await a.authenticate({ authorization: `Bearer ${t}` });
  assert.equal(p.id, `${ISS}#alice`);
  assert.equal(p.kind, 'jwt');
  assert.equal(p.credential, 'tok-1');
  assert.equal(p.org, 'acme');
  assert.deepEqual(p.groups, ['eng', 'ml']);
  assert.equal(p.verified, true);
  assert.deepEqual(p.attestations, ['aup-2026']);
  assert.deepEqual(p.attributes, { email: 'a@x.test', roles: ['user'] });
  assert.equal(fetches, 1);
  assert.equal(a.cached, 1);

  // Served from the cache: the same object (a verification builds a new one).
  assert.equal(await a.authenticate({ 'x-api-key': t }), p);
  assert.equal(await a.verify(t), p);
  // A different token of the same user: a new principal object with the same fingerprint.
  const t2 = await sign({ org: 'acme', groups: ['eng', 'ml'], email_verified: true, attestations: ['aup-2026'], email: 'a@x.test', realm_access: { roles: ['user'] }, jti: 'tok-2' });
  const p2 = await a.verify(t2);
  assert.notEqual(p2, p);
  assert.equal(p2.fingerprint, p.fingerprint);
  assert.equal(a.cached, 2);

  // After the TTL the token is verified again (still valid: a new, equal principal).
  now += 61_000;
  const p3 = await a.verify(t);
  assert.notEqual(p3, p);
  assert.equal(p3.fingerprint, p.fingerprint);
});

test('the cache never outlives exp, and is bounded (oldest dropped first)', async () => {
  let now = Date.now();
  const a = await JwtAuthenticator.open([issuer({ clock_tolerance_s: 0 })], { now: () => now, cacheSize: 2 });
  const exp = Math.floor(now / 1000) + 10;
  const short = await sign({}, { exp });
  await a.verify(short);
  now = exp * 1000 + 1;
  await rejectsWith(a.verify(short), 'PERIM_E_AUTH_EXPIRED');
  now = Date.now();
  const toks = await Promise.all(['u1', 'u2', 'u3'].map((sub) => sign({ sub })));
  const ps = [];
  for (const t of toks) ps.push(await a.verify(t));
  assert.equal(a.cached, 2);
  assert.equal(await a.verify(toks[2]!), ps[2], 'the newest is kept');
  assert.notEqual(await a.verify(toks[0]!), ps[0], 'the oldest was dropped and is verified again');
});

test('refused: expired, not yet valid, wrong audience, wrong issuer, alg not allowed, alg none, HS256, tampered, no sub, no exp, unknown key', async () => {
  const a = await JwtAuthenticator.open([issuer({ clock_tolerance_s: 5 })]);
  const now = Math.floor(Date.now() / 1000);
  await rejectsWith(a.verify(await sign({}, { exp: now - 60 })), 'PERIM_E_AUTH_EXPIRED', /expired/);
  await rejectsWith(a.verify(await sign({}, { nbf: now + 600 })), 'PERIM_E_AUTH_EXPIRED', /not valid yet/);
  // Within the clock tolerance: accepted.
  assert.equal((await a.verify(await sign({ sub: 'skew' }, { exp: now - 2 }))).id, `${ISS}#skew`);
  await rejectsWith(a.verify(await sign({ aud: 'someone-else' })), 'PERIM_E_AUTH_INVALID', /aud/);
  await rejectsWith(a.verify(await sign({ iss: 'https://evil.example' })), 'PERIM_E_AUTH_INVALID', /configured issuer/);
  // Allowed issuer list names ES256 only: a good RS256 signature from the issuer's own JWKS is refused.
  await rejectsWith(a.verify(await sign({}, { alg: 'RS256', kid: 'rs', key: rs.privateKey })), 'PERIM_E_AUTH_INVALID', /algorithm/);

  const enc = (o: object): string => base64url.encode(JSON.stringify(o));
  const claims = { sub: 'alice', iss: ISS, aud: AUD, exp: now + 300 };
  await rejectsWith(a.verify(`${enc({ alg: 'none' })}.${enc(claims)}.`), 'PERIM_E_AUTH_INVALID', /malformed/);
  await rejectsWith(a.verify(`${enc({ alg: 'none' })}.${enc(claims)}.${base64url.encode('x')}`), 'PERIM_E_AUTH_INVALID', /algorithm/);
  const hs = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode('k'.repeat(32)));
  await rejectsWith(a.verify(hs), 'PERIM_E_AUTH_INVALID', /algorithm/);

  const good = await sign({ sub: 'tamper' });
  const [h, , s] = good.split('.');
  await rejectsWith(a.verify(`${h}.${enc({ ...claims, sub: 'mallory' })}.${s}`), 'PERIM_E_AUTH_INVALID', /signature/);
  const sig = Buffer.from(s!, 'base64url');
  sig[5]! ^= 1;
  await rejectsWith(a.verify(`${h}.${good.split('.')[1]}.${sig.toString('base64url')}`), 'PERIM_E_AUTH_INVALID', /signature/);
  await rejectsWith(a.verify(await sign({ sub: undefined })), 'PERIM_E_AUTH_INVALID', /sub/);
  await rejectsWith(a.verify(await sign({}, { exp: null })), 'PERIM_E_AUTH_INVALID', /exp/);
  await rejectsWith(a.verify(await sign({}, { key: stranger.privateKey })), 'PERIM_E_AUTH_INVALID', /signature/);
  await rejectsWith(a.verify(await sign({}, { key: stranger.privateKey, kid: 'other' })), 'PERIM_E_AUTH_INVALID', /no key/);
  await rejectsWith(a.authenticate({}), 'PERIM_E_AUTH_MISSING');
  assert.equal(a.cached, 0, 'nothing refused is cached, nor a token accepted only within the clock tolerance');
  await a.verify(await sign({ sub: 'ok' }));
  assert.equal(a.cached, 1);
});

test('the issuer is chosen by iss: two issuers with their own audiences and key sets (one from a file, reloaded on change)', async () => {
  const dir = tempDir('perimeter-jwks-');
  const file = join(dir, 'jwks.json');
  const other = await generateKeyPair('EdDSA');
  writeFileSync(file, JSON.stringify({ keys: [{ ...(await exportJWK(other.publicKey)), kid: 'ed1' }] }));
  const ISS2 = 'https://other.example.test/realms/x';
  const cfg = gatewayIdentitySchema.parse({
    jwt: [
      { issuer: ISS, audiences: [AUD], jwks_url: JWKS_URL, algorithms: ['ES256'] },
      { issuer: ISS2, audiences: ['gw', 'api'], jwks_file: file, algorithms: ['EdDSA'] },
    ],
  });
  const a = await JwtAuthenticator.open(cfg.jwt);
  const t2 = await new SignJWT({ sub: 'bob' }).setProtectedHeader({ alg: 'EdDSA', kid: 'ed1' }).setIssuer(ISS2).setAudience('api').setExpirationTime('5m').sign(other.privateKey);
  assert.equal((await a.verify(t2)).id, `${ISS2}#bob`);
  // The first issuer's audience is not the second's.
  const t3 = await new SignJWT({ sub: 'bob' }).setProtectedHeader({ alg: 'EdDSA', kid: 'ed1' }).setIssuer(ISS2).setAudience(AUD).setExpirationTime('5m').sign(other.privateKey);
  await rejectsWith(a.verify(t3), 'PERIM_E_AUTH_INVALID', /aud/);
  assert.equal((await a.verify(await sign({ sub: 'carol' }))).id, `${ISS}#carol`);

  // Key rotation in the file: the new key works after refresh.
  const next = await generateKeyPair('EdDSA');
  const t4 = await new SignJWT({ sub: 'dan' }).setProtectedHeader({ alg: 'EdDSA', kid: 'ed2' }).setIssuer(ISS2).setAudience('gw').setExpirationTime('5m').sign(next.privateKey);
  await rejectsWith(a.verify(t4), 'PERIM_E_AUTH_INVALID', /no key/);
  writeFileSync(file, JSON.stringify({ keys: [{ ...(await exportJWK(next.publicKey)), kid: 'ed2' }] }));
  const { utimesSync } = await import('node:fs');
  utimesSync(file, new Date(), new Date(Date.now() + 5000));
  assert.ok(a.cached > 0);
  await a.refresh();
  assert.equal(a.cached, 0, 'a changed key set empties the cache');
  assert.equal((await a.verify(t4)).id, `${ISS2}#dan`);
  await rejectsWith(a.verify(t2), 'PERIM_E_AUTH_INVALID', /no key/);
});

test('config: exactly one JWKS source, https (or loopback http), unique issuers, no HMAC or none', () => {
  const bad = (jwt: unknown[]) => assert.equal(gatewayIdentitySchema.safeParse({ jwt }).success, false);
  bad([{ issuer: ISS, audiences: [AUD] }]);
  bad([{ issuer: ISS, audiences: [AUD], jwks_url: JWKS_URL, jwks_file: '/x' }]);
  bad([{ issuer: ISS, audiences: [AUD], jwks_url: 'http://idp.example/jwks' }]);
  bad([{ issuer: ISS, audiences: [AUD], jwks_url: JWKS_URL, algorithms: ['HS256'] }]);
  bad([{ issuer: ISS, audiences: [AUD], jwks_url: JWKS_URL, algorithms: ['none'] }]);
  bad([
    { issuer: ISS, audiences: [AUD], jwks_url: JWKS_URL },
    { issuer: ISS, audiences: ['x'], jwks_file: '/x' },
  ]);
  assert.equal(gatewayIdentitySchema.safeParse({ jwt: [{ issuer: ISS, audiences: [AUD], jwks_url: 'https://idp.example/jwks' }] }).success, true);
});

test('a JWKS file that is missing or not JSON is a config error at open', async () => {
  const dir = tempDir('perimeter-jwks-');
  writeFileSync(join(dir, 'bad.json'), 'not json');
  for (const f of [join(dir, 'bad.json'), join(dir, 'missing.json')]) {
    await assert.rejects(JwtAuthenticator.open([issuer({ jwks_url: undefined, jwks_file: f })]), (e: unknown) => isPerimeterError(e, 'PERIM_E_CONFIG'));
  }
});
