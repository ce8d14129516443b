/**
 * The inventory listing built by the databases (inventory-stream/-sqlite/-pg.ts) on both backends:
 * the document against one computed here from the rows inserted, across chunk boundaries, with
 * ties in registration time, live values, rows without a read model, escaping and UTF-8; the lean
 * path (its own connection) byte for byte against the store's; when the lean path steps aside; a
 * slow sink; and the copies of store.ts logic this path keeps (so it need not load kysely).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { backends, PG_URL } from '../../test/stores.ts';
import { tempDir } from '../../test/helpers.ts';
import { MIGRATIONS } from '../store/migrations.ts';
import { openPostgres } from '../store/postgres.ts';
import { defaultDbPath as storeDefault, isPostgresUrl as storeIsPg, openStore, resolveDbTarget as storeResolve, type Store } from '../store/store.ts';
import { inventory, writeInventoryJson, writeInventoryJsonBytes } from './inventory.ts';
import { clientConfig } from './inventory-pg.ts';
import { CHUNK_ROWS, KNOWN_MIGRATIONS, defaultDbPath, isPostgresUrl, resolveDbTarget, streamInventoryJson } from './inventory-stream.ts';
import { summaryJson } from './summary.ts';

const BACKENDS = await backends();
const digest = (i: number): string => `sha256:${createHash('sha256').update(`row ${i}`).digest('hex')}`;
const ENVS = ['prod', 'lab', 'qa "blue"\n'];

/**
 * n artifacts straight into the tables, with ties in created_at (three per millisecond), a tier on
 * every 7th (0 included), admissions on every 5th (the latest decision per environment counts),
 * no read model on every 997th, parents, a non-ASCII name and an environment that needs escaping.
 * Returns the artifacts as the listing must show them, in registration order.
 */
async function fill(store: Store, n: number, nameBytes = 0, missing = true): Promise<Record<string, unknown>[]> {
  const now = 1_700_000_000_000;
  const expected: (Record<string, unknown> & { createdAt: number; digest: string })[] = [];
  const admissions: { digest: string; env: string; allowed: number; reasons: string; decided_at: number }[] = [];
  for (let s = 0; s < n; s += 500) {
    const rows = [];
    for (let i = s; i < Math.min(n, s + 500); i++) {
      const parent = i % 4 === 1 ? digest(i - 1) : i % 11 === 3 ? 'name:org/pending' : null;
      const row = {
        digest: digest(i),
        name: `${i === 7 ? 'modèle-ü/日本' : `org/m-${i}`}${'x'.repeat(nameBytes)}`,
        kind: parent ? 'fine-tune' : 'base',
        format: i % 2 ? 'gguf' : null,
        license: i % 3 ? 'Apache-2.0' : null,
        parent_digest: parent,
        predecessor_digest: null,
        path: null,
        bytes: 1_000_000_000_000 + i,
        files: 1 + (i % 5),
        signer_method: i % 2 ? 'key' : null,
        signer: i % 2 ? 'ab'.repeat(32) : null,
        signer_issuer: null,
        signature_verified: 0,
        signature_status: i % 2 ? 'unverified' : 'none',
        signature_evidence: '{}',
        scan_verdict: 'clean',
        scan_findings: i % 3,
        scan_summary: '{}',
        metadata: '{}',
        training_flops: i % 2 ? 3.8e25 : null,
        tier: i % 7 === 0 ? i % 3 : null,
        created_at: now + Math.floor(i / 3),
        updated_at: now + i,
      };
      const parentName = parent === null ? null : parent.startsWith('name:') ? parent.slice(5) : `org/m-${i - 1}${'x'.repeat(nameBytes)}`;
      const json = summaryJson(row, parentName);
      rows.push({ ...row, inventory_json: missing && i % 997 === 5 ? null : json });
      const envs: string[] = [];
      if (i % 5 === 0) {
        const d = digest(i);
        admissions.push({ digest: d, env: 'prod', allowed: 1, reasons: '[]', decided_at: now });
        admissions.push({ digest: d, env: 'lab', allowed: i % 10 === 0 ? 1 : 0, reasons: '[]', decided_at: now });
        admissions.push({ digest: d, env: ENVS[2]!, allowed: 0, reasons: '[]', decided_at: now });
        admissions.push({ digest: d, env: ENVS[2]!, allowed: i % 15 === 0 ? 1 : 0, reasons: '[]', decided_at: now + 1 });
        admissions.push({ digest: d, env: 'prod', allowed: i % 20 === 0 ? 0 : 1, reasons: '[]', decided_at: now + 1 });
        for (const e of [...ENVS].sort()) if ((e === 'prod' && i % 20 !== 0) || (e === 'lab' && i % 10 === 0) || (e === ENVS[2] && i % 15 === 0)) envs.push(e);
      }
      expected.push({ ...JSON.parse(json), tier: row.tier, admittedEnvs: envs });
    }
    await store.db.insertInto('artifacts').values(rows).execute();
  }
  for (let s = 0; s < admissions.length; s += 500) await store.db.insertInto('admissions').values(admissions.slice(s, s + 500)).execute();
  const t = now;
  await store.db.insertInto('runtimes').values([{ name: 'rt-prod', kind: 'vllm', url: 'http://127.0.0.1:8000', env: 'prod', created_at: t, updated_at: t, last_sync_at: t, last_sync_error: null }]).execute();
  await store.db
    .insertInto('served_models')
    .values([
      { runtime: 'rt-prod', model_id: 'a', served_digest: null, artifact_digest: digest(5), source: 'binding', details: '{}', seen_at: t },
      { runtime: 'rt-prod', model_id: 'b', served_digest: null, artifact_digest: digest(20), source: 'binding', details: '{}', seen_at: t },
      { runtime: 'rt-gone', model_id: 'c', served_digest: 'sha256:00', artifact_digest: null, source: 'discovery', details: '{}', seen_at: t, finding: 'unknown_model' },
    ])
    .execute();
  // Registration order is (created_at, digest); digests are hex, so code-unit order is the databases' order.
  return expected.sort((a, b) => a.createdAt - b.createdAt || (a.digest < b.digest ? -1 : 1));
}

