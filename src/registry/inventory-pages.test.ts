/**
 * The paged inventory listing (inventory-pages.ts) on both backends: after any mix of writes (new
 * rows in the tail and inside old pages, ties, tiers, admission decisions, deletions, rows losing
 * their read model), the paged listing prints exactly what a listing built wholly from the rows
 * prints; a write-back whose snapshot is stale writes nothing; pages once written are served as
 * stored; on PostgreSQL a writer's open transaction makes a write-back give up at once; both codecs.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import { backends } from '../../test/stores.ts';
import { openStore, type Store } from '../store/store.ts';
import { writeInventoryJsonBytes } from './inventory.ts';
import { pgReader } from '../store/pg-reader.ts';
import { connectWire } from '../store/pg-wire.ts';
import { clientConfig, listPostgres, writeBackPg } from './inventory-pg.ts';
import { pagesToCheck, writeBackPlan, type Codec, type PageWrite, type PageWrites, type PagedCounts, type WriteBack } from './inventory-pages.ts';
import { listSqlite, writeBackSqlite } from './inventory-sqlite.ts';
import { CHUNK_ROWS } from './inventory-stream.ts';
import { summaryJson } from './summary.ts';

const BACKENDS = await backends();
const T0 = 1_700_000_000_000;
const digest = (i: number): string => `sha256:${createHash('sha256').update(`page row ${i}`).digest('hex')}`;

function row(i: number, createdAt: number) {
  const r = {
    digest: digest(i),
    name: `org/p-${i}`,
    kind: 'base',
    format: 'gguf',
    license: 'Apache-2.0',
    parent_digest: null,
    predecessor_digest: null,
    path: null,
    bytes: i,
    files: 1,
    signer_method: null,
    signer: null,
    signer_issuer: null,
    signature_verified: 0,
    signature_status: 'none',
    signature_evidence: '{}',
    scan_verdict: 'clean',
    scan_findings: 0,
    scan_summary: '{}',
    metadata: '{}',
    training_flops: null,
    tier: null,
    created_at: createdAt,
    updated_at: createdAt,
  };
  return { ...r, inventory_json: summaryJson(r, null) };
}

/** A paged listing on a connection of its own, its write-back done separately. */
interface Lister {
  list(): Promise<{ text: Buffer; counts: PagedCounts }>;
  writeBack(w: PageWrites, codec?: Codec): Promise<WriteBack>;
  close(): Promise<void>;
}

async function lister(kind: string, target: string): Promise<Lister> {
  const parts: Buffer[] = [];
  const sink = (c: Uint8Array): void => void parts.push(Buffer.from(c));
  const take = (): Buffer => Buffer.concat(parts.splice(0));
  if (kind === 'sqlite') {
    const db = new DatabaseSync(target, { timeout: 10_000 });
    return {
      list: async () => ({ counts: await listSqlite(db, sink, {}, true, false), text: take() }),
      writeBack: async (w, codec) => writeBackSqlite(db, w, codec),
      close: async () => db.close(),
    };
  }
  // Listings alternate between the lean wire reader (what the command uses) and node-postgres
  // (for URLs the wire reader does not serve); write-back is node-postgres's.
  const client = new pg.Client(clientConfig(target));
  await client.connect();
  const wire = (await connectWire(target))!;
  let n = 0;
  return {
    list: async () => ({ counts: await listPostgres(n++ % 2 ? pgReader(client) : wire, sink, {}), text: take() }),
    writeBack: (w, codec) => writeBackPg(client, w, codec),
    close: async () => {
      wire.end();
      await client.end();
    },
  };
}

const oracle = async (store: Store): Promise<Buffer> => {
  const parts: Buffer[] = [];
  await writeInventoryJsonBytes(store, (c) => void parts.push(Buffer.from(c)));
  return Buffer.concat(parts);
};

