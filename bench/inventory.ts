/**
 * `perimeter inventory --json` over 100,000 artifacts on SQLite and PostgreSQL (issue 4: under
 * 200 ms on both), printed as JSON:
 *  - the command end to end, the program as npm's bin runs it (`node bin/perimeter.js ...` on the
 *    pinned Node 24, stdout to /dev/null), min and median of --runs, next to bare Node (`-e 0`),
 *    `--version` and the same command over an empty inventory, so start-up and listing can be told
 *    apart; on PostgreSQL also the same command through node-postgres instead of the lean wire
 *    reader (the baseline); the same through `npx perimeter` (npx adds its own ~0.2-0.3 s);
 *  - in-process: the first paged listing after the fill (it builds every page from the rows and
 *    writes the pages back: a one-time cost), then the lean path (streamInventoryJson, own
 *    connection: pages as stored, the tail built) and the store path (writeInventoryJsonBytes, built
 *    wholly from the rows), both to /dev/null;
 *  - PostgreSQL only, when psql is installed: psql copying the same rows (COPY ... TO STDOUT, FORMAT
 *    binary, ordered) to /dev/null: what the server and the socket alone take, a floor for any client;
 *  - that the command's output is byte for byte the store path's.
 *
 *   npx node bench/inventory.ts                 # 100k artifacts, fresh SQLite file and PostgreSQL schema
 *   npx node bench/inventory.ts --small         # 10k
 *   npx node bench/inventory.ts --runs 20 --keep  # keep the databases (their targets are printed)
 *   npx node bench/inventory.ts --sqlite FILE --pg URL   # reuse filled databases (filled when empty)
 *   PERIMETER_TEST_PG=postgres://...            # the PostgreSQL to use (default the test server)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { PG_URL, postgresProblem } from '../test/pg.ts';
import { writeInventoryJsonBytes } from '../src/registry/inventory.ts';
import { streamInventoryJson } from '../src/registry/inventory-stream.ts';
import { openStore } from '../src/store/store.ts';
import { fill } from './inventory-fill.ts';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i === -1 ? undefined : process.argv[i + 1];
};
const small = process.argv.includes('--small');
const keep = process.argv.includes('--keep');
const RUNS = Number(arg('--runs') ?? 10);
const ARTIFACTS = small ? 10_000 : 100_000;
const NODE = process.execPath; // npx node: the pinned Node 24
const ROOT = new URL('..', import.meta.url).pathname;
const BIN = join(ROOT, 'bin/perimeter.js');
const work = mkdtempSync(join(tmpdir(), 'perimeter-bench-inventory-'));
const round = (x: number): number => Math.round(x * 10) / 10;
const stats = (xs: number[]): { min: number; median: number; max: number } => {
  const s = [...xs].sort((a, b) => a - b);
  return { min: round(s[0]!), median: round(s[s.length >> 1]!), max: round(s[s.length - 1]!) };
};

/** Wall time of a command, stdout to /dev/null (as `> /dev/null`); interleaved runs after a warm-up. */
function timeCommands(cmds: Record<string, string[]>, runs: number, env: Record<string, Record<string, string>> = {}): Record<string, { min: number; median: number; max: number }> {
  const out = openSync('/dev/null', 'w');
  const times: Record<string, number[]> = {};
  try {
    for (let i = -1; i < runs; i++) {
      for (const [name, [file, ...args]] of Object.entries(cmds)) {
        const t = performance.now();
        const r = spawnSync(file!, args, { cwd: ROOT, stdio: ['ignore', out, 'pipe'], env: { ...process.env, ...env[name] } });
        const ms = performance.now() - t;
        if (r.status !== 0) throw new Error(`${name} exited ${r.status}: ${r.stderr}`);
        if (i >= 0) (times[name] ??= []).push(ms);
      }
    }
  } finally {
    closeSync(out);
  }
  return Object.fromEntries(Object.entries(times).map(([k, v]) => [k, stats(v)]));
}

