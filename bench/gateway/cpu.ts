/**
 * How busy the rest of the machine was during a measurement (Linux /proc): the CPU time of every
 * process outside this benchmark's process tree, as a share of all cores. The benchmark cannot stop
 * other work on a shared machine, but it can say when a number was taken under it.
 *
 * ours = this process (with the children it has reaped, e.g. each wrk run) + its live descendants
 * (upstream, targets), each with their reaped children; others = all busy CPU time - ours.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

const HZ = 100; // USER_HZ on Linux

interface Snap { readonly t: number; readonly busy: number; readonly ours: number }

function busyTicks(): number {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  return cpu[0]! + cpu[1]! + cpu[2]! + cpu[5]! + cpu[6]! + cpu[7]!;
}

function stat(pid: string): { ppid: number; ticks: number } | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // after "pid (comm) ": state ppid ... utime(12) stime(13) cutime(14) cstime(15), 0-based from state
    return { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) };
  } catch {
    return null;
  }
}

function ourTicks(): number {
  const procs = new Map<number, { ppid: number; ticks: number }>();
  for (const name of readdirSync('/proc')) {
    if (name.charCodeAt(0) < 48 || name.charCodeAt(0) > 57) continue;
    const s = stat(name);
    if (s) procs.set(Number(name), s);
  }
  const ours = new Set<number>([process.pid]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, s] of procs) if (!ours.has(pid) && ours.has(s.ppid)) { ours.add(pid); grew = true; }
  }
  let sum = 0;
  for (const pid of ours) sum += procs.get(pid)?.ticks ?? 0;
  return sum;
}

let supported: boolean | null = null;

export function cpuSnap(): Snap | null {
  if (supported === false) return null;
  try {
    const s = { t: performance.now(), busy: busyTicks(), ours: ourTicks() };
    supported = true;
    return s;
  } catch {
    supported = false;
    return null;
  }
}

/** Percent of all cores used by other processes between two snapshots (null off Linux). */
export function othersPercent(a: Snap | null, b: Snap | null): number | null {
  if (!a || !b) return null;
  const capacity = ((b.t - a.t) / 1000) * HZ * availableParallelism();
  const others = (b.busy - a.busy) - (b.ours - a.ours);
  return Math.max(0, Math.round((others / capacity) * 1000) / 10);
}

/**
 * Waits (up to `maxWaitMs`) for a 1 s window in which other processes use at most `maxPercent` of
 * the machine's CPU. Returns how long it waited and the last window's share (null off Linux).
 */
export async function waitQuiet(maxPercent: number, maxWaitMs: number): Promise<{ waitedMs: number; othersPercent: number | null }> {
  const start = Date.now();
  let pct: number | null = null;
  do {
    const a = cpuSnap();
    await new Promise((r) => setTimeout(r, 1000));
    pct = othersPercent(a, cpuSnap());
    if (pct === null || pct <= maxPercent) break;
  } while (Date.now() - start < maxWaitMs);
  return { waitedMs: Date.now() - start, othersPercent: pct };
}
