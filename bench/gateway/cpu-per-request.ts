/**
 * CPU per request of `perimeter serve` (main process and all its threads) at a fixed rate: a
 * steadier measure than maximum throughput on a shared 2-core machine, for A/B work on the hot
 * path. Starts the simulated upstream and the Perimeter target of run.ts, paces wrk at --rate
 * requests/s for --seconds, and reads the process's user+system CPU from /proc before and after.
 *
 *   npx node bench/gateway/cpu-per-request.ts [--rate 3000] [--seconds 8] [--runs 3]
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startUpstream } from './targets.ts';
import { startPerimeter } from './perimeter-target.ts';
import { killChildrenOnExit } from './procs.ts';
import { BODY, CHAT_PATH } from './workload.ts';

const { values } = parseArgs({ options: { rate: { type: 'string', default: '3000' }, seconds: { type: 'string', default: '8' }, runs: { type: 'string', default: '3' } } });
killChildrenOnExit();
const dir = mkdtempSync(join(tmpdir(), 'perimeter-cpu-'));
const up = await startUpstream(dir);
const p = await startPerimeter(up.url);
const pid = p.pid;
const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));
const cpu = (): number => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / ticks; // utime + stime, seconds
};
const body = join(dir, 'body.json');
writeFileSync(body, BODY);
const lua = new URL('./load.lua', import.meta.url).pathname;
const wrk = (rate: number, seconds: number): number => {
  const out = execFileSync('wrk', ['-t1', '-c50', `-d${seconds}s`, '-s', lua, `${p.url}${CHAT_PATH}`], {
    encoding: 'utf8',
    env: { ...process.env, BENCH_BODY: body, BENCH_RATE: String(rate), BENCH_HEADERS: Object.entries(p.headers).map(([k, v]) => `${k}: ${v}`).join('\n') },
  });
  const m = /(\d+) requests in/.exec(out);
  return Number(m?.[1] ?? 0);
};
wrk(Number(values.rate), 3); // warm-up
const results: number[] = [];
for (let i = 0; i < Number(values.runs); i++) {
  const c0 = cpu();
  const n = wrk(Number(values.rate), Number(values.seconds));
  const used = cpu() - c0;
  results.push((used * 1e6) / n);
  console.log(`run ${i + 1}: ${n} requests, ${used.toFixed(2)} s CPU, ${((used * 1e6) / n).toFixed(1)} µs CPU per request`);
}
results.sort((a, b) => a - b);
console.log(`median ${results[Math.floor(results.length / 2)]!.toFixed(1)} µs CPU per request at ${values.rate}/s`);
await p.stop();
process.exit(0);