async function bench(kind: 'sqlite' | 'postgres', target: string, empty: string): Promise<Record<string, unknown>> {
  const store = await openStore(target);
  let fillMs: number | 'reused' = 'reused';
  let reference: Buffer;
  const lib: Record<string, number[]> = { leanPath: [], storePath: [] };
  let firstListing: unknown;
  let steadyPages: unknown;
  try {
    const have = Number((await store.db.selectFrom('artifacts').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    if (have === 0) fillMs = await fill(store, ARTIFACTS);
    else if (have !== ARTIFACTS) throw new Error(`${target} has ${have} artifacts, not ${ARTIFACTS}`);
    if (kind === 'postgres') await sql`analyze`.execute(store.db);
    await (await openStore(empty)).close(); // migrated, no artifacts
    // The first paged listing after the fill builds every page from the rows and writes them back;
    // later ones send the pages as stored and build only the tail (and pages that changed).
    const nul = openSync('/dev/null', 'w');
    const t0 = performance.now();
    const first = await streamInventoryJson(target, (c) => void writeSync(nul, c), { ok: true });
    firstListing = { ms: round(performance.now() - t0), pages: first?.pages };
    // Let the fill's writes settle before timing, as they would long before anyone lists: the
    // fill and the page write-back leave dead change rows and dirty buffers behind (autovacuum and
    // the checkpointer would otherwise be timed too, at random).
    if (kind === 'postgres') {
      await sql`vacuum analyze artifacts, admissions, inventory_pages, inventory_changes`.execute(store.db);
      await sql`checkpoint`.execute(store.db).catch(() => {}); // superusers only
    } else await sql`pragma wal_checkpoint(truncate)`.execute(store.db);
    const second = await streamInventoryJson(target, (c) => void writeSync(nul, c), { ok: true });
    steadyPages = second?.pages;
    closeSync(nul);
    const parts: Uint8Array[] = [];
    await writeInventoryJsonBytes(store, (c) => void parts.push(c), { ok: true });
    reference = Buffer.concat(parts);
    const devNull = openSync('/dev/null', 'w');
    const sink = (c: Uint8Array): void => void writeSync(devNull, c);
    for (let i = 0; i < 5; i++) {
      let t = performance.now();
      await streamInventoryJson(target, sink, { ok: true });
      lib.leanPath!.push(performance.now() - t);
      t = performance.now();
      await writeInventoryJsonBytes(store, sink, { ok: true });
      lib.storePath!.push(performance.now() - t);
    }
    closeSync(devNull);
  } finally {
    await store.close();
  }
  const printed = spawnSync(NODE, [BIN, 'inventory', '--json', '--db', target], { cwd: ROOT, maxBuffer: 1 << 30 });
  if (printed.status !== 0 || !printed.stdout.equals(reference)) throw new Error(`the command's output differs from writeInventoryJsonBytes (exit ${printed.status})`);
  const cli = timeCommands(
    {
      nodeBare: [NODE, '-e', '0'],
      version: [NODE, BIN, '--version'],
      inventoryEmpty: [NODE, BIN, 'inventory', '--json', '--db', empty],
      inventory: [NODE, BIN, 'inventory', '--json', '--db', target],
      // The baseline on PostgreSQL: the same listing read through node-postgres (a PG* variable
      // makes the lean wire reader step aside, docs/registry.md).
      ...(kind === 'postgres' ? { inventoryNodePostgres: [NODE, BIN, 'inventory', '--json', '--db', target] } : {}),
    },
    RUNS,
    { inventoryNodePostgres: { PGAPPNAME: 'perimeter-bench' } },
  );
  const npx = timeCommands({ npxInventory: ['npx', 'perimeter', 'inventory', '--json', '--db', target] }, Math.min(RUNS, 5));
  let floor = {};
  if (kind === 'postgres' && hasPsql()) {
    const u = new URL(target);
    const schema = u.searchParams.get('schema');
    u.searchParams.delete('schema');
    const table = schema ? `${schema}.artifacts` : 'artifacts';
    const copy = `copy (select inventory_json from ${table} order by created_at, digest) to stdout (format binary)`;
    floor = timeCommands({ psqlCopyRows: ['psql', '-X', '-q', u.toString(), '-c', copy], psqlSelect1: ['psql', '-X', '-q', u.toString(), '-c', 'select 1'] }, RUNS);
  }
  return {
    artifacts: ARTIFACTS,
    fillMs,
    jsonBytes: reference.length,
    firstPagedListing: firstListing,
    steadyPages,
    inProcessMs: { leanPath: stats(lib.leanPath!), storePath: stats(lib.storePath!) },
    commandMs: { ...cli, ...npx, ...floor },
    target: { ms: 200, commandMedianMeets: cli.inventory!.median < 200 },
  };
}

function hasPsql(): boolean {
  try {
    execFileSync('psql', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const result: Record<string, unknown> = { node: process.version, small, runs: RUNS, loadavgBefore: loadavg().map(round) };
const drop: string[] = [];
const schemaUrl = (schema: string): string => `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}schema=${schema}`;
try {
  result.sqlite = await bench('sqlite', arg('--sqlite') ?? join(work, 'inventory.db'), join(work, 'empty.db'));
  if ((await postgresProblem()) === undefined) {
    const filled = `perim_bench_inv_${randomBytes(4).toString('hex')}`;
    const empty = `perim_bench_empty_${randomBytes(4).toString('hex')}`;
    drop.push(empty);
    if (!arg('--pg') && !keep) drop.push(filled);
    result.postgres = await bench('postgres', arg('--pg') ?? schemaUrl(filled), schemaUrl(empty));
    if (keep) result.keptPostgres = arg('--pg') ?? schemaUrl(filled);
  } else result.postgres = { skipped: `PostgreSQL at ${PG_URL} is not reachable` };
} finally {
  if (keep) result.keptSqlite = arg('--sqlite') ?? join(work, 'inventory.db');
  else rmSync(work, { recursive: true, force: true });
  if (drop.length && (await postgresProblem()) === undefined) {
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    for (const s of drop) await c.query(`drop schema if exists ${s} cascade`);
    await c.end();
  }
}
result.loadavgAfter = loadavg().map(round);
result.cpu = readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/)?.[1];
process.stdout.write(JSON.stringify(result, null, 2) + '\n');