/** A small deterministic generator (mulberry32). */
const random = (seed: number): (() => number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

const stores: Store[] = [];
const listers: Lister[] = [];
after(async () => {
  await Promise.all(listers.map((l) => l.close()));
  await Promise.all(stores.map((s) => s.close()));
});

for (const b of BACKENDS) {
  test(`${b.name}: after any mix of writes the paged listing is the listing built from the rows`, { skip: b.skip }, async () => {
    const target = b.target();
    const store = await openStore(target);
    stores.push(store);
    const l = await lister(b.name, target);
    listers.push(l);
    // Two rows per millisecond, so new rows can tie with old ones.
    let next = 0;
    const add = async (count: number, at: (i: number) => number): Promise<void> => {
      const rows = Array.from({ length: count }, () => row(next, at(next++)));
      for (let s = 0; s < rows.length; s += 500) await store.db.insertInto('artifacts').values(rows.slice(s, s + 500)).execute();
    };
    await add(CHUNK_ROWS * 3 + 100, (i) => T0 + Math.floor(i / 2));

    // The first listing builds everything from the rows and cuts three pages.
    let { text, counts } = await l.list();
    assert.ok(text.equals(await oracle(store)));
    assert.deepEqual([counts.pages.stored, counts.pages.built, counts.pages.builtRows], [0, 4, CHUNK_ROWS * 3 + 100]);
    assert.deepEqual(await l.writeBack(counts.writes), { written: 4 }, 'three pages cut, the tail stored');
    ({ text, counts } = await l.list());
    assert.ok(text.equals(await oracle(store)));
    assert.deepEqual([counts.pages.stored, counts.pages.built, counts.pages.builtRows], [4, 0, 0], 'pages and the tail as stored');
    assert.deepEqual(await l.writeBack(counts.writes), { skipped: 'nothing to write' });

    const rnd = random(b.name === 'sqlite' ? 7 : 11);
    const pick = (): string => digest(Math.floor(rnd() * next));
    const ops: (() => Promise<unknown>)[] = [
      () => add(1 + Math.floor(rnd() * 40), () => T0 + next), // the tail
      () => add(1, () => T0 + Math.floor((rnd() * next) / 2)), // inside an old page, maybe tied
      () => store.db.updateTable('artifacts').set({ tier: Math.floor(rnd() * 4) }).where('digest', '=', pick()).execute(),
      () => store.db.insertInto('admissions').values({ digest: pick(), env: rnd() < 0.5 ? 'prod' : 'lab', allowed: rnd() < 0.7 ? 1 : 0, reasons: '[]', decided_at: T0 }).execute(),
      () => store.db.deleteFrom('artifacts').where('digest', '=', pick()).execute(),
      () => store.db.updateTable('artifacts').set({ inventory_json: null }).where('digest', '=', pick()).execute(),
      () => store.db.updateTable('artifacts').set({ name: `renamed-${rnd()}` }).where('digest', '=', pick()).execute(),
    ];
    let stale = 0;
    let written = 0;
    for (let round = 0; round < 24; round++) {
      for (let k = 0; k < 1 + Math.floor(rnd() * 4); k++) await ops[Math.floor(rnd() * ops.length)]!();
      ({ text, counts } = await l.list());
      assert.ok(text.equals(await oracle(store)), `round ${round}: the paged listing differs from the rows`);
      // Sometimes the rows change between the listing's snapshot and its write-back.
      const meanwhile = rnd() < 0.4;
      if (meanwhile) await ops[Math.floor(rnd() * ops.length)]!();
      const wb = await l.writeBack(counts.writes, rnd() < 0.5 ? 'zstd' : 'none');
      // What the write-back would write were nothing changed meanwhile: the rebuilt pages, the cut, a stored tail.
      const w = counts.writes;
      const whole = w.rebuilt.length + w.cut.length + (w.tail ? 1 : 0);
      if ('written' in wb) {
        written++;
        if (wb.written < whole) stale++;
        else assert.equal(wb.written, whole);
      } else if (wb.skipped === 'changed meanwhile') stale++;
      else assert.equal(wb.skipped, 'nothing to write', JSON.stringify(wb));
      if (!meanwhile) assert.ok(!('written' in wb) || wb.written === whole, `round ${round}: a write-back refused with nothing changed`);
      ({ text, counts } = await l.list());
      assert.ok(text.equals(await oracle(store)), `round ${round}: after write-back${meanwhile ? ' (rows changed meanwhile)' : ''}`);
      if (!meanwhile) {
        // Everything the write-back accounted for is gone: nothing is built, no change rows are left
        // (unless the tail is longer than a write-back keeps, which these rounds never make).
        assert.equal(counts.pages.built, 0, `round ${round}: ${counts.pages.built} pieces built after a clean write-back`);
        const left = await store.db.selectFrom('inventory_changes').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
        assert.equal(Number(left.n), 0, `round ${round}: change rows left`);
      }
    }
    assert.ok(written > 5 && stale > 0, `${written} write-backs, ${stale} refused (in part) as stale`);
  });

  test(`${b.name}: a row registered between the snapshot and the write-back keeps the tail from being cut`, { skip: b.skip }, async () => {
    const target = b.target();
    const store = await openStore(target);
    stores.push(store);
    const l = await lister(b.name, target);
    listers.push(l);
    const rows = Array.from({ length: CHUNK_ROWS + 10 }, (_, i) => row(i, T0 + i));
    for (let s = 0; s < rows.length; s += 500) await store.db.insertInto('artifacts').values(rows.slice(s, s + 500)).execute();
    const { counts } = await l.list();
    assert.equal(counts.writes.cut.length, 1);
    // A row that sorts inside the page about to be cut, committed after the snapshot.
    await store.db.insertInto('artifacts').values(row(99_999, T0 + 5)).execute();
    assert.deepEqual(await l.writeBack(counts.writes), { skipped: 'changed meanwhile' });
    const again = await l.list();
    assert.ok(again.text.equals(await oracle(store)));
    assert.deepEqual(await l.writeBack(again.counts.writes), { written: 2 }, "the page cut, the tail stored");
    const third = await l.list();
    assert.equal(third.counts.pages.stored, 2);
    assert.ok(third.text.equals(await oracle(store)));
  });
}

test('postgres: a write-back gives up at once while a writer holds its transaction open', { skip: BACKENDS[1]!.skip }, async () => {
  const target = BACKENDS[1]!.target();
  const store = await openStore(target);
  stores.push(store);
  const l = await lister('postgres', target);
  listers.push(l);
  const rows = Array.from({ length: CHUNK_ROWS + 1 }, (_, i) => row(i, T0 + i));
  for (let s = 0; s < rows.length; s += 500) await store.db.insertInto('artifacts').values(rows.slice(s, s + 500)).execute();
  const { counts } = await l.list();
  const writer = new pg.Client(clientConfig(target));
  await writer.connect();
  try {
    await writer.query('begin');
    await writer.query("update artifacts set tier = 1 where digest = $1", [digest(3)]); // its trigger holds the layout lock shared
    const t = performance.now();
    assert.deepEqual(await l.writeBack(counts.writes), { skipped: 'busy' });
    assert.ok(performance.now() - t < 1000, 'without waiting for the writer');
    await writer.query('commit');
  } finally {
    await writer.end();
  }
  const again = await l.list();
  assert.deepEqual(await l.writeBack(again.counts.writes), { written: 2 });
  assert.ok((await l.list()).text.equals(await oracle(store)));
});

test('writeBackPlan: a page is written only when its change rows are exactly those the snapshot saw', () => {
  const built = { text: Buffer.from('x'), rows: 1, hi: [1, 'a'] as const };
  const w: PageWrites = {
    layout: { pages: [{ id: 1, hi: [1, 'a'], rows: 1, codec: 'none' }, { id: 0, hi: null, rows: 0, codec: 'none', tailRows: null }], changes: new Map([[1, [4, 9]], [0, [5]]]) },
    rebuilt: [{ page: { id: 1, hi: [1, 'a'], rows: 1, codec: 'none' }, built }],
    cut: [{ ...built, hi: [2, 'b'] }],
    tail: { text: Buffer.from('y'), rows: 1 },
    stored: 0,
    built: 2,
    builtRows: 2,
  };
  const show = (o: PageWrite): string => `${o.op}:${o.op === 'forget' ? `${o.page}<=${o.upTo}` : o.op === 'tail' ? `${o.rows}@${o.epoch}` : o.id}`;
  const ops = (changes: [number, number[]][], maxPageId = 1, tailEpoch = 0, writes = w): string[] => writeBackPlan(writes, { maxPageId, tailEpoch, changes: new Map(changes) }, 'none').map(show);
  assert.deepEqual(ops([[1, [4, 9]], [0, [5]]]), ['update:1', 'forget:1<=9', 'insert:2', 'tail:1@1', 'forget:0<=5']);
  assert.deepEqual(ops([[1, [4, 9, 12]], [0, [5]]]), ['insert:2', 'tail:1@1', 'forget:0<=5'], 'a change since the snapshot');
  assert.deepEqual(ops([[1, [9]], [0, [5]]]), ['insert:2', 'tail:1@1', 'forget:0<=5'], 'another listing accounted for a change');
  assert.deepEqual(ops([[1, [4, 9]], [0, [5, 6]]]), ['update:1', 'forget:1<=9'], 'a row registered into the tail');
  assert.deepEqual(ops([[1, [4, 9]], [0, []]]), ['update:1', 'forget:1<=9'], "another listing accounted for the tail's change");
  assert.deepEqual(ops([[1, [4, 9]], [0, [5]]], 2), ['update:1', 'forget:1<=9'], 'another listing cut pages');
  assert.deepEqual(ops([[1, [4, 9]], [0, [5]]], 1, 1), ['update:1', 'forget:1<=9'], 'another listing wrote the tail');
  // A tail that was not built (stored and current) is not written; one that remains in several pieces is dropped.
  assert.deepEqual(ops([[1, [4, 9]]], 1, 0, { ...w, cut: [], tail: undefined, layout: { ...w.layout, changes: new Map([[1, [4, 9]]]) } }), ['update:1', 'forget:1<=9']);
  const many: PageWrites = { ...w, cut: [], rebuilt: [], tail: null };
  assert.deepEqual(ops([[0, [5]]], 1, 0, many), ['tail:null@1', 'forget:0<=5']);
  assert.deepEqual(ops([[0, [5]]], 1, 3, many), []);
  assert.deepEqual(pagesToCheck(many), [0]);
  assert.deepEqual(pagesToCheck({ ...many, tail: undefined }), []);
});

for (const b of BACKENDS) {
  test(`${b.name}: decisions on a tail that is never cut do not pile up change rows`, { skip: b.skip }, async () => {
    const target = b.target();
    const store = await openStore(target);
    stores.push(store);
    const l = await lister(b.name, target);
    listers.push(l);
    await store.db.insertInto('artifacts').values([row(1, T0), row(2, T0 + 1)]).execute();
    const decisions = Array.from({ length: CHUNK_ROWS + 5 }, (_, i) => ({ digest: digest(1 + (i % 2)), env: 'prod', allowed: i % 3 ? 1 : 0, reasons: '[]', decided_at: T0 + i }));
    for (let s = 0; s < decisions.length; s += 500) await store.db.insertInto('admissions').values(decisions.slice(s, s + 500)).execute();
    const { text, counts } = await l.list();
    assert.ok(text.equals(await oracle(store)));
    assert.deepEqual(await l.writeBack(counts.writes), { written: 1 }, 'the tail, stored');
    const left = await store.db.selectFrom('inventory_changes').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
    assert.equal(Number(left.n), 0);
    const again = await l.list();
    assert.ok(again.text.equals(await oracle(store)));
    assert.deepEqual([again.counts.pages.stored, again.counts.pages.built], [1, 0], 'the tail as stored');
  });
}
