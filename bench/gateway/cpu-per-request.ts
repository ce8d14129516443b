/**
 * CPU per request of `perimeter serve` (main process and all its threads) at a fixed rate: a
 * steadier measure than maximum throughput on a shared 2-core machine, for A/B work on the hot
 * path. Starts the simulated upstream and the Perimeter target of run.ts, paces wrk at --rate
 * requests/s for --seconds, and reads the process's user+system CPU from /proc before and after.
 *
 *   npx node bench/gateway/cpu-per-request.ts [--rate 3000] [--seconds 8] [--runs 3] [--profile DIR] [--target perimeter|bare]
 *
 * --profile writes a V8 CPU profile of the target's process (node --cpu-prof) into DIR when it stops.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startBare, startUpstream } from './targets.ts';
import { startPerimeter } from './perimeter-target.ts';
import { killChildrenOnExit } from './procs.ts';
import { BODY, CHAT_PATH } from './workload.ts';

const { values } = parseArgs({ options: { rate: { type: 'string', default: '3000' }, seconds: { type: 'string', default: '8' }, runs: { type: 'string', default: '3' }, profile: { type: 'string' }, target: { type: 'string', default: 'perimeter' } } });
killChildrenOnExit();
const dir = mkdtempSync(join(tmpdir(), 'perimeter-cpu-'));
const up = await startUpstream(dir);
const nodeFlags = values.profile ? ['--cpu-prof', `--cpu-prof-dir=${values.profile}`] : [];
const p = values.target === 'bare' ? await startBare(up, dir, nodeFlags) : await startPerimeter(up.url, { nodeFlags });
const pid = p.pid!;
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
/** CPU seconds per thread name (main, worker threads, V8 helpers, libuv pool), from /proc. */
const threads = (): Map<string, number> => {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const s = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = s.slice(s.indexOf('(') + 1, s.lastIndexOf(')')).replace(/\d+$/, '#');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      out.set(name, (out.get(name) ?? 0) + (Number(f[11]) + Number(f[12])) / ticks);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return out;
};
wrk(Number(values.rate), 3); // warm-up
const results: number[] = [];
for (let i = 0; i < Number(values.runs); i++) {
  const c0 = cpu();
  const t0 = threads();
  const n = wrk(Number(values.rate), Number(values.seconds));
  const used = cpu() - c0;
  const per = [...threads()].map(([k, v]) => [k, ((v - (t0.get(k) ?? 0)) * 1e6) / n] as const).filter(([, v]) => v >= 1);
  results.push((used * 1e6) / n);
  console.log(`run ${i + 1}: ${n} requests, ${used.toFixed(2)} s CPU, ${((used * 1e6) / n).toFixed(1)} µs CPU per request (${per.map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')})`);
}
results.sort((a, b) => a - b);
console.log(`median ${results[Math.floor(results.length / 2)]!.toFixed(1)} µs CPU per request at ${values.rate}/s`);
await p.stop();
process.exit(0);
