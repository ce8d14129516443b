/**
 * Summaries of the gateway benchmark: the median of each measure over the rounds, the markdown
 * table, and the targets checked for every proxy.
 */
import type { Measured } from './measure.ts';

export interface Summary {
  readonly name: string;
  readonly label: string;
  readonly rounds: number;
  readonly oneP50: number;
  readonly oneP99: number;
  readonly pacedRps: number;
  readonly pacedP50: number;
  readonly pacedP99: number;
  readonly pacedP999: number;
  /** Requests/s per connection count, e.g. { 16: 8000, 64: 8100 }. */
  readonly maxRps: Readonly<Record<number, number>>;
  /** The best of maxRps. */
  readonly bestRps: number;
  /** Mean CPU share used by processes outside the benchmark during this target's measurements (NaN off Linux). */
  readonly othersCpuPercent: number;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return Number.NaN;
  return n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

/**
 * `best`: the lowest latency and highest throughput of the rounds, each measure on its own (other
 * work on the machine only ever makes a number worse); `median`: the median of the rounds.
 */
export type Stat = 'best' | 'median';

export function summarize(name: string, label: string, runs: readonly Measured[], stat: Stat): Summary {
  const pick = (f: (r: Measured) => number, higherIsBetter: boolean) => {
    const xs = runs.map(f);
    if (stat === 'median') return median(xs);
    return higherIsBetter ? Math.max(...xs) : Math.min(...xs);
  };
  const lat = (f: (r: Measured) => number) => pick(f, false);
  const rps = (f: (r: Measured) => number) => pick(f, true);
  const maxRps: Record<number, number> = {};
  for (const [i, s] of (runs[0]?.max ?? []).entries()) maxRps[s.connections] = rps((r) => r.max[i]!.rps);
  const others = runs.flatMap((r) => [r.one, r.paced, ...r.max].map((s) => s.othersCpuPercent ?? Number.NaN));
  return {
    name, label, rounds: runs.length,
    oneP50: lat((r) => r.one.latencyMs.p50),
    oneP99: lat((r) => r.one.latencyMs.p99),
    pacedRps: rps((r) => r.paced.rps),
    pacedP50: lat((r) => r.paced.latencyMs.p50),
    pacedP99: lat((r) => r.paced.latencyMs.p99),
    pacedP999: lat((r) => r.paced.latencyMs.p999),
    maxRps,
    bestRps: Math.max(...Object.values(maxRps)),
    othersCpuPercent: Math.round(others.reduce((a, b) => a + b, 0) / others.length),
  };
}

const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : '-');
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '-');
const signed = (x: number) => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${x.toFixed(3)}` : '-');
const int = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '-');

export function table(rows: readonly Summary[], rate: number, conns: readonly number[]): string {
  const direct = rows.find((r) => r.name === 'direct');
  const portkey = rows.find((r) => r.name === 'portkey');
  const bare = rows.find((r) => r.name === 'bare');
  const head = ['target', '1 conn p50 / p99 (ms)', 'added p50 (ms)',
    `${rate}/s p50 / p99 / p99.9 (ms)`, `${rate}/s reached`, 'added p99 (ms)',
    ...conns.map((c) => `max req/s, ${c} conns`), 'vs Portkey', 'vs bare', "others' CPU"];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of rows) {
    const cells = [
      r.label,
      `${f3(r.oneP50)} / ${f3(r.oneP99)}`,
      r === direct || !direct ? '' : signed(r.oneP50 - direct.oneP50),
      `${f3(r.pacedP50)} / ${f3(r.pacedP99)} / ${f3(r.pacedP999)}`,
      int(r.pacedRps),
      r === direct || !direct ? '' : signed(r.pacedP99 - direct.pacedP99),
      ...conns.map((c) => int(r.maxRps[c] ?? Number.NaN)),
      portkey ? `${f2(r.bestRps / portkey.bestRps)}x` : '-',
      bare ? `${f2(r.bestRps / bare.bestRps)}x` : '-',
      Number.isFinite(r.othersCpuPercent) ? `${r.othersCpuPercent}%` : '-',
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

export interface Check { readonly target: string; readonly what: string; readonly value: string; readonly ok: boolean }

/** The targets for a full gateway, checked for every proxy (bare and Portkey show the scale). */
export function checks(rows: readonly Summary[], rate: number): Check[] {
  const direct = rows.find((r) => r.name === 'direct');
  const portkey = rows.find((r) => r.name === 'portkey');
  const bare = rows.find((r) => r.name === 'bare');
  const out: Check[] = [];
  for (const r of rows) {
    if (r === direct || !direct) continue;
    const addedP50 = r.oneP50 - direct.oneP50;
    const addedP99 = r.pacedP99 - direct.pacedP99;
    out.push({ target: r.name, what: 'added p50 at 1 connection <= 0.4 ms', value: `${signed(addedP50)} ms`, ok: addedP50 <= 0.4 });
    out.push({
      target: r.name, what: `added p99 at ${rate} req/s <= 3 ms`, value: `${signed(addedP99)} ms at ${int(r.pacedRps)}/s`,
      ok: addedP99 <= 3 && r.pacedRps >= rate * 0.97,
    });
    if (portkey && r !== portkey) {
      const x = r.bestRps / portkey.bestRps;
      out.push({ target: r.name, what: 'max throughput >= 6x Portkey', value: `${f2(x)}x`, ok: x >= 6 });
    }
    if (bare && r !== bare) {
      const x = r.bestRps / bare.bestRps;
      out.push({ target: r.name, what: 'max throughput >= 0.5x bare pass-through', value: `${f2(x)}x`, ok: x >= 0.5 });
    }
  }
  return out;
}
