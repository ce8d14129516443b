/** API keys on both store backends: create, authenticate, refuse, revoke, expire, list, audit. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemorySink } from '../../audit/events.ts';
import { isPerimeterError, type ErrorCode } from '../../errors/errors.ts';
import { backends } from '../../../test/stores.ts';
import { ApiKeyAuthenticator } from './apikey-authenticator.ts';
import { checkApiKeySpec, createApiKey, listApiKeys, parseApiKey, revokeApiKey } from './apikeys.ts';

const BACKENDS = await backends();

async function rejectsWith(p: Promise<unknown>, code: ErrorCode, message?: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isPerimeterError(e, code), `expected ${code}, got ${String(e)}`);
    if (message) assert.match((e as Error).message, message);
    return true;
  });
}

test('key format: prm_<12 hex>_<43 base64url>, parsed strictly', () => {
  const good = `prm_0123456789ab_${'A'.repeat(42)}w`;
  assert.deepEqual(parseApiKey(good), { id: '0123456789ab', secret: `${'A'.repeat(42)}w` });
  for (const bad of [good.slice(0, -1), `${good}x`, good.replace('prm_', 'prn_'), good.replace('0123456789ab', '0123456789AB'), good.replace('ab_', 'ab-'), good.replace(/w$/, '='), ` ${good}`.trim() + ' ', `pk_${good.slice(4)}`]) {
    assert.equal(parseApiKey(bad), undefined, bad);
  }
});

test('specs are checked and normalised: sorted unique lists, reserved names refused, "#" refused, future expiry', () => {
  const s = checkApiKeySpec({ name: 'n', principal: 'svc', groups: ['b', 'a', 'b'], attestations: ['x'], attributes: { tier: 2, tags: ['t'] } }, 1000);
  assert.deepEqual(s.groups, ['a', 'b']);
  assert.deepEqual(s.attributes, { tier: 2, tags: ['t'] });
  const usage = (f: () => unknown) => assert.throws(f, (e: unknown) => isPerimeterError(e, 'PERIM_E_USAGE'));
  usage(() => checkApiKeySpec({ name: '', principal: 'svc' }));
  usage(() => checkApiKeySpec({ name: 'n', principal: 'https://idp#alice' }));
  usage(() => checkApiKeySpec({ name: 'n', principal: 'a\nb' }));
  usage(() => checkApiKeySpec({ name: 'n', principal: 'svc', attributes: { groups: 'x' } }));
  usage(() => checkApiKeySpec({ name: 'n', principal: 'svc', attributes: { x: { y: 1 } as never } }));
  usage(() => checkApiKeySpec({ name: 'n', principal: 'svc', expiresAt: 999 }, 1000));
});

for (const b of BACKENDS) {
  test(`${b.name}: create, authenticate through both headers, wrong secret, tampered id, list without hashes, audit`, { skip: b.skip }, async () => {
    const store = await b.open();
    const sink = new MemorySink();
    const k = await createApiKey(store, sink, { name: 'batch', principal: 'svc-batch', org: 'acme', groups: ['ml', 'eng'], verified: true, attestations: ['aup-2026'], attributes: { tier: 2 } }, 'cli:alice');
    assert.match(k.key, /^prm_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    assert.equal(k.key.slice(4, 16), k.id);
    const other = await createApiKey(store, sink, { name: 'other', principal: 'svc-other' }, 'cli:alice');
    assert.notEqual(other.id, k.id);

    const auth = await ApiKeyAuthenticator.open(store);
    assert.equal(auth.size, 2);
    const p = await auth.authenticate({ authorization: `Bearer ${k.key}` });
    assert.equal(p.id, 'svc-batch');
    assert.equal(p.kind, 'api-key');
    assert.equal(p.credential, k.id);
    assert.equal(p.org, 'acme');
    assert.deepEqual(p.groups, ['eng', 'ml']);
    assert.equal(p.verified, true);
    assert.deepEqual(p.attestations, ['aup-2026']);
    assert.deepEqual(p.attributes, { tier: 2 });
    assert.match(p.fingerprint, /^[0-9a-f]{16}$/);
    assert.ok(Object.isFrozen(p) && Object.isFrozen(p.groups));
    // The same object for every request with the key (and across a refresh when nothing changed).
    assert.equal(await auth.authenticate({ 'x-api-key': k.key }), p);
    assert.equal(await auth.authenticate({ authorization: `bearer  ${k.key}` }), p);
    await auth.refresh();
    assert.equal(await auth.authenticate({ 'x-api-key': k.key }), p);
    const q = await auth.authenticate({ 'x-api-key': other.key });
    assert.equal(q.id, 'svc-other');
    assert.notEqual(q.fingerprint, p.fingerprint);

    const secret = k.key.slice(17);
    const flipped = secret[0] === 'A' ? `B${secret.slice(1)}` : `A${secret.slice(1)}`;
    await rejectsWith(auth.authenticate({ 'x-api-key': `prm_${k.id}_${flipped}` }), 'PERIM_E_AUTH_INVALID', /unknown/);
    // the id of one key with the secret of another
    await rejectsWith(auth.authenticate({ 'x-api-key': `prm_${other.id}_${secret}` }), 'PERIM_E_AUTH_INVALID', /unknown/);
    const tamperedId = (k.id[0] === 'a' ? 'b' : 'a') + k.id.slice(1);
    await rejectsWith(auth.authenticate({ 'x-api-key': `prm_${tamperedId}_${secret}` }), 'PERIM_E_AUTH_INVALID');
    await rejectsWith(auth.authenticate({ 'x-api-key': k.key.slice(0, -1) }), 'PERIM_E_AUTH_INVALID', /malformed/);
    await rejectsWith(auth.authenticate({ authorization: `Basic ${k.key}` }), 'PERIM_E_AUTH_INVALID');
    await rejectsWith(auth.authenticate({ authorization: `Bearer ${k.key}`, 'x-api-key': other.key }), 'PERIM_E_AUTH_INVALID', /different/);
    await rejectsWith(auth.authenticate({}), 'PERIM_E_AUTH_MISSING');

    const listed = await listApiKeys(store);
    assert.deepEqual(listed.map((x) => x.id).sort(), [k.id, other.id].sort());
    const mine = listed.find((x) => x.id === k.id)!;
    assert.equal(mine.status, 'active');
    assert.deepEqual(mine.groups, ['eng', 'ml']);
    assert.equal(mine.createdBy, 'cli:alice');
    const text = JSON.stringify(listed);
    const row = await store.db.selectFrom('api_keys').select('hash').where('id', '=', k.id).executeTakeFirstOrThrow();
    assert.match(row.hash, /^[0-9a-f]{64}$/);
    assert.ok(!text.includes(row.hash) && !text.includes(secret) && !('hash' in mine));

    assert.deepEqual(sink.events.map((e) => e.type), ['gateway.key.create', 'gateway.key.create']);
    assert.equal(sink.events[0]!.subject, k.id);
    assert.equal(sink.events[0]!.actor, 'cli:alice');
    assert.equal((sink.events[0]!.data as { principal: string }).principal, 'svc-batch');
    const events = JSON.stringify(sink.events);
    assert.ok(!events.includes(secret) && !events.includes(row.hash) && !events.includes(other.key.slice(17)));
  });

  test(`${b.name}: revoked keys are refused after refresh; expired keys are refused as expired`, { skip: b.skip }, async () => {
    const store = await b.open();
    const sink = new MemorySink();
    let now = Date.now();
    const k = await createApiKey(store, sink, { name: 'r', principal: 'p1' });
    const e = await createApiKey(store, sink, { name: 'e', principal: 'p2', expiresAt: now + 60_000 });
    const auth = await ApiKeyAuthenticator.open(store, { now: () => now });
    assert.equal((await auth.authenticate({ 'x-api-key': k.key })).id, 'p1');
    assert.equal((await auth.authenticate({ 'x-api-key': e.key })).id, 'p2');

    const r = await revokeApiKey(store, sink, k.id, 'cli:bob');
    assert.equal(r.status, 'revoked');
    assert.equal(r.alreadyRevoked, false);
    // From memory until the next refresh, then refused.
    assert.equal((await auth.authenticate({ 'x-api-key': k.key })).id, 'p1');
    await auth.refresh();
    await rejectsWith(auth.authenticate({ 'x-api-key': k.key }), 'PERIM_E_AUTH_INVALID', /revoked/);
    const again = await revokeApiKey(store, sink, k.id, 'cli:bob');
    assert.equal(again.alreadyRevoked, true);
    assert.equal(again.revokedAt, r.revokedAt);
    assert.deepEqual(sink.events.map((x) => x.type), ['gateway.key.create', 'gateway.key.create', 'gateway.key.revoke']);
    assert.deepEqual(sink.events[2], { type: 'gateway.key.revoke', actor: 'cli:bob', subject: k.id, data: { name: 'r', principal: 'p1' }, at: r.revokedAt });

    now += 60_001;
    await rejectsWith(auth.authenticate({ 'x-api-key': e.key }), 'PERIM_E_AUTH_EXPIRED');
    // an expired key with a wrong secret says nothing about expiry
    await rejectsWith(auth.authenticate({ 'x-api-key': `prm_${e.id}_${k.key.slice(17)}` }), 'PERIM_E_AUTH_INVALID');

    await rejectsWith(revokeApiKey(store, sink, '000000000000'), 'PERIM_E_NOT_FOUND');
    await rejectsWith(revokeApiKey(store, sink, e.key), 'PERIM_E_USAGE', /not the key itself/);
    await rejectsWith(revokeApiKey(store, sink, 'nope'), 'PERIM_E_USAGE');

    // A row written behind our back with a broken hash is left out, not fatal.
    await store.db.insertInto('api_keys').values({ id: 'ffffffffffff', name: 'bad', principal: 'x', attributes: '{}', hash: 'zz', created_at: now, expires_at: null, revoked_at: null, created_by: 't' }).execute();
    const bad: string[] = [];
    const a2 = await ApiKeyAuthenticator.open(store, { onBadRow: (id) => bad.push(id) });
    assert.deepEqual(bad, ['ffffffffffff']);
    assert.equal(a2.size, 2);
  });
}
