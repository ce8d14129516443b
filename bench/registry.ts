/**
 * Registry benchmarks, printed as JSON:
 *  1. register a 4 GiB model (config.json + one safetensors file) on SQLite: hash time against the
 *     whole registration (scan, metadata, transaction), first registration and idempotent refresh;
 *  2. `inventory --json` over 100,000 artifacts on SQLite and on PostgreSQL (when reachable): the
 *     library call that produces that JSON (writeInventoryJson; inventory() objects for reference),
 *     and the CLI end to end (a child process, stdout drained), next to the CLI's bare start-up
 *     (`--version`) so the two can be told apart.
 *
 *   npx node bench/registry.ts            # full size (needs ~4.3 GB free disk)
 *   npx node bench/registry.ts --small    # 256 MiB model, 10,000 artifacts
 *   PERIMETER_TEST_PG=postgres://...      # the PostgreSQL to use (default the test server)
 */
import { PG_URL, postgresProblem } from '../test/pg.ts';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { hashModel } from '../src/artifact/hash.ts';
import { MemorySink } from '../src/audit/events.ts';

import { inventory, writeInventoryJson } from '../src/registry/inventory.ts';
import { registerModel } from '../src/registry/register.ts';
import { openStore } from '../src/store/store.ts';
import { fill } from './inventory-fill.ts';

const small = process.argv.includes('--small');
const keep = process.argv.includes('--keep');
const GiB = 1024 ** 3;
const MODEL_BYTES = small ? GiB / 4 : 4 * GiB;
const ARTIFACTS = small ? 10_000 : 100_000;
const BIN = new URL('../bin/perimeter.js', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'perimeter-bench-registry-'));
const ms = (t: number): number => Math.round((performance.now() - t) * 10) / 10;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** A valid safetensors file of `size` bytes: one U8 tensor filling the data section. */
function writeSafetensors(path: string, size: number): void {
  if (existsSync(path)) return;
  const headerFor = (n: number): string => JSON.stringify({ __metadata__: { format: 'pt' }, 'w.weight': { dtype: 'U8', shape: [n], data_offsets: [0, n] } });
  let dataLen = size - 8;
  let header = '';
  for (let i = 0; i < 4; i++) {
    header = headerFor(dataLen);
    header = header.padEnd(Math.ceil(header.length / 8) * 8, ' ');
    dataLen = size - 8 - header.length;
  }
  header = headerFor(dataLen).padEnd(header.length, ' ');
  const fd = openSync(path, 'w');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(header.length));
  writeSync(fd, len);
  writeSync(fd, Buffer.from(header));
  const block = Buffer.alloc(16 * 1024 * 1024);
  let x = 0x9e3779b9;
  for (let i = 0; i < block.length; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    block.writeUInt32LE(x >>> 0, i);
  }
  for (let off = 0; off < dataLen; off += block.length) {
    block.writeUInt32LE(off / block.length, 0);
    writeSync(fd, block, 0, Math.min(block.length, dataLen - off));
  }
  closeSync(fd);
}

async function benchRegister(): Promise<Record<string, unknown>> {
  const model = join(work, 'model');
  mkdirSync(model, { recursive: true });
  writeFileSync(join(model, 'config.json'), JSON.stringify({ architectures: ['LlamaForCausalLM'], model_type: 'llama' }));
  writeSafetensors(join(model, 'model.safetensors'), MODEL_BYTES);
  execFileSync('cat', [join(model, 'model.safetensors')], { stdio: ['ignore', 'ignore', 'inherit'] }); // warm the page cache
  const tHash = performance.now();
  await hashModel(model);
  const hashOnlyMs = ms(tHash);
  const store = await openStore(join(work, 'register.db'));
  try {
    const t = performance.now();
    const first = await registerModel(store, new MemorySink(), model, { name: 'bench/4g', kind: 'base' });
    const firstMs = ms(t);
    const t2 = performance.now();
    const again = await registerModel(store, new MemorySink(), model);
    const againMs = ms(t2);
    return {
      bytes: first.bytes,
      cores: availableParallelism(),
      hashModelAloneMs: hashOnlyMs,
      first: { ...first.timings, wallMs: firstMs, hashShare: +(first.timings.hashMs / first.timings.totalMs).toFixed(3), GBps: +(first.bytes / (first.timings.hashMs / 1000) / 1e9).toFixed(2) },
      refresh: { ...again.timings, wallMs: againMs, created: again.created },
    };
  } finally {
    await store.close();
  }
}

