/** The audit log on both backends: group commit, checkpoints, proofs, verify, export, keys. */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../test/helpers.ts';
import { backends } from '../../test/stores.ts';
import { AuditLog } from './log.ts';
import { auditFiles, readKey } from './keys.ts';
import { openCheckpoint } from './note.ts';
import { verifyConsistency, verifyInclusion } from './proofs.ts';
import { exportLog } from './export.ts';
import { verifyExportLines } from './export-verify.ts';
import { verifyStore } from './verify.ts';
import { contentDigest } from './privacy.ts';
import { appendMany, closeTestStores, event, openTestLog } from './test-audit.ts';

after(closeTestStores);

for (const b of await backends()) {
  test(`${b.name}: append resolves at durability with gap-free indexes in hand-in order; submit, record and flush; batches group entries`, { skip: b.skip }, async () => {
    const { log, store } = await openTestLog(b, { maxDelayMs: 5, maxBatch: 16 });
    const indexes = await appendMany(log, 300);
    // Two batches are in flight at once, yet indexes follow the order the entries were handed in.
    assert.deepEqual(indexes, Array.from({ length: 300 }, (_, i) => i));
    assert.ok(log.stats.batches <= 30, `300 concurrent appends took ${log.stats.batches} transactions`);
    for (let i = 0; i < 20; i++) log.submit(event(1000 + i));
    await log.record(event(2000));
    await log.flush();
    assert.equal(log.pending, 0);
    const rows = await store.db.selectFrom('audit_entries').select(['idx']).orderBy('idx').execute();
    assert.deepEqual(rows.map((r) => Number(r.idx)), Array.from({ length: 321 }, (_, i) => i));
    await log.close();
    await assert.rejects(log.append(event(1)), { code: 'PERIM_E_AUDIT_CLOSED' });
  });

  test(`${b.name}: a steady stream of submits shares a commit per window; flush does not wait for the window`, { skip: b.skip }, async () => {
    const { log } = await openTestLog(b, { maxDelayMs: 600 });
    for (let i = 0; i < 40; i++) {
      log.submit(event(i));
      await new Promise((r) => setTimeout(r, 2));
    }
    await log.flush();
    // Sent as entries arrived (the old policy) this would be one commit per entry or two.
    assert.ok(log.stats.batches <= 3, `40 entries over ~100 ms in a 600 ms window took ${log.stats.batches} commits`);
    const slow = await openTestLog(b, { maxDelayMs: 10_000 });
    const t0 = performance.now();
    slow.log.submit(event(1));
    await slow.log.flush();
    assert.ok(performance.now() - t0 < 5_000, 'flush sends at once');
    assert.equal(slow.log.stats.entries, 1);
    await Promise.all([log.close(), slow.log.close()]);
  });

  test(`${b.name}: checkpoints are signed notes, stored, kept beside the key, and made on an interval`, { skip: b.skip }, async () => {
    const { log, store, keyPath } = await openTestLog(b);
    await appendMany(log, 5);
    const cp = await log.checkpoint();
    assert.equal(cp.size, 5);
    assert.match(cp.text, new RegExp(`^${log.origin.replace(/[.]/g, '\\.')}\\n5\\n[A-Za-z0-9+/]{43}=\\n\\n\u2014 ${log.origin.replace(/[.]/g, '\\.')} [A-Za-z0-9+/]+=*\\n$`));
    assert.equal((await log.checkpoint()).text, cp.text, 'no new checkpoint when nothing changed');
    assert.equal(readFileSync(auditFiles(keyPath).checkpoint, 'utf8'), cp.text);
    assert.equal(readFileSync(auditFiles(keyPath).pub, 'utf8').trim(), log.verifierKey.vkey);
    assert.equal(statSync(keyPath).mode & 0o777, 0o600);
    const stop = log.startCheckpointing(20);
    await appendMany(log, 3, 5);
    for (let i = 0; i < 100 && (await log.latestCheckpoint())!.size < 8; i++) await new Promise((r) => setTimeout(r, 20));
    stop();
    assert.equal((await log.latestCheckpoint())!.size, 8);
    const n = await store.db.selectFrom('audit_checkpoints').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    assert.equal(Number(n.n), 2);
    await log.close();
  });

  test(`${b.name}: inclusion proofs for every entry and consistency proofs between checkpoints verify with the public key only`, { skip: b.skip }, async () => {
    const { log } = await openTestLog(b, { maxBatch: 7 });
    await appendMany(log, 37);
    const first = await log.checkpoint();
    await appendMany(log, 40, 37);
    const second = await log.checkpoint();
    const vkey = log.verifierKey;
    const c1 = openCheckpoint(first.text, vkey);
    const c2 = openCheckpoint(second.text, vkey);
    for (let i = 0; i < 77; i++) {
      const p = await log.proveInclusion(i);
      assert.equal(p.treeSize, 77);
      verifyInclusion(p, c2.root);
      if (i < 37) verifyInclusion(await log.proveInclusion(i, 37), c1.root);
    }
    const bad = await log.proveInclusion(3);
    assert.throws(() => verifyInclusion({ ...bad, leafHash: flipHex(bad.leafHash) }, c2.root), { code: 'PERIM_E_AUDIT_PROOF' });
    verifyConsistency(await log.proveConsistency(37, 77), c1.root, c2.root);
    for (const from of [1, 2, 8, 16, 33, 64, 76]) await log.proveConsistency(from, 77);
    assert.throws(() => verifyConsistency({ from: 37, to: 77, hashes: [] }, c1.root, c2.root), { code: 'PERIM_E_AUDIT_PROOF' });
    await assert.rejects(log.proveInclusion(77, 78), { code: 'PERIM_E_NOT_FOUND' });
    await log.close();
  });

  test(`${b.name}: verify passes on an honest log; an export verifies offline and from a later start`, { skip: b.skip }, async () => {
    const { log, store, keyPath } = await openTestLog(b, { maxBatch: 10 });
    await appendMany(log, 25);
    await log.checkpoint();
    await appendMany(log, 30, 25);
    await log.checkpoint();
    const key = readKey(keyPath)!;
    const report = await verifyStore(store, { key: key.key, mac: key.mac, checkpointFile: auditFiles(keyPath).checkpoint, pageSize: 7 });
    assert.deepEqual(report, { ok: true, from: 0, entries: 55, checkpoints: 2, outside: 55, latest: report.latest, macsChecked: true, covered: 55 });
    assert.equal(report.latest!.size, 55);
    const lines: string[] = [];
    const res = await exportLog(store, { key: log.verifierKey, write: (l) => void lines.push(l), pageSize: 9 });
    assert.deepEqual([res.from, res.to, res.entries], [0, 55, 55]);
    assert.equal(lines.length, 1 + 2 + 55);
    const entry = JSON.parse(lines[3]!);
    assert.deepEqual(Object.keys(entry), ['kind', 'index', 'time', 'leafHash', 'event']);
    assert.equal(entry.time, new Date(1_700_000_000_000).toISOString());
    assert.ok((await verifyExportLines(lines, log.verifierKey)).ok);
    const later: string[] = [];
    const part = await exportLog(store, { key: log.verifierKey, since: 1_700_000_000_000 + 30, write: (l) => void later.push(l) });
    assert.deepEqual([part.from, part.to], [30, 55]);
    const r = await verifyExportLines(later, log.verifierKey);
    assert.ok(r.ok, JSON.stringify(r.problem));
    assert.equal(r.entries, 25);
    await log.close();
  });
}

