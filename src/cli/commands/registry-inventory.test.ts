/** `perimeter inventory --json` through bin/perimeter.js's path without commander, and when it is taken. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../../test/helpers.ts';
import { openStore } from '../../store/store.ts';
import { writeInventoryJson } from '../../registry/inventory.ts';
import { inventoryJsonArgs } from './registry-inventory.ts';

const BIN = new URL('../../../bin/perimeter.js', import.meta.url).pathname;
const run = (args: string[], env: NodeJS.ProcessEnv = {}) => {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 1 << 26 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

test('only exactly `inventory --json [--db X]` skips commander', () => {
  const argv = (...a: string[]) => ['node', 'perimeter', ...a];
  assert.deepEqual(inventoryJsonArgs(argv('inventory', '--json')), { db: undefined });
  assert.deepEqual(inventoryJsonArgs(argv('inventory', '--json', '--db', 'x.db')), { db: 'x.db' });
  assert.deepEqual(inventoryJsonArgs(argv('inventory', '--db=postgres://h/d', '--json')), { db: 'postgres://h/d' });
  for (const a of [
    ['inventory'],
    ['inventory', '--db', 'x.db'],
    ['inventory', '--json', '--json'],
    ['inventory', '--json', '--db'],
    ['inventory', '--json', '--db', '--help'],
    ['inventory', '--json', '--db', 'a', '--db', 'b'],
    ['inventory', '--json', '-h'],
    ['inventory', '--json', '--db='],
    ['inventory', '--json', 'extra'],
    ['bom', '--json'],
  ])
    assert.equal(inventoryJsonArgs(argv(...a)), false, a.join(' '));
});

test('the command prints what the library writes; a new file is created and migrated through the store', async () => {
  const db = join(tempDir(), 'sub', 'fresh.db');
  const fresh = run(['inventory', '--json', '--db', db]);
  assert.equal(fresh.code, 0, fresh.stderr);
  assert.equal(fresh.stdout, '{"ok":true,"artifacts":[],"runtimes":[]}\n');
  assert.ok(existsSync(db), 'openStore made the database');
  const store = await openStore(db);
  try {
    const now = Date.now();
    await store.db.insertInto('runtimes').values({ name: 'rt', kind: 'ollama', url: 'http://127.0.0.1:11434', created_at: now, updated_at: now, last_sync_at: null, last_sync_error: 'refused' }).execute();
    let lib = '';
    await writeInventoryJson(store, (c) => (lib += c), { ok: true });
    const viaEnv = run(['inventory', '--json'], { PERIMETER_DB: db });
    assert.equal(viaEnv.code, 0, viaEnv.stderr);
    assert.equal(viaEnv.stdout, lib);
    assert.equal(JSON.parse(viaEnv.stdout).runtimes[0].lastSyncError, 'refused');
  } finally {
    await store.close();
  }
});

test('a store that cannot be reached: exit 2 and the coded error as JSON', () => {
  const r = run(['inventory', '--json', '--db', 'postgres://nobody@127.0.0.1:1/none']);
  assert.equal(r.code, 2);
  assert.equal(JSON.parse(r.stdout).error.code, 'PERIM_E_STORE');
});
