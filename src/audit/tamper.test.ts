/**
 * Tampering done directly with SQL, on SQLite and PostgreSQL: each case must fail `verifyStore`
 * and name the first bad index (exactly, with the MAC key the CLI uses on the log's host; with only
 * the public key, the first index the broken checkpoint no longer vouches for).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { sql } from 'kysely';
import { tempDir } from '../../test/helpers.ts';
import { backends } from '../../test/stores.ts';
import { canonicalJson } from './canonical.ts';
import { auditFiles, createKey, readKey } from './keys.ts';
import { AuditLog } from './log.ts';
import { verifyStore } from './verify.ts';
import { Frontier, hashLeaf, nodeId } from './tree.ts';
import { appendMany, closeTestStores, openTestLog, type TestLog } from './test-audit.ts';

after(closeTestStores);

const BAD = 12;

/** 45 entries in batches of 8, checkpoints at 20 and 40. */
async function setup(b: Parameters<typeof openTestLog>[0]): Promise<TestLog> {
  const t = await openTestLog(b, { maxBatch: 8 });
  await appendMany(t.log, 20);
  await t.log.checkpoint();
  await appendMany(t.log, 20, 20);
  await t.log.checkpoint();
  await appendMany(t.log, 5, 40);
  await t.log.close();
  return t;
}

async function verify(t: TestLog, withMac = true) {
  const key = readKey(t.keyPath)!;
  return verifyStore(t.store, { key: key.key, mac: withMac ? key.mac : undefined, checkpointFile: auditFiles(t.keyPath).checkpoint });
}

async function expectBad(t: TestLog, index: number, kinds: { mac: string; publicOnly: [number | null, string] }): Promise<void> {
  const r = await verify(t);
  assert.equal(r.ok, false, 'verify with the MAC key must fail');
  assert.equal(r.problem!.index, index, r.problem!.message);
  assert.equal(r.problem!.kind, kinds.mac, r.problem!.message);
  const p = await verify(t, false);
  assert.equal(p.ok, false, 'verify with only the public key must fail');
  assert.deepEqual([p.problem!.index, p.problem!.kind], kinds.publicOnly, p.problem!.message);
}

/** What an attacker who knows the format does: recompute every stored subtree hash from the leaves. */
async function rebuildNodes(t: TestLog): Promise<void> {
  const rows = await t.store.db.selectFrom('audit_entries').select(['leaf_hash']).orderBy('idx').execute();
  const f = new Frontier();
  await sql`delete from audit_nodes`.execute(t.store.db);
  const nodes: { id: number; hash: string }[] = [];
  for (const r of rows) f.append(Buffer.from(r.leaf_hash, 'hex'), (l, s, h) => nodes.push({ id: nodeId(l, s), hash: h.toString('hex') }));
  await t.store.db.insertInto('audit_nodes').values(nodes).execute();
}

const forged = (i: number): string => canonicalJson({ v: 1, type: 'test.event', actor: 'mallory', at: 1, data: { i } });

