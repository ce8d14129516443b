/** perimeter keys create|list|revoke as a user runs them: the real launcher, a real store, the audit log. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { backends } from '../../../test/stores.ts';
import { tempDir } from '../../../test/helpers.ts';
import { openStore } from '../../store/store.ts';
import { parseExpiry } from '../../cli/commands/keys.ts';
import { ApiKeyAuthenticator } from './apikey-authenticator.ts';

const BACKENDS = await backends();
const BIN = new URL('../../../bin/perimeter.js', import.meta.url).pathname;
const ENV = { XDG_DATA_HOME: tempDir('perimeter-xdg-'), NODE_COMPILE_CACHE: tempDir('perimeter-ncc-'), NO_COLOR: '1', PERIMETER_AUDIT_KEY: '', PERIMETER_CONFIG: '' };

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, ...ENV } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('--expires: relative units and ISO dates, never the past', () => {
  const now = Date.UTC(2026, 0, 1);
  assert.equal(parseExpiry('30d', now), now + 30 * 86_400_000);
  assert.equal(parseExpiry('12h', now), now + 12 * 3_600_000);
  assert.equal(parseExpiry('2027-01-31', now), Date.UTC(2027, 0, 31));
  assert.equal(parseExpiry('2026-06-01T12:00:00Z', now), Date.UTC(2026, 5, 1, 12));
  for (const bad of ['0d', '30', 'd', '1y', '2025-12-31', '2026-13-45', 'tomorrow', '-3d']) {
    assert.throws(() => parseExpiry(bad, now), /--expires/, bad);
  }
});

for (const b of BACKENDS) {
  test(`${b.name}: perimeter keys create, list, revoke`, { skip: b.skip }, async () => {
    const target = b.target();
    const db = ['--db', target];

    const made = cli(['keys', 'create', 'batch-jobs', '--principal', 'svc-batch', '--org', 'acme', '--group', 'ml', '--group', 'eng', '--verified', '--attestation', 'aup-2026', '--expires', '30d', '--json', ...db]);
    assert.equal(made.code, 0, made.stderr);
    const j = JSON.parse(made.stdout);
    assert.equal(j.ok, true);
    assert.match(j.key, /^prm_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    assert.equal(j.key.slice(4, 16), j.id);
    assert.deepEqual(j.groups, ['eng', 'ml']);
    assert.equal(j.verified, true);
    assert.ok(j.expiresAt > Date.now() + 29 * 86_400_000 && j.expiresAt < Date.now() + 31 * 86_400_000);
    assert.match(j.warning, /cannot be shown again/);

    const text = cli(['keys', 'create', 'other', '--principal', 'svc-other', ...db]);
    assert.equal(text.code, 0, text.stderr);
    const otherKey = /(prm_[0-9a-f]{12}_[A-Za-z0-9_-]{43})/.exec(text.stdout)?.[1];
    assert.ok(otherKey, text.stdout);
    assert.match(text.stdout, /cannot be shown again/);

    const bad = cli(['keys', 'create', 'x', '--principal', 'p', '--expires', '2001-01-01', '--json', ...db]);
    assert.equal(bad.code, 2);
    assert.equal(JSON.parse(bad.stdout).error.code, 'PERIM_E_USAGE');
    assert.equal(cli(['keys', 'create', 'x', ...db]).code, 2, '--principal is required');

    const listed = cli(['keys', 'list', '--json', ...db]);
    assert.equal(listed.code, 0, listed.stderr);
    const lj = JSON.parse(listed.stdout);
    assert.deepEqual(lj.keys.map((k: { name: string }) => k.name).sort(), ['batch-jobs', 'other']);
    for (const secret of [j.key.slice(17), otherKey.slice(17)]) assert.ok(!listed.stdout.includes(secret));
    assert.ok(lj.keys.every((k: object) => !('hash' in k) && !('key' in k)));

    // The keys work against the store the CLI wrote.
    const store = await openStore(target);
    try {
      const auth = await ApiKeyAuthenticator.open(store);
      assert.equal((await auth.authenticate({ 'x-api-key': j.key })).org, 'acme');

      const rev = cli(['keys', 'revoke', j.id, '--json', ...db]);
      assert.equal(rev.code, 0, rev.stderr);
      assert.equal(JSON.parse(rev.stdout).alreadyRevoked, false);
      await auth.refresh();
      await assert.rejects(auth.authenticate({ 'x-api-key': j.key }), /revoked/);
      assert.equal((await auth.authenticate({ 'x-api-key': otherKey })).id, 'svc-other');

      const again = cli(['keys', 'revoke', j.id, ...db]);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /already revoked/);
      const missing = cli(['keys', 'revoke', '0123456789ab', '--json', ...db]);
      assert.equal(missing.code, 2);
      assert.equal(JSON.parse(missing.stdout).error.code, 'PERIM_E_NOT_FOUND');

      // Every change is in the audit log, and no entry holds a secret or a hash.
      const entries = await store.db.selectFrom('audit_entries').select(['type', 'entry']).orderBy('idx').execute();
      assert.deepEqual(entries.map((e) => e.type), ['gateway.key.create', 'gateway.key.create', 'gateway.key.revoke']);
      const hashes = (await store.db.selectFrom('api_keys').select('hash').execute()).map((r) => r.hash);
      const all = entries.map((e) => e.entry).join('\n');
      for (const s of [j.key.slice(17), otherKey.slice(17), ...hashes]) assert.ok(!all.includes(s));
      assert.match(entries[2]!.entry, new RegExp(j.id));
    } finally {
      await store.close();
    }

    if (b.name === 'sqlite') {
      const table = cli(['keys', 'list', ...db]);
      assert.equal(table.code, 0, table.stderr);
      assert.match(table.stdout, /^2 key\(s\)\nID\s+NAME\s+PRINCIPAL\s+ORG\s+GROUPS\s+VERIFIED\s+EXPIRES\s+STATUS\n/);
      assert.match(table.stdout, new RegExp(`${j.id}\\s+batch-jobs\\s+svc-batch\\s+acme\\s+eng,ml\\s+yes\\s+\\d{4}-\\d\\d-\\d\\dT\\S+Z\\s+revoked`));
      assert.match(table.stdout, /svc-other\s+-\s+-\s+no\s+never\s+active/);
    }
  });
}
