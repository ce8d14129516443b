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
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { hashModel } from '../src/artifact/hash.ts';
import { MemorySink } from '../src/audit/events.ts';

import { inventory, writeInventoryJson } from '../src/registry/inventory.ts';
import { registerModel } from '../src/registry/register.ts';
import { summaryJson } from '../src/registry/summary.ts';
import { openStore, type Store } from '../src/store/store.ts';

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

/** 100k synthetic artifacts (a third with a parent) with their read model, admissions, runtimes and served models. */
async function fill(store: Store, n: number): Promise<number> {
  const t = performance.now();
  const now = Date.now();
  const digest = (i: number): string => `sha256:${createHash('sha256').update(`artifact ${i}`).digest('hex')}`;
  const kinds = ['base', 'fine-tune', 'adapter', 'quantization', 'merge'];
  const verdicts = ['clean', 'clean', 'clean', 'low', 'suspicious'];
  const status = ['verified', 'unverified', 'none', 'invalid'];
  const hint = randomBytes(32).toString('hex');
  await store.db.transaction().execute(async (trx) => {
    const B = 1000;
    for (let start = 0; start < n; start += B) {
      const rows = [];
      const edges = [];
      for (let i = start; i < Math.min(n, start + B); i++) {
        const parent = i % 3 === 1 ? digest(i - 1) : null;
        rows.push({
          digest: digest(i),
          name: `org${i % 97}/model-${i}`,
          kind: parent ? kinds[1 + (i % 4)]! : 'base',
          format: i % 5 === 0 ? 'gguf' : 'safetensors',
          license: i % 7 === 0 ? 'llama3.1' : 'Apache-2.0',
          parent_digest: parent,
          predecessor_digest: null,
          path: `/models/org${i % 97}/model-${i}`,
          bytes: 1_000_000_000 + i,
          files: 1 + (i % 9),
          signer_method: i % 4 === 2 ? null : 'key',
          signer: i % 4 === 2 ? null : hint,
          signer_issuer: null,
          signature_verified: i % 4 === 0 ? 1 : 0,
          signature_status: status[i % 4]!,
          signature_evidence: '{}',
          scan_verdict: verdicts[i % 5]!,
          scan_findings: i % 5 > 2 ? 1 : 0,
          scan_summary: '{"verdict":"clean","files":3}',
          metadata: '{"modelType":"llama","architectures":["LlamaForCausalLM"]}',
          training_flops: i % 2 ? 1e22 : null,
          tier: null,
          created_at: now + i,
          updated_at: now + i,
        });
        // The read model, as registerModel writes it with the row.
        const row = rows[rows.length - 1]!;
        (row as typeof row & { inventory_json: string }).inventory_json = summaryJson(row, parent ? `org${(i - 1) % 97}/model-${i - 1}` : null);
        if (parent) edges.push({ child_digest: digest(i), parent_digest: parent, relation: 'fine-tune', details: '{}', created_at: now });
      }
      await trx.insertInto('artifacts').values(rows).execute();
      if (edges.length) await trx.insertInto('lineage').values(edges).execute();
    }
    const adm = [];
    for (let i = 0; i < n / 10; i++) adm.push({ digest: digest(i * 10), env: i % 2 ? 'prod' : 'staging', allowed: i % 3 ? 1 : 0, reasons: '[]', decided_at: now });
    for (let s = 0; s < adm.length; s += B) await trx.insertInto('admissions').values(adm.slice(s, s + B)).execute();
    for (let r = 0; r < 20; r++) {
      await trx.insertInto('runtimes').values({ name: `rt-${r}`, kind: 'vllm', url: `http://127.0.0.1:${8000 + r}`, created_at: now, updated_at: now, last_sync_at: now, last_sync_error: null }).execute();
      await trx
        .insertInto('served_models')
        .values(Array.from({ length: 5 }, (_, k) => ({ runtime: `rt-${r}`, model_id: `m-${r}-${k}`, served_digest: null, artifact_digest: k < 4 ? digest(r * 50 + k * 10) : null, source: 'binding', details: '{}', seen_at: now })))
        .execute();
    }
  });
  return ms(t);
}

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
