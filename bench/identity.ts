/**
 * Cost of authenticating one request, printed as JSON (nanoseconds per call, median of 5 rounds):
 *   - API keys: the authenticator's `verify` (parse + SHA-256 of 43 bytes + Map lookup + constant-
 *     time compare) and the full `authenticate(headers)` through the router, with 10,000 keys held;
 *   - JWTs: a cached token (SHA-256 of the token + Map lookup) through the router, and a full
 *     verification (cache off) for ES256 and RS256, JWKS from a file.
 *
 *   npx node bench/identity.ts [--keys N] [--iterations N]
 */
import { hash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { MemorySink } from '../src/audit/events.ts';
import { gatewayIdentitySchema } from '../src/config/gateway-identity.ts';
import { ApiKeyAuthenticator, JwtAuthenticator, createApiKey, createAuthenticator } from '../src/gateway/identity/index.ts';
import { openStore } from '../src/store/store.ts';

const arg = (name: string, d: number): number => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : d;
};
const KEYS = arg('--keys', 10_000);
const N = arg('--iterations', 200_000);

/** Median ns per call over 5 rounds; async calls are awaited (that cost is included, as in a request). */
async function nsPerOp(n: number, f: () => unknown, isAsync = true): Promise<number> {
  const round = async (): Promise<number> => {
    const t0 = process.hrtime.bigint();
    if (isAsync) for (let i = 0; i < n; i++) await f();
    else for (let i = 0; i < n; i++) f();
    return Number(process.hrtime.bigint() - t0) / n;
  };
  await round(); // warm up
  const rounds: number[] = [];
  for (let r = 0; r < 5; r++) rounds.push(await round());
  rounds.sort((a, b) => a - b);
  return Math.round(rounds[2]!);
}

const dir = mkdtempSync(join(tmpdir(), 'perimeter-bench-identity-'));
const store = await openStore(join(dir, 'perimeter.db'));
try {
  const sink = new MemorySink();
  const t0 = Date.now();
  let key = '';
  for (let i = 0; i < KEYS; i++) key = (await createApiKey(store, sink, { name: `k${i}`, principal: `svc-${i}`, groups: ['ml'], org: 'acme' })).key;
  const createMs = Date.now() - t0;

  const t1 = process.hrtime.bigint();
  const keys = await ApiKeyAuthenticator.open(store);
  const loadMs = Number(process.hrtime.bigint() - t1) / 1e6;

  const pair = await generateKeyPair('ES256');
  const rsa = await generateKeyPair('RS256');
  const file = join(dir, 'jwks.json');
  writeFileSync(file, JSON.stringify({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'es' }, { ...(await exportJWK(rsa.publicKey)), kid: 'rs' }] }));
  const iss = 'https://idp.example.test';
  const config = gatewayIdentitySchema.parse({ jwt: [{ issuer: iss, audiences: ['gw'], jwks_file: file, algorithms: ['ES256', 'RS256'] }] });
  const claims = { sub: 'alice', org: 'acme', groups: ['ml', 'eng'], email_verified: true };
  const es = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'es' }).setIssuer(iss).setAudience('gw').setExpirationTime('1h').sign(pair.privateKey);
  const rs = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'rs' }).setIssuer(iss).setAudience('gw').setExpirationTime('1h').sign(rsa.privateKey);
  const router = await createAuthenticator({ store, config });
  const cold = await JwtAuthenticator.open(config.jwt, { cacheSize: 0 });

  const secret = key.slice(17);
  const keyHeaders = { authorization: `Bearer ${key}` };
  const jwtHeaders = { authorization: `Bearer ${es}` };
  const result = {
    node: process.version,
    keysHeld: keys.size,
    createKeysMs: createMs,
    loadKeysMs: Math.round(loadMs * 10) / 10,
    ns: {
      sha256Of43Bytes: await nsPerOp(N, () => hash('sha256', secret, 'latin1'), false),
      apiKeyVerify: await nsPerOp(N, () => keys.verify(key), false),
      apiKeyAuthenticate: await nsPerOp(N, () => keys.authenticate(keyHeaders)),
      routerApiKey: await nsPerOp(N, () => router.authenticate(keyHeaders)),
      routerJwtCached: await nsPerOp(N, () => router.authenticate(jwtHeaders)),
      jwtVerifyES256Uncached: await nsPerOp(Math.ceil(N / 100), () => cold.verify(es)),
      jwtVerifyRS256Uncached: await nsPerOp(Math.ceil(N / 100), () => cold.verify(rs)),
    },
    jwtBytes: { es256: es.length, rs256: rs.length },
  };
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
