/**
 * Hashing throughput against the baseline, in one run:
 *   baseline = cores x single-core `openssl dgst -sha256` throughput on a cached file
 *   target   = Perimeter >= 0.85 x baseline, for the files method (8 files, 4 GiB in all)
 *              and the shards method (one 4 GiB file), warm page cache
 * plus peak RSS of `perimeter hash` on a 20 GB sparse file (target < 200 MB).
 *
 *   npm run bench:hash                 # full size (needs ~8.6 GB free disk, ~10 GB RAM for cache)
 *   npm run bench:hash -- --small      # 1/8 size smoke run
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, existsSync, ftruncateSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { hashModel } from '../src/artifact/hash.ts';

const small = process.argv.includes('--small');
const keep = process.argv.includes('--keep');
const GiB = 1024 ** 3;
const total = small ? GiB / 2 : 4 * GiB;
const dir = join(tmpdir(), `perimeter-bench-hash${small ? '-small' : ''}`);
const cores = availableParallelism();

function writeRandomFile(path: string, size: number): void {
  if (existsSync(path)) return;
  const fd = openSync(path, 'w');
  const block = Buffer.alloc(16 * 1024 * 1024);
  // Pseudo-random but cheap content; the hash speed does not depend on it.
  let x = 0x9e3779b9;
  for (let i = 0; i < block.length; i += 4) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    block.writeUInt32LE(x >>> 0, i);
  }
  for (let off = 0; off < size; off += block.length) {
    block.writeUInt32LE(off / block.length, 0);
    writeSync(fd, block, 0, Math.min(block.length, size - off));
  }
  closeSync(fd);
}

function warm(path: string): void {
  execFileSync('cat', [path], { stdio: ['ignore', 'ignore', 'inherit'], maxBuffer: 0 });
}

function seconds<T>(fn: () => T): [T, number] {
  const t = process.hrtime.bigint();
  const r = fn();
  return [r, Number(process.hrtime.bigint() - t) / 1e9];
}

async function secondsAsync<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t = process.hrtime.bigint();
  const r = await fn();
  return [r, Number(process.hrtime.bigint() - t) / 1e9];
}

const best = (xs: number[]): number => Math.min(...xs);
const GBps = (bytes: number, s: number): string => (bytes / s / 1e9).toFixed(3);

mkdirSync(join(dir, 'files'), { recursive: true });
mkdirSync(join(dir, 'single'), { recursive: true });
const fileSize = total / 8;
for (let i = 0; i < 8; i++) writeRandomFile(join(dir, 'files', `model-0000${i + 1}-of-00008.safetensors`), fileSize);
writeRandomFile(join(dir, 'single', 'model.safetensors'), total);
for (let i = 0; i < 8; i++) warm(join(dir, 'files', `model-0000${i + 1}-of-00008.safetensors`));
warm(join(dir, 'single', 'model.safetensors'));

// Baseline: openssl on one core, a cached file of one eighth of the total (as one unit of the files model).
const probe = join(dir, 'files', 'model-00001-of-00008.safetensors');
const opensslRuns = [0, 1, 2].map(() => seconds(() => execFileSync('openssl', ['dgst', '-sha256', probe]))[1]);
const opensslOne = fileSize / best(opensslRuns);
const baseline = cores * opensslOne;

const runs = 3;
const filesTimes: number[] = [];
const shardTimes: number[] = [];
for (let i = 0; i < runs; i++) {
  filesTimes.push((await secondsAsync(() => hashModel(join(dir, 'files'))))[1]);
  // Shard size: the default (1 GB) for the full run; scaled down with --small to keep 4+ shards.
  shardTimes.push((await secondsAsync(() => hashModel(join(dir, 'single'), { method: 'shards', shardSize: small ? 125_000_000 : 1_000_000_000 })))[1]);
}
const filesRate = total / best(filesTimes);
const shardRate = total / best(shardTimes);

// Peak RSS of the CLI on a 20 GB sparse file (reads zeros from the page cache of a hole: no disk).
const sparseDir = join(dir, 'sparse');
mkdirSync(sparseDir, { recursive: true });
const sparse = join(sparseDir, 'huge.bin');
const sparseSize = small ? 2e9 : 20e9;
const fd = openSync(sparse, 'w');
ftruncateSync(fd, sparseSize);
closeSync(fd);
const rssOut = spawnSync(process.execPath, [join(import.meta.dirname, 'rss-probe.ts'), sparseDir, 'shards'], { encoding: 'utf8' });
if (rssOut.status !== 0) throw new Error(`rss probe failed: ${rssOut.stderr}`);
const rss = JSON.parse(rssOut.stdout) as { maxRssMB: number; seconds: number };
const rssFiles = JSON.parse(spawnSync(process.execPath, [join(import.meta.dirname, 'rss-probe.ts'), sparseDir, 'files'], { encoding: 'utf8' }).stdout) as { maxRssMB: number; seconds: number };

const cpu = cpus()[0]?.model ?? 'unknown';
const report = {
  machine: { cpu, cores, memoryGiB: Math.round(totalmem() / GiB), node: process.version, openssl: execFileSync('openssl', ['version']).toString().trim() },
  bytes: total,
  opensslSingleCoreGBps: +GBps(fileSize, best(opensslRuns)),
  baselineGBps: +(baseline / 1e9).toFixed(3),
  files: { bestSeconds: +best(filesTimes).toFixed(3), GBps: +(filesRate / 1e9).toFixed(3), ratio: +(filesRate / baseline).toFixed(3) },
  shards: { bestSeconds: +best(shardTimes).toFixed(3), GBps: +(shardRate / 1e9).toFixed(3), ratio: +(shardRate / baseline).toFixed(3) },
  sparse: { bytes: sparseSize, shards: rss, files: rssFiles },
  target: { ratio: 0.85, maxRssMB: 200 },
};
console.log(JSON.stringify(report, null, 2));
const ok = report.files.ratio >= 0.85 && report.shards.ratio >= 0.85 && rss.maxRssMB < 200 && rssFiles.maxRssMB < 200;
console.log(ok ? 'PASS: targets met' : 'FAIL: a target was missed');
rmSync(sparse, { force: true });
if (!keep && small) rmSync(dir, { recursive: true, force: true });

process.exitCode = ok ? 0 : 1;
