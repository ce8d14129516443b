/**
 * Gateway overhead against issue 6's targets, in one run on one machine, with wrk:
 *   direct   - straight to a SIMULATED OpenAI-compatible upstream (bench/gateway/upstream.ts)
 *   bare     - a bare Node + undici pass-through (bench/gateway/bare.ts), the minimal Node proxy
 *   perimeter- Perimeter with API key + Cedar + rate limit + DLP + audit (perimeter-target.ts hook)
 *   portkey  - @portkey-ai/gateway (pinned) plain proxying, installed once into bench/.cache/portkey
 * Each target, one after another: latency at 1 connection, latency at a paced 1,000 requests/s,
 * maximum throughput at 16 and 64 connections; each after a warm-up. Every process is a child of
 * this one and is killed when it ends.
 *
 *   npx node bench/gateway/run.ts                  # 10 s per measurement, one round (~3 min)
 *   npx node bench/gateway/run.ts --rounds 3       # best of 3 interleaved rounds (see --stat)
 *   npx node bench/gateway/run.ts --seconds 3 --warmup 1 --only direct,bare   # quick look
 * Other options: --rate 1000 --paced-connections 50 --max-connections 16,64; --stat best|median
 * (how rounds combine; best = lowest latency / highest throughput of the rounds, default);
 * --quiet-percent 15 --quiet-wait 10 (before each measurement, wait up to 10 s for a second in which
 * processes outside the benchmark use <= 15% of the CPU; each measurement records how much they
 * used meanwhile); --priority (run the whole benchmark at nice -10, above other work; needs root).
 *
 * Prints a markdown table and writes the raw results to bench/.cache/gateway-results.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, setPriority, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { measure, sanityCheck } from './measure.ts';
import type { Measured, MeasureOptions } from './measure.ts';
import { NOT_WIRED, startPerimeter } from './perimeter-target.ts';
import { ensurePortkey, startPortkey } from './portkey.ts';
import { killChildrenOnExit } from './procs.ts';
import { checks, summarize, table } from './report.ts';
import type { Stat } from './report.ts';
import { directTarget, startBare, startUpstream } from './targets.ts';
import type { Target } from './targets.ts';
import { WRK_INSTALL_HINT, wrkVersion } from './wrk.ts';
import { BODY } from './workload.ts';

const { values: a } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '1' },
    rate: { type: 'string', default: '1000' },
    'paced-connections': { type: 'string', default: '50' },
    'max-connections': { type: 'string', default: '16,64' },
    only: { type: 'string', default: 'direct,bare,perimeter,portkey' },
    'quiet-percent': { type: 'string', default: '15' },
    'quiet-wait': { type: 'string', default: '10' },
    stat: { type: 'string', default: 'best' },
    priority: { type: 'boolean', default: false },
  },
});
const num = (s: string, name: string) => {
  const n = Number(s);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got ${s}`);
  return n;
};
const only = new Set(a.only.split(','));
if (a.stat !== 'best' && a.stat !== 'median') throw new Error(`--stat must be best or median, got ${a.stat}`);
const stat: Stat = a.stat;
const rounds = num(a.rounds, 'rounds');
const cache = join(import.meta.dirname, '..', '.cache');
const opts: MeasureOptions = {
  bodyFile: join(cache, 'gateway-body.json'),
  seconds: num(a.seconds, 'seconds'),
  warmupSeconds: num(a.warmup, 'warmup'),
  rate: num(a.rate, 'rate'),
  pacedConnections: num(a['paced-connections'], 'paced-connections'),
  maxConnections: a['max-connections'].split(',').map((c) => num(c, 'max-connections')),
  quietPercent: num(a['quiet-percent'], 'quiet-percent'),
  quietWaitS: Number(a['quiet-wait']),
};

if (a.priority) {
  // Opt-in: raise this process (and so every child: upstream, targets, wrk) above other work on a
  // shared machine. Needs root or CAP_SYS_NICE.
  setPriority(0, -10);
}
const wrk = wrkVersion();
if (!wrk) { console.error(WRK_INSTALL_HINT); process.exit(2); }
mkdirSync(cache, { recursive: true });
writeFileSync(opts.bodyFile, BODY);
killChildrenOnExit();

const env = {
  date: new Date().toISOString(),
  node: process.version,
  wrk,
  cpu: `${cpus().length} x ${cpus()[0]?.model ?? '?'}`,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  loadavgAtStart: loadavg().map((x) => +x.toFixed(2)),
};
console.log(`gateway benchmark: node ${env.node}, ${env.wrk}, ${env.cpu}, load average ${env.loadavgAtStart.join(' ')}` +
  `${a.priority ? ', running at nice -10' : ''}`);
console.log(`${opts.seconds} s per measurement, ${opts.warmupSeconds} s warm-up, ${rounds} round(s), ` +
  `request body ${Buffer.byteLength(BODY)} bytes; before each measurement, waits up to ${opts.quietWaitS} s ` +
  `for other processes to use <= ${opts.quietPercent}% of the CPU\n`);

const up = await startUpstream(cache);
console.log(`simulated upstream: ${up.url}`);
const targets: Target[] = [];
const skipped: Record<string, string> = {};
let portkeyInstalled: { version: string; hono: string | null } | null = null;

if (only.has('direct')) targets.push(directTarget(up));
if (only.has('bare')) targets.push(await startBare(up, cache));
if (only.has('perimeter')) {
  try {
    const p = await startPerimeter(up.url);
    targets.push({ name: 'perimeter', label: 'Perimeter (key + Cedar + rate limit + DLP + audit)', ...p });
  } catch (err) {
    const msg = (err as Error).message;
    if (msg !== NOT_WIRED) throw err;
    skipped.perimeter = msg;
    console.log('perimeter: skipped, bench/gateway/perimeter-target.ts is not wired yet');
  }
}
if (only.has('portkey')) {
  portkeyInstalled = ensurePortkey(join(cache, 'portkey'));
  targets.push(await startPortkey(join(cache, 'portkey'), up.url, join(cache, 'portkey.log')));
}

for (const t of targets) {
  await sanityCheck(t, up);
  console.log(`${t.name}: ${t.url} answers, and its request reached the upstream whole`);
}

const problems: string[] = [];
const runs = new Map<string, Measured[]>(targets.map((t) => [t.name, []]));
const loads: Record<string, number[][]> = {};
for (let round = 1; round <= rounds; round++) {
  for (const t of targets) {
    const load = loadavg().map((x) => +x.toFixed(2));
    (loads[t.name] ??= []).push(load);
    console.log(`\n${t.label} (round ${round}/${rounds}, load average ${load.join(' ')})`);
    runs.get(t.name)!.push(await measure(t, up, opts, problems));
  }
}

for (const t of targets) await t.stop();
await up.stop();

const rows = targets.map((t) => summarize(t.name, t.label, runs.get(t.name)!, stat));
const md = table(rows, opts.rate, opts.maxConnections);
const cs = checks(rows, opts.rate);
console.log(`\n${md}\n`);
console.log(`added = target minus direct, same run; ${rounds > 1 ? `${stat === 'best' ? 'best' : 'medians'} of ${rounds} rounds; ` : ''}` +
  `${opts.rate}/s paced over ${opts.pacedConnections} connections; vs = best max req/s over the other's; ` +
  `others' CPU = mean share of all cores used by processes outside the benchmark during the target's measurements.`);
const noisy = [...runs.values()].flat().flatMap((r) => [r.one, r.paced, ...r.max]).map((s) => s.othersCpuPercent ?? 0);
const loud = noisy.filter((x) => x > opts.quietPercent);
if (loud.length) {
  console.log(`note: ${loud.length} of ${noisy.length} measurements ran while other processes used more than ` +
    `${opts.quietPercent}% of the CPU (up to ${Math.max(...loud)}%); their numbers are worse than on a quiet machine.`);
}
console.log('\nissue 6 targets (for the full gateway; shown for every proxy for scale):');
for (const c of cs) console.log(`  ${c.ok ? 'PASS' : 'FAIL'}  ${c.target.padEnd(10)} ${c.what.padEnd(44)} ${c.value}`);
for (const [k, v] of Object.entries(skipped)) console.log(`  SKIP  ${k}: ${v}`);
if (problems.length) {
  console.log('\nproblems seen during the run:');
  for (const p of problems) console.log(`  - ${p}`);
}

const out = join(cache, 'gateway-results.json');
writeFileSync(out, JSON.stringify({
  env: { ...env, loadavgAtEnd: loadavg().map((x) => +x.toFixed(2)), portkey: portkeyInstalled },
  options: { ...opts, rounds, stat, priority: a.priority },
  upstream: up.url,
  skipped,
  summary: rows,
  checks: cs,
  problems,
  loadavgBeforeEachTarget: loads,
  runs: Object.fromEntries(runs),
}, null, 2));
console.log(`\nraw results: ${out}`);
