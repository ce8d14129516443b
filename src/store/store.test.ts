/** The same store suite on both backends (SQLite file, real PostgreSQL). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { defaultDbPath, isPostgresUrl, openStore, resolveDbTarget } from './store.ts';
import { backends } from '../../test/stores.ts';

const now = Date.now();
const artifact = (digest: string, name = 'm') => ({
  digest, name, kind: 'base', format: 'safetensors', license: 'apache-2.0', parent_digest: null, predecessor_digest: null, path: '/m',
  bytes: 5_000_000_000, files: 3, signer_method: null, signer: null, signer_issuer: null, signature_verified: 0,
  scan_verdict: 'clean', scan_findings: 0, scan_summary: '{}', metadata: '{"a":1}', tier: null, created_at: now, updated_at: now,
});

for (const b of await backends()) {
  test(`${b.name}: migrations apply once and the schema round-trips values (bigints, JSON, nulls)`, { skip: b.skip }, async () => {
    const s = await b.open();
    await s.db.insertInto('artifacts').values(artifact('sha256:aa')).execute();
    const row = await s.db.selectFrom('artifacts').selectAll().where('digest', '=', 'sha256:aa').executeTakeFirstOrThrow();
    assert.equal(row.bytes, 5_000_000_000);
    assert.equal(typeof row.bytes, 'number');
    assert.equal(row.parent_digest, null);
    assert.deepEqual(JSON.parse(row.metadata), { a: 1 });
    const again = await openStore(s.kind === 'sqlite' ? s.location : b.target());
    await again.close();
  });

  test(`${b.name}: a root digest is unique; inserting it twice conflicts`, { skip: b.skip }, async () => {
    const s = await b.open();
    await s.db.insertInto('artifacts').values(artifact('sha256:bb')).execute();
    await assert.rejects(s.db.insertInto('artifacts').values(artifact('sha256:bb')).execute());
    await s.db.insertInto('artifacts').values(artifact('sha256:bb', 'renamed')).onConflict((oc) => oc.column('digest').doUpdateSet({ name: 'renamed' })).execute();
    const rows = await s.db.selectFrom('artifacts').select(['name']).execute();
    assert.deepEqual(rows.map((r) => r.name), ['renamed']);
  });

  test(`${b.name}: transactions roll back as a whole`, { skip: b.skip }, async () => {
    const s = await b.open();
    await assert.rejects(
      s.db.transaction().execute(async (trx) => {
        await trx.insertInto('artifacts').values(artifact('sha256:cc')).execute();
        throw new Error('abort');
      }),
      /abort/,
    );
    assert.equal((await s.db.selectFrom('artifacts').selectAll().execute()).length, 0);
  });

  test(`${b.name}: four processes inserting the same digests concurrently never double-insert`, { skip: b.skip }, async () => {
    const target = b.target();
    await (await openStore(target)).close(); // migrate once up front is not required, but keeps the race on inserts
    const script = `
      import { openStore } from ${JSON.stringify(new URL('./store.ts', import.meta.url).href)};
      const s = await openStore(process.argv[1]);
      for (let i = 0; i < 200; i++) {
        const now = Date.now();
        await s.db.insertInto('artifacts').values({ digest: 'sha256:' + i, name: 'p' + process.pid, kind: 'base', bytes: i, files: 1, created_at: now, updated_at: now, signature_verified: 0, scan_findings: 0, scan_summary: '{}', metadata: '{}' })
          .onConflict((oc) => oc.column('digest').doUpdateSet({ updated_at: now })).execute();
      }
      await s.close();`;
    const run = () => new Promise<number>((res) => spawn(process.execPath, ['--input-type=module', '-e', script, target], { stdio: 'inherit' }).on('exit', (c) => res(c ?? 1)));
    const codes = await Promise.all([run(), run(), run(), run()]);
    assert.deepEqual(codes, [0, 0, 0, 0]);
    const s = await openStore(target);
    const n = await s.db.selectFrom('artifacts').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    assert.equal(Number(n.n), 200);
    await s.close();
  });
}

test('the store target: --db, then PERIMETER_DB, then a per-user file', () => {
  assert.equal(resolveDbTarget('x.db', { PERIMETER_DB: 'y.db' }), 'x.db');
  assert.equal(resolveDbTarget(undefined, { PERIMETER_DB: 'postgres://h/db' }), 'postgres://h/db');
  assert.equal(defaultDbPath({ XDG_DATA_HOME: '/data' }), '/data/perimeter/perimeter.db');
  assert.match(resolveDbTarget(undefined, {}), /\.local\/share\/perimeter\/perimeter\.db$/);
  assert.ok(isPostgresUrl('postgresql://u@h/d') && !isPostgresUrl('/tmp/postgres.db'));
});

test('a store that cannot be opened is a coded error, with the password redacted', async () => {
  await assert.rejects(openStore('postgres://u:secret@127.0.0.1:1/none'), (e: any) => e.code === 'PERIM_E_STORE' && !e.message.includes('secret'));
});