function flipHex(hex: string): string {
  return (hex[0] === '0' ? '1' : '0') + hex.slice(1);
}

const sqlite = (await backends())[0]!;

test('sqlite without the writer thread: the same log through the store connection', async () => {
  const { log, store, keyPath } = await openTestLog(sqlite, { sqliteWorker: false, maxBatch: 16 });
  assert.deepEqual((await appendMany(log, 100)).sort((x, y) => x - y), Array.from({ length: 100 }, (_, i) => i));
  await log.checkpoint();
  await log.close();
  const key = readKey(keyPath)!;
  assert.ok((await verifyStore(store, { key: key.key, mac: key.mac })).ok);
});

test('privacy: prompts and completions are stored as digests unless content is kept', async () => {
  const { log, store } = await openTestLog(sqlite);
  const messages = [{ role: 'user', content: 'secret question' }];
  await log.append({ type: 'gateway.request', data: { model: 'm', prompt: 'secret prompt', nested: { Completion: 'secret answer', messages }, output: null } });
  const row = await store.db.selectFrom('audit_entries').select('entry').executeTakeFirstOrThrow();
  assert.ok(!row.entry.includes('secret'));
  const data = JSON.parse(row.entry).data;
  assert.equal(data.prompt, contentDigest('secret prompt'));
  assert.equal(data.nested.Completion, contentDigest('secret answer'));
  assert.equal(data.nested.messages, contentDigest(messages));
  assert.equal(data.output, null);
  await log.close();
  const kept = await AuditLog.open(store, { keyPath: log.files.key, keepContent: true });
  await kept.append({ type: 'gateway.request', data: { prompt: 'kept prompt' } });
  const rows = await store.db.selectFrom('audit_entries').select('entry').orderBy('idx').execute();
  assert.equal(JSON.parse(rows[1]!.entry).data.prompt, 'kept prompt');
  await kept.close();
});

test('keys: owner-only; a missing key for a non-empty log, another key, or a readable key file refuse to start', async () => {
  const { log, store, keyPath } = await openTestLog(sqlite);
  await appendMany(log, 3);
  await log.checkpoint();
  await log.close();
  await assert.rejects(AuditLog.open(store, { keyPath: join(tempDir(), 'other.key') }), { code: 'PERIM_E_AUDIT_KEY' });
  chmodSync(keyPath, 0o644);
  await assert.rejects(AuditLog.open(store, { keyPath }), { code: 'PERIM_E_AUDIT_KEY', message: /chmod 600/ });
  chmodSync(keyPath, 0o600);
  const again = await AuditLog.open(store, { keyPath });
  assert.equal((await again.append(event(9))).index, 3);
  await again.close();
  assert.throws(() => again.submit(event(1)), { code: 'PERIM_E_AUDIT_CLOSED' });
  const fresh = await openTestLog(sqlite);
  assert.throws(() => fresh.log.submit({ type: '', data: {} }), { code: 'PERIM_E_AUDIT_EVENT' });
  assert.throws(() => fresh.log.submit({ type: 't', data: { x: Number.NaN } }), { code: 'PERIM_E_AUDIT_EVENT' });
  await fresh.log.close();
});