const countsOf = (c: { artifacts: number; runtimes: number } | undefined): { artifacts: number; runtimes: number } | undefined => c && { artifacts: c.artifacts, runtimes: c.runtimes };

const collect = async (fn: (sink: (c: Uint8Array) => void) => Promise<unknown>): Promise<Buffer> => {
  const parts: Uint8Array[] = [];
  await fn((c) => void parts.push(Buffer.from(c)));
  return Buffer.concat(parts);
};

for (const b of BACKENDS) {
  test(`${b.name}: the listing the database builds is the inventory, across chunks, with live values and rows lacking a read model`, { skip: b.skip }, async () => {
    const target = b.target();
    const store = await openStoreAt(target);
    const n = CHUNK_ROWS * 2 + 7;
    const expected = await fill(store, n);
    const lean = await collect((sink) => streamInventoryJson(target, sink, { ok: true }));
    const viaStore = await collect((sink) => writeInventoryJsonBytes(store, sink, { ok: true }));
    assert.ok(lean.equals(viaStore), 'the lean path and the store path print the same bytes');
    const text = lean.toString('utf8');
    assert.match(text, /^\{"ok":true,"artifacts":\[\n\{"digest":/);
    assert.equal(text.split('\n').length, n + 3, 'one artifact per line');
    const doc = JSON.parse(text);
    assert.equal(doc.artifacts.length, n);
    assert.deepEqual(doc.artifacts, expected);
    const raw = doc.artifacts.find((a: { digest: string }) => a.digest === digest(5));
    assert.deepEqual([raw.admittedEnvs, raw.parentName, raw.bytes], [['prod'], 'org/m-4', 1_000_000_000_005], 'a row without a read model, with live values');
    assert.deepEqual(doc.artifacts.find((a: { digest: string }) => a.digest === digest(7)).name, 'modèle-ü/日本');
    assert.deepEqual(
      doc.runtimes.map((r: { name: string; kind: string; serves: { modelId: string; status: string }[] }) => [r.name, r.kind, r.serves.map((s) => `${s.modelId}:${s.status}`)]),
      [
        ['rt-prod', 'vllm', ['a:admitted', 'b:registered, not admitted']],
        ['rt-gone', 'unknown', ['c:not in inventory']],
      ],
    );
    let asText = '';
    const counts = await writeInventoryJson(store, (c) => (asText += c), { ok: true });
    assert.equal(asText, text);
    assert.deepEqual(counts, { artifacts: n, runtimes: 2 });
    assert.deepEqual((await inventory(store)).artifacts, expected);
  });

  // On PostgreSQL through both readers: the lean wire reader, and node-postgres (which a PG*
  // variable selects; its parser hands over several chunks before the socket pauses).
  for (const [missing, reader] of b.name === 'postgres' ? ([[false, 'wire'], [true, 'wire'], [false, 'node-postgres'], [true, 'node-postgres']] as const) : ([[false, ''], [true, '']] as const)) {
    test(`${b.name}: a slow sink gets every chunk in order (rows without a read model: ${missing})${reader ? `, ${reader}` : ''}`, { skip: b.skip, timeout: 60_000 }, async (t) => {
      if (reader === 'node-postgres') {
        process.env.PGAPPNAME = 'perimeter-test';
        t.after(() => delete process.env.PGAPPNAME);
      }
      const target = b.target();
      const store = await openStoreAt(target);
      const n = CHUNK_ROWS * 6 + 5;
      const expected = await fill(store, n, 600, missing); // ~8 MB in 7 pieces: several queue up on PostgreSQL
      // Built from the rows, then (written back) sent as stored pages and tail.
      for (const stored of [0, 7]) {
        const parts: Buffer[] = [];
        const counts = await streamInventoryJson(target, async (c) => {
          parts.push(Buffer.from(c));
          // The first write stalls: on PostgreSQL the COPY queues pieces and pauses the socket, unless
          // a piece waits for the query that fills rows without a read model.
          await new Promise((r) => setTimeout(r, parts.length === 1 ? 300 : 1));
        });
        assert.deepEqual(countsOf(counts), { artifacts: n, runtimes: 2 });
        assert.equal(counts?.pages?.stored, stored);
        assert.ok(parts.length >= 7, `${parts.length} writes`);
        assert.deepEqual(JSON.parse(Buffer.concat(parts).toString('utf8')).artifacts, expected);
      }
    });
  }

  test(`${b.name}: a sink that fails stops the listing with a store error`, { skip: b.skip }, async () => {
    const target = b.target();
    const store = await openStoreAt(target);
    await fill(store, 2500, 4000, false);
    let calls = 0;
    await assert.rejects(
      streamInventoryJson(target, () => {
        if (++calls === 3) throw new Error('disk full');
      }),
      (e: Error & { code?: string }) => e.code === 'PERIM_E_STORE' && /disk full/.test(e.message),
    );
    assert.equal(calls, 3, 'nothing written after the failure');
    // the store is still usable (no lock or transaction left behind)
    assert.deepEqual(countsOf(await streamInventoryJson(target, () => {})), { artifacts: 2500, runtimes: 2 });
  });

  test(`${b.name}: admitted environments reach exactly their rows, whatever the digest looks like`, { skip: b.skip }, async () => {
    const target = b.target();
    const store = await openStoreAt(target);
    const admittedHex = `sha256:${'ab12cd34'}${'0'.repeat(56)}`;
    const twin = `sha256:${'ab12cd34'}${'f'.repeat(56)}`; // the same first 8 hex digits, not admitted
    const odd = 'blake3:"odd"\\digest'; // escaped in JSON text
    const now = 1_700_000_000_000;
    const rows = [admittedHex, twin, odd].map((digest, i) => {
      const row = { digest, name: `n${i}`, kind: 'base', format: null, license: null, parent_digest: null, predecessor_digest: null, path: null, bytes: 1, files: 1, signer_method: null, signer: null, signer_issuer: null, signature_verified: 0, signature_status: 'none', signature_evidence: '{}', scan_verdict: null, scan_findings: 0, scan_summary: '{}', metadata: '{}', training_flops: null, tier: null, created_at: now + i, updated_at: now };
      return { ...row, inventory_json: summaryJson(row, null) };
    });
    await store.db.insertInto('artifacts').values(rows).execute();
    await store.db
      .insertInto('admissions')
      .values([admittedHex, odd].map((digest) => ({ digest, env: 'prod', allowed: 1, reasons: '[]', decided_at: now })))
      .execute();
    for (const text of [await collect((sink) => streamInventoryJson(target, sink)), await collect((sink) => writeInventoryJsonBytes(store, sink))]) {
      const envs = Object.fromEntries(JSON.parse(text.toString('utf8')).artifacts.map((a: { digest: string; admittedEnvs: string[] }) => [a.digest, a.admittedEnvs]));
      assert.deepEqual(envs, { [admittedHex]: ['prod'], [twin]: [], [odd]: ['prod'] });
    }
  });
}

/** A store at a target the test also gives the lean path. */
async function openStoreAt(target: string): Promise<Store> {
  const store = await openStore(target);
  stores.push(store);
  return store;
}
const stores: Store[] = [];
after(async () => {
  await Promise.all(stores.map((s) => s.close()));
});

test('sqlite: the lean path steps aside for a missing file or a schema that is not current', async () => {
  const missing = join(tempDir(), 'none.db');
  assert.equal(await streamInventoryJson(missing, () => {}), undefined);
  assert.equal(existsSync(missing), false, 'and creates nothing');
  const target = join(tempDir(), 'newer.db');
  const store = await openStoreAt(target);
  assert.deepEqual(countsOf(await streamInventoryJson(target, () => {})), { artifacts: 0, runtimes: 0 });
  await store.db.insertInto('perimeter_migrations' as never).values({ name: '9999_future', applied_at: 0 } as never).execute();
  let wrote = false;
  assert.equal(await streamInventoryJson(target, () => void (wrote = true)), undefined);
  assert.equal(wrote, false);
});

test('postgres: the lean path steps aside for a schema without tables', { skip: BACKENDS[1]!.skip }, async () => {
  const empty = `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}schema=perim_t_absent_${Date.now().toString(36)}`;
  assert.equal(await streamInventoryJson(empty, () => {}), undefined);
});

test('the copies of store logic the lean path keeps agree with the store', async () => {
  assert.deepEqual(KNOWN_MIGRATIONS, Object.keys(MIGRATIONS).sort(), 'add the new migration to KNOWN_MIGRATIONS in inventory-stream.ts');
  for (const env of [{}, { XDG_DATA_HOME: '/x/data' }, { XDG_DATA_HOME: 'relative' }, { PERIMETER_DB: '/tmp/p.db' }, { PERIMETER_DB: 'postgres://h/db' }]) {
    assert.equal(defaultDbPath(env), storeDefault(env));
    assert.equal(resolveDbTarget(undefined, env), storeResolve(undefined, env));
    assert.equal(resolveDbTarget('flag.db', env), storeResolve('flag.db', env));
  }
  for (const t of ['postgres://h/d', 'postgresql://h/d', 'file.db', '/abs/postgres://x']) assert.equal(isPostgresUrl(t), storeIsPg(t));
  for (const url of ['postgres://u:p@127.0.0.1:5432/db?schema=perim_x&sslmode=disable', 'postgres://127.0.0.1/db']) {
    const { pool } = openPostgres(url);
    const want = pool.options as pg.PoolConfig;
    await pool.end();
    const got = clientConfig(url);
    assert.deepEqual([got.connectionString, got.options], [want.connectionString, want.options]);
  }
  assert.throws(() => clientConfig('postgres://h/db?schema=Bad-Name'), /invalid schema name/);
});
