/**
 * Runs wrk (https://github.com/wg/wrk, Debian package `wrk`) with bench/gateway/load.lua and parses
 * the "@@BENCH {json}" line its done() hook prints.
 */
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { track } from './procs.ts';

export interface WrkResult {
  readonly connections: number;
  readonly threads: number;
  /** Requested pace in requests/s for all connections together; 0 = as fast as possible. */
  readonly rate: number;
  readonly requests: number;
  readonly durationS: number;
  /** Achieved requests/s. */
  readonly rps: number;
  readonly errors: { connect: number; read: number; write: number; status: number; timeout: number };
  /** Latency in milliseconds. */
  readonly latencyMs: { min: number; mean: number; stdev: number; max: number; p50: number; p90: number; p99: number; p999: number };
}

export interface WrkRun {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly bodyFile: string;
  readonly connections: number;
  readonly threads?: number;
  readonly seconds: number;
  /** Total requests/s to pace to (split evenly over the threads); 0 or absent = closed loop. */
  readonly rate?: number;
}

const script = join(import.meta.dirname, 'load.lua');

/** The wrk version line, or null when wrk is not installed. */
export function wrkVersion(): string | null {
  const r = spawnSync('wrk', ['--version'], { encoding: 'utf8' });
  if (r.error) return null;
  const line = `${r.stdout}${r.stderr}`.split('\n')[0]?.trim() ?? '';
  return line.startsWith('wrk') ? line : null;
}

export const WRK_INSTALL_HINT = 'wrk not found: install it with `apt-get install -y wrk` (Debian/Ubuntu) ' +
  'or `brew install wrk` (macOS), then run the benchmark again.';

export function runWrk(run: WrkRun): Promise<WrkResult> {
  const threads = run.threads ?? 1;
  const rate = run.rate ?? 0;
  const args = [`-t${threads}`, `-c${run.connections}`, `-d${run.seconds}s`, '--timeout', '10s',
    '-s', script, run.url];
  const env = {
    ...process.env,
    BENCH_BODY: run.bodyFile,
    BENCH_HEADERS: Object.entries(run.headers).map(([k, v]) => `${k}: ${v}`).join('\n'),
    BENCH_RATE: rate > 0 ? String(rate / threads) : '0',
  };
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    track(child);
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d; });
    child.once('error', (e) => reject(e));
    child.once('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('@@BENCH '));
      if (code !== 0 || !line) {
        reject(new Error(`wrk ${args.join(' ')} failed (${code}):\n${out}${err}`));
        return;
      }
      const j = JSON.parse(line.slice('@@BENCH '.length)) as {
        requests: number; duration_us: number; errors: WrkResult['errors'];
        latency_us: Record<keyof WrkResult['latencyMs'], number>;
      };
      const ms = (us: number) => Math.round(us) / 1000;
      const l = j.latency_us;
      const durationS = j.duration_us / 1e6;
      resolve({
        connections: run.connections,
        threads,
        rate,
        requests: j.requests,
        durationS,
        rps: j.requests / durationS,
        errors: j.errors,
        latencyMs: {
          min: ms(l.min), mean: ms(l.mean), stdev: ms(l.stdev), max: ms(l.max),
          p50: ms(l.p50), p90: ms(l.p90), p99: ms(l.p99), p999: ms(l.p999),
        },
      });
    });
  });
}

export function errorCount(r: WrkResult): number {
  const e = r.errors;
  return e.connect + e.read + e.write + e.status + e.timeout;
}