for (const b of await backends()) {
  const name = (s: string): string => `${b.name}: ${s}`;

  test(name('an honest log verifies, with and without the MAC key'), { skip: b.skip }, async () => {
    const t = await setup(b);
    const r = await verify(t);
    assert.ok(r.ok, JSON.stringify(r.problem));
    assert.deepEqual([r.entries, r.checkpoints, r.outside, r.covered], [45, 2, 40, 40]);
    assert.ok((await verify(t, false)).ok);
  });

  test(name('edit: changing an entry names its index'), { skip: b.skip }, async () => {
    const t = await setup(b);
    await sql`update audit_entries set entry = ${forged(BAD)} where idx = ${BAD}`.execute(t.store.db);
    await expectBad(t, BAD, { mac: 'leaf', publicOnly: [BAD, 'leaf'] });
  });

  test(name('edit with the leaf hash recomputed: the MAC names the index; the checkpoint catches it without'), { skip: b.skip }, async () => {
    const t = await setup(b);
    const e = forged(BAD);
    await sql`update audit_entries set entry = ${e}, leaf_hash = ${hashLeaf(Buffer.from(e)).toString('hex')} where idx = ${BAD}`.execute(t.store.db);
    await expectBad(t, BAD, { mac: 'mac', publicOnly: [BAD, 'node'] });
    // Rewriting the stored tree hashes too leaves only the checkpoint to catch it without the MAC key.
    await rebuildNodes(t);
    await expectBad(t, BAD, { mac: 'mac', publicOnly: [0, 'checkpoint'] });
  });

  test(name('delete: removing an entry names its index'), { skip: b.skip }, async () => {
    const t = await setup(b);
    await sql`delete from audit_entries where idx = ${BAD}`.execute(t.store.db);
    await expectBad(t, BAD, { mac: 'missing', publicOnly: [BAD, 'missing'] });
  });

  test(name('delete at the end and renumber nothing: the head and the checkpoints notice'), { skip: b.skip }, async () => {
    const t = await setup(b);
    await sql`delete from audit_entries where idx >= 30`.execute(t.store.db);
    await expectBad(t, 30, { mac: 'rollback', publicOnly: [30, 'rollback'] });
  });

  test(name('insert: shifting later entries up and slipping one in names its index'), { skip: b.skip }, async () => {
    const t = await setup(b);
    const db = t.store.db;
    await sql`update audit_entries set idx = -idx - 1000 where idx >= ${BAD}`.execute(db);
    await sql`update audit_entries set idx = -idx - 1000 + 1 where idx < 0`.execute(db);
    const e = forged(BAD);
    const mac = (await sql<{ mac: string }>`select mac from audit_entries where idx = ${BAD + 1}`.execute(db)).rows[0]!.mac;
    await sql`insert into audit_entries (idx, at, type, entry, leaf_hash, mac) values (${BAD}, 1, 'test.event', ${e}, ${hashLeaf(Buffer.from(e)).toString('hex')}, ${mac})`.execute(db);
    await expectBad(t, BAD, { mac: 'mac', publicOnly: [BAD, 'node'] });
  });

  test(name('reorder: swapping two entries names the first'), { skip: b.skip }, async () => {
    const t = await setup(b);
    const db = t.store.db;
    await sql`update audit_entries set idx = -1 where idx = ${BAD}`.execute(db);
    await sql`update audit_entries set idx = ${BAD} where idx = ${BAD + 1}`.execute(db);
    await sql`update audit_entries set idx = ${BAD + 1} where idx = -1`.execute(db);
    await expectBad(t, BAD, { mac: 'mac', publicOnly: [BAD, 'node'] });
  });

  test(name('reorder after the latest checkpoint: the MAC still names it'), { skip: b.skip }, async () => {
    const t = await setup(b);
    const db = t.store.db;
    await sql`update audit_entries set idx = -1 where idx = 41`.execute(db);
    await sql`update audit_entries set idx = 41 where idx = 42`.execute(db);
    await sql`update audit_entries set idx = 42 where idx = -1`.execute(db);
    const r = await verify(t);
    assert.deepEqual([r.ok, r.problem?.index, r.problem?.kind], [false, 41, 'mac']);
  });

  test(name('rollback: the whole database put back behind the latest checkpoint is caught by the checkpoint kept outside it'), { skip: b.skip }, async () => {
    const t = await openTestLog(b, { maxBatch: 8 });
    const db = t.store.db;
    await appendMany(t.log, 20);
    await t.log.checkpoint();
    const saved = (await sql<{ size: number; frontier: string; mac: string }>`select size, frontier, mac from audit_head where id = 1`.execute(db)).rows[0]!;
    await appendMany(t.log, 20, 20);
    await t.log.checkpoint();
    await t.log.close();
    // Every table back to its state at 20 entries: internally consistent, MACs and all.
    await sql`delete from audit_entries where idx >= 20`.execute(db);
    await sql`delete from audit_nodes where id >= ${20 * 64}`.execute(db);
    await sql`delete from audit_checkpoints where size > 20`.execute(db);
    await sql`update audit_head set size = ${saved.size}, frontier = ${saved.frontier}, mac = ${saved.mac} where id = 1`.execute(db);
    const r = await verify(t);
    assert.deepEqual([r.ok, r.problem?.index, r.problem?.kind], [false, 20, 'rollback'], JSON.stringify(r.problem));
    assert.match(r.problem!.message, /rolled back/);
    await assert.rejects(AuditLog.open(t.store, { keyPath: t.keyPath }), { code: 'PERIM_E_AUDIT_TAMPERED', message: /rolled back/ });
    // Without the file, the database alone looks fine: that is why the file exists.
    const key = readKey(t.keyPath)!;
    assert.ok((await verifyStore(t.store, { key: key.key, mac: key.mac })).ok);
  });

  test(name('forged checkpoints, changed tree hashes and a changed head are caught'), { skip: b.skip }, async () => {
    const t = await setup(b);
    const db = t.store.db;
    const note = (await sql<{ note: string }>`select note from audit_checkpoints where size = 20`.execute(db)).rows[0]!.note;
    const lines = note.split('\n');
    lines[2] = Buffer.alloc(32, 7).toString('base64');
    await sql`update audit_checkpoints set note = ${lines.join('\n')} where size = 20`.execute(db);
    let r = await verify(t);
    assert.deepEqual([r.ok, r.problem?.kind, r.problem?.checkpoint], [false, 'signature', 20]);
    await sql`update audit_checkpoints set note = ${note} where size = 20`.execute(db);
    await sql`update audit_nodes set hash = ${'0'.repeat(64)} where id = ${(15 * 64) + 2}`.execute(db);
    r = await verify(t);
    assert.deepEqual([r.ok, r.problem?.kind, r.problem?.index], [false, 'node', 12]);
  });

  test(name('a different key for the same log refuses to start'), { skip: b.skip }, async () => {
    const t = await setup(b);
    const other = join(tempDir(), 'other.key');
    createKey(other);
    await assert.rejects(AuditLog.open(t.store, { keyPath: other }), { code: 'PERIM_E_AUDIT_KEY' });
  });
}
