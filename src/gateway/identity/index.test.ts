/** createAuthenticator: routing by credential shape, disabled methods, dev mode, refresh. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { MemorySink } from '../../audit/events.ts';
import { gatewayIdentitySchema } from '../../config/gateway-identity.ts';
import { isPerimeterError, type ErrorCode } from '../../errors/errors.ts';
import { tempDir } from '../../../test/helpers.ts';
import { backends } from '../../../test/stores.ts';
import { DEV_PRINCIPAL, createApiKey, createAuthenticator, revokeApiKey } from './index.ts';

const [sqlite] = await backends();
const ISS = 'https://idp.example.test';

async function rejectsWith(p: Promise<unknown>, code: ErrorCode, message?: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isPerimeterError(e, code), `expected ${code}, got ${String(e)}`);
    if (message) assert.match((e as Error).message, message);
    return true;
  });
}

async function setup() {
  const store = await sqlite!.open();
  const sink = new MemorySink();
  const key = await createApiKey(store, sink, { name: 'k', principal: 'svc' });
  const pair = await generateKeyPair('ES256');
  const file = join(tempDir('perimeter-jwks-'), 'jwks.json');
  writeFileSync(file, JSON.stringify({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1' }] }));
  const jwt = await new SignJWT({ sub: 'alice' }).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer(ISS).setAudience('gw').setExpirationTime('5m').sign(pair.privateKey);
  const issuers = [{ issuer: ISS, audiences: ['gw'], jwks_file: file }];
  return { store, sink, key, jwt, issuers };
}

test('routes prm_ keys to the API keys and JWTs to the issuers; anything else is refused', async () => {
  const { store, sink, key, jwt, issuers } = await setup();
  const auth = await createAuthenticator({ store, config: gatewayIdentitySchema.parse({ jwt: issuers }) });
  const k = await auth.authenticate({ authorization: `Bearer ${key.key}` });
  assert.equal(k.id, 'svc');
  assert.equal(k.kind, 'api-key');
  const j = await auth.authenticate({ authorization: `Bearer ${jwt}` });
  assert.equal(j.id, `${ISS}#alice`);
  assert.equal(j.kind, 'jwt');
  assert.equal(await auth.authenticate({ 'x-api-key': jwt }), j, 'cached');
  await rejectsWith(auth.authenticate({ authorization: 'Bearer sk-not-ours' }), 'PERIM_E_AUTH_INVALID', /neither/);
  await rejectsWith(auth.authenticate({ authorization: `Bearer ${jwt}.x` }), 'PERIM_E_AUTH_INVALID', /neither/);
  await rejectsWith(auth.authenticate({ authorization: `Bearer ${'a'.repeat(9000)}` }), 'PERIM_E_AUTH_INVALID', /longer/);
  await rejectsWith(auth.authenticate({}), 'PERIM_E_AUTH_MISSING');
  await rejectsWith(auth.authenticate({ authorization: '', 'x-api-key': '' }), 'PERIM_E_AUTH_MISSING');

  // refresh() reaches the API keys.
  await revokeApiKey(store, sink, key.id);
  assert.equal((await auth.authenticate({ 'x-api-key': key.key })).id, 'svc');
  await auth.refresh();
  await rejectsWith(auth.authenticate({ 'x-api-key': key.key }), 'PERIM_E_AUTH_INVALID', /revoked/);
});

test('a method that is off refuses its credentials', async () => {
  const { store, key, jwt } = await setup();
  const auth = await createAuthenticator({ store, config: gatewayIdentitySchema.parse({ api_keys: false }) });
  await rejectsWith(auth.authenticate({ 'x-api-key': key.key }), 'PERIM_E_AUTH_INVALID', /api_keys is false/);
  await rejectsWith(auth.authenticate({ authorization: `Bearer ${jwt}` }), 'PERIM_E_AUTH_INVALID', /no gateway.identity.jwt issuer/);
  await auth.refresh();
});

test('dev mode: no credential is the dev principal; a given credential is still checked', async () => {
  const { store, key } = await setup();
  const auth = await createAuthenticator({ store, config: gatewayIdentitySchema.parse({}), dev: true });
  const d = await auth.authenticate({});
  assert.equal(d, DEV_PRINCIPAL);
  assert.equal(d.kind, 'dev');
  assert.equal(d.id, 'dev');
  assert.equal((await auth.authenticate({ 'x-api-key': key.key })).id, 'svc');
  await rejectsWith(auth.authenticate({ 'x-api-key': key.key.slice(0, -1) + (key.key.endsWith('A') ? 'B' : 'A') }), 'PERIM_E_AUTH_INVALID');
  await rejectsWith(auth.authenticate({ authorization: 'Basic dXNlcjpwYXNz' }), 'PERIM_E_AUTH_INVALID');
  // Without dev, the same empty request is refused.
  const strict = await createAuthenticator({ store, config: gatewayIdentitySchema.parse({}) });
  await rejectsWith(strict.authenticate({}), 'PERIM_E_AUTH_MISSING');
});