// The synthetic inventory (100k artifacts, lineage, admissions, runtimes) comes from inventory-fill.ts.

/** Runs the CLI; stdout read through a pipe (a consumer), or sent to /dev/null (`> /dev/null`). */
function cliRun(args: string[], env: NodeJS.ProcessEnv, toDevNull = false): Promise<{ ms: number; bytes: number; code: number }> {
  return new Promise((res) => {
    const t = performance.now();
    const out = toDevNull ? openSync('/dev/null', 'w') : 'pipe';
    const p = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', out, 'inherit'] });
    let bytes = 0;
    p.stdout?.on('data', (d: Buffer) => (bytes += d.length));
    p.on('exit', (code) => {
      if (typeof out === 'number') closeSync(out);
      res({ ms: ms(t), bytes, code: code ?? 1 });
    });
  });
}

async function benchInventory(kind: 'sqlite' | 'postgres', target: string): Promise<Record<string, unknown>> {
  const store = await openStore(target);
  try {
    const fillMs = await fill(store, ARTIFACTS);
    if (kind === 'postgres') await sql`analyze`.execute(store.db);
    const devNull = openSync('/dev/null', 'w');
    const lib: number[] = [];
    const objects: number[] = [];
    let size = 0;
    for (let i = 0; i < 7; i++) {
      const t = performance.now();
      let n = 0;
      // A real sink: the text is flattened and encoded as the CLI's stdout would.
      await writeInventoryJson(store, (c) => (n += writeSync(devNull, c)), { ok: true });
      lib.push(ms(t));
      size = n;
      if (i < 3) {
        const t2 = performance.now();
        await inventory(store);
        objects.push(ms(t2));
      }
    }
    closeSync(devNull);
    const env = { NODE_COMPILE_CACHE: join(work, 'compile-cache'), PERIMETER_DB: target };
    await cliRun(['--version'], env); // fills the compile cache
    const startup: number[] = [];
    const cli: number[] = [];
    const cliNull: number[] = [];
    let cliBytes = 0;
    for (let i = 0; i < 5; i++) {
      startup.push((await cliRun(['--version'], env)).ms);
      const r = await cliRun(['inventory', '--json'], env);
      if (r.code !== 0) throw new Error(`perimeter inventory --json exited ${r.code}`);
      cli.push(r.ms);
      cliBytes = r.bytes;
      cliNull.push((await cliRun(['inventory', '--json'], env, true)).ms);
    }
    const cold = await cliRun(['inventory', '--json'], { PERIMETER_DB: target });
    return {
      artifacts: ARTIFACTS,
      fillMs,
      library: { writeInventoryJsonMedianMs: median(lib), writeInventoryJsonMinMs: Math.min(...lib), jsonBytes: size, inventoryObjectsMedianMs: median(objects) },
      cli: { inventoryJsonPipedMedianMs: median(cli), inventoryJsonToDevNullMedianMs: median(cliNull), inventoryJsonToDevNullMinMs: Math.min(...cliNull), startupVersionMedianMs: median(startup), withoutCompileCacheMs: cold.ms, stdoutBytes: cliBytes },
      target: { ms: 200, libraryMeets: median(lib) < 200, cliMeets: median(cliNull) < 200 },
    };
  } finally {
    await store.close();
  }
}

const pgReachable = async (): Promise<boolean> => (await postgresProblem()) === undefined;

const result: Record<string, unknown> = { node: process.version, small };
try {
  result.register = await benchRegister();
  result.inventorySqlite = await benchInventory('sqlite', join(work, 'inventory.db'));
  if (await pgReachable()) {
    const schema = `perim_bench_${randomBytes(4).toString('hex')}`;
    try {
      result.inventoryPostgres = await benchInventory('postgres', `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}schema=${schema}`);
    } finally {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`drop schema if exists ${schema} cascade`);
      await c.end();
    }
  } else result.inventoryPostgres = { skipped: `PostgreSQL at ${PG_URL} is not reachable` };
} finally {
  if (!keep) rmSync(work, { recursive: true, force: true });
}
process.stdout.write(JSON.stringify(result, null, 2) + '\n');
