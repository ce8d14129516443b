/**
 * One target's measurements for the gateway benchmark, all with wrk on the same request:
 *   one   - 1 connection, 1 thread, closed loop: latency at no load
 *   paced - `rate` requests/s over `pacedConnections` connections: latency at a fixed load
 *   max   - closed loop at each of `maxConnections`: maximum throughput
 * each after a warm-up, each checked against the simulated upstream's counter (a proxy's requests
 * must really reach it) and for errors.
 */
import { cpuSnap, othersPercent, waitQuiet } from './cpu.ts';
import { runWrk, errorCount } from './wrk.ts';
import type { WrkResult } from './wrk.ts';
import type { Target, Upstream } from './targets.ts';
import { BODY, CHAT_PATH, CLIENT_KEY } from './workload.ts';

export interface MeasureOptions {
  readonly bodyFile: string;
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly rate: number;
  readonly pacedConnections: number;
  readonly maxConnections: readonly number[];
  /** Before each measurement, wait up to quietWaitS for a second in which other processes use <= quietPercent of the CPU. */
  readonly quietPercent: number;
  readonly quietWaitS: number;
}

export interface Sample extends WrkResult {
  /** Chat requests the simulated upstream received during the run. */
  readonly upstreamChat: number;
  /** CPU used by processes outside the benchmark during the run, % of all cores (null off Linux). */
  readonly othersCpuPercent: number | null;
  /** How long the run waited for a quiet machine before it started. */
  readonly quietWaitMs: number;
}

export interface Measured {
  readonly one: Sample;
  readonly paced: Sample;
  readonly max: readonly Sample[];
}

export function clientHeaders(t: Target): Record<string, string> {
  return { authorization: `Bearer ${CLIENT_KEY}`, ...t.headers };
}

/** One request through the target: it must answer 200 with the upstream's completion, and the upstream must see it whole. */
export async function sanityCheck(t: Target, up: Upstream): Promise<void> {
  const before = await up.stats();
  const r = await fetch(`${t.url}${CHAT_PATH}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...clientHeaders(t) },
    body: BODY,
  });
  const text = await r.text();
  const after = await up.stats();
  const fail = (why: string) => { throw new Error(`${t.label}: sanity check failed: ${why}`); };
  if (r.status !== 200) fail(`status ${r.status}: ${text.slice(0, 300)}`);
  let j: { object?: string; usage?: { total_tokens?: number } };
  try { j = JSON.parse(text) as typeof j; } catch { return fail(`not JSON: ${text.slice(0, 300)}`); }
  if (j.object !== 'chat.completion' || typeof j.usage?.total_tokens !== 'number') fail(`unexpected body: ${text.slice(0, 300)}`);
  if (after.chat - before.chat !== 1) fail(`the upstream saw ${after.chat - before.chat} chat requests, expected 1`);
  if (after.chatWithAuth - before.chatWithAuth !== 1) fail('the upstream request carried no Authorization header');
  // A proxy may re-serialize the JSON, but the ~1 KB prompt must arrive.
  if (after.lastChatBodyBytes < Buffer.byteLength(BODY) * 0.9) fail(`the upstream got ${after.lastChatBodyBytes} body bytes`);
}

export async function measure(t: Target, up: Upstream, o: MeasureOptions, problems: string[]): Promise<Measured> {
  const url = `${t.url}${CHAT_PATH}`;
  const headers = clientHeaders(t);
  const wrk = (connections: number, seconds: number, rate = 0) =>
    runWrk({ url, headers, bodyFile: o.bodyFile, connections, seconds, rate });
  const sample = async (what: string, connections: number, rate = 0): Promise<Sample> => {
    const quiet = await waitQuiet(o.quietPercent, o.quietWaitS * 1000);
    const before = await settle(up);
    const c0 = cpuSnap();
    const r = await wrk(connections, o.seconds, rate);
    const c1 = cpuSnap();
    const upstreamChat = (await settle(up)) - before;
    const othersCpuPercent = othersPercent(c0, c1);
    const s = { ...r, upstreamChat, othersCpuPercent, quietWaitMs: quiet.waitedMs };
    const errs = errorCount(r);
    if (errs > 0) problems.push(`${t.name} ${what}: ${errs} errors ${JSON.stringify(r.errors)}`);
    // Requests in flight when wrk stops reach the upstream without being counted by wrk.
    if (t.name !== 'direct' && (upstreamChat < r.requests || upstreamChat > r.requests + connections)) {
      problems.push(`${t.name} ${what}: wrk counted ${r.requests} responses, the upstream saw ${upstreamChat} requests`);
    }
    if (rate > 0 && r.rps < rate * 0.97) {
      problems.push(`${t.name} ${what}: reached ${r.rps.toFixed(0)} requests/s of the ${rate} asked`);
    }
    const l = r.latencyMs;
    console.log(`  ${what.padEnd(15)} ${r.rps.toFixed(0).padStart(6)} req/s  p50 ${l.p50.toFixed(3)}  p99 ${l.p99.toFixed(3)}  ` +
      `p99.9 ${l.p999.toFixed(3)} ms  (${r.requests} requests, upstream saw ${upstreamChat}` +
      `${errs ? `, ${errs} errors` : ''}${othersCpuPercent === null ? '' : `; others' CPU ${othersCpuPercent}%`}` +
      `${quiet.waitedMs > 1500 ? `; waited ${(quiet.waitedMs / 1000).toFixed(0)} s for a quiet machine` : ''})`);
    return s;
  };

  await wrk(16, o.warmupSeconds);
  const one = await sample('1 connection', 1);
  await wrk(o.pacedConnections, Math.max(1, Math.round(o.warmupSeconds / 2)), o.rate);
  const paced = await sample(`${o.rate} req/s`, o.pacedConnections, o.rate);
  await wrk(16, Math.max(1, Math.round(o.warmupSeconds / 2)));
  const max: Sample[] = [];
  for (const c of o.maxConnections) max.push(await sample(`max, ${c} conns`, c));
  return { one, paced, max };
}

/**
 * Waits until the upstream's chat counter stops moving (a proxy may still be working off requests
 * queued by the previous wrk run) and returns it.
 */
async function settle(up: Upstream): Promise<number> {
  let last = (await up.stats()).chat;
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 150));
    const now = (await up.stats()).chat;
    if (now === last) return now;
    last = now;
  }
  throw new Error('the simulated upstream still receives requests 15 s after the load stopped');
}
