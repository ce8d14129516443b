/**
 * Several real Perimeter processes registering the same models at once on one store: one row per
 * root digest, one edge per (child, parent), pending edges resolved, nothing lost or doubled.
 * Each child process opens its own store and registers every model, in its own order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { openStoreRetrying as openStore } from './db.ts';
import { backends } from '../../test/stores.ts';
import { adapterModel, baseModel, ggufModel } from './test-models.ts';

const BACKENDS = await backends();
const url = (f: string): string => JSON.stringify(new URL(f, import.meta.url).href);
const CHILD = `
  import { openStoreRetrying } from ${url('./db.ts')};
  import { MemorySink } from ${url('../audit/events.ts')};
  import { registerModel } from ${url('./register.ts')};
  const [target, base, ...others] = JSON.parse(process.argv[1]);
  const store = await openStoreRetrying(target);
  const sink = new MemorySink();
  for (const m of others) {
    if (m === base) await registerModel(store, sink, m, { name: 'race/base', kind: 'base' });
    else await registerModel(store, sink, m);
  }
  await store.close();
  if (sink.events.length !== others.length) process.exit(3);`;

/** Runs one registering child; resolves to its exit code and what it printed on stderr. */
function child(args: unknown): Promise<{ code: number; stderr: string }> {
  return new Promise((res) => {
    const p = spawn(process.execPath, ['--input-type=module', '-e', CHILD, JSON.stringify(args)], { stdio: ['ignore', 'inherit', 'pipe'] });
    let stderr = '';
    p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    p.on('close', (c) => res({ code: c ?? 1, stderr }));
  });
}

for (const b of BACKENDS) {
  test(`${b.name}: four processes registering the same three models concurrently never double-insert`, { skip: b.skip }, async () => {
    const target = b.target();
    await (await openStore(target)).close(); // migrate once, so the race is on registration itself
    const base = baseModel('race');
    const adapter = adapterModel('race/base');
    const quant = ggufModel('race/base');
    const orders = [
      [adapter, base, quant],
      [base, quant, adapter],
      [quant, adapter, base],
      [adapter, quant, base],
    ];
    const runs = await Promise.all(orders.map((o) => child([target, base, ...o])));
    assert.deepEqual(runs.map((r) => r.code), [0, 0, 0, 0], runs.map((r) => r.stderr).join('\n'));

    const s = await openStore(target);
    try {
      const rows = await s.db.selectFrom('artifacts').select(['digest', 'name', 'kind', 'parent_digest']).orderBy('name').execute();
      assert.equal(rows.length, 3, JSON.stringify(rows));
      const baseRow = rows.find((r) => r.name === 'race/base')!;
      for (const r of rows.filter((x) => x !== baseRow)) assert.equal(r.parent_digest, baseRow.digest, `${r.name} points at the base, whichever registered first`);
      const edges = await s.db.selectFrom('lineage').select(['child_digest', 'parent_digest']).execute();
      assert.equal(edges.length, 2, JSON.stringify(edges));
      assert.ok(edges.every((e) => e.parent_digest === baseRow.digest));
    } finally {
      await s.close();
    }
  });
}
