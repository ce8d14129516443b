/**
 * Child processes for the gateway benchmark: start them, learn their port, wait until they answer,
 * and make sure every one is gone when the benchmark ends, fails or is interrupted.
 *
 * Every child gets an IPC channel. Our own servers (upstream.ts, bare.ts) report their port over
 * it and exit on 'disconnect'; third-party servers (Portkey) get a one-line preload that does the
 * same on 'disconnect', so even a SIGKILLed benchmark leaves no server behind.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { createServer } from 'node:net';

const children = new Set<ChildProcess>();

/** Kill `child` too when the benchmark ends (used for wrk runs; a wrk run also ends by itself at -d). */
export function track(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
}

/** Exit when the parent's IPC channel closes (the parent ended, however it ended). */
export const EXIT_WITH_PARENT =
  '--import=data:text/javascript,process.on("disconnect",()=>process.exit(0))';

export interface Started {
  readonly child: ChildProcess;
  readonly port: number;
  stop(): Promise<void>;
}

export interface SpawnOptions {
  readonly cwd?: string;
  /** File that receives the child's stdout and stderr. */
  readonly log: string;
  /** Wait for a { port } IPC message (our servers); otherwise `port` must be given. */
  readonly port?: number;
  readonly env?: NodeJS.ProcessEnv;
}

/** Starts `node args...` (this same Node binary) and resolves once it has a port. */
export async function startNode(args: string[], opts: SpawnOptions): Promise<Started> {
  const fd = openSync(opts.log, 'w');
  const child = spawn(process.execPath, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: ['ignore', fd, fd, 'ipc'],
  });
  closeSync(fd);
  track(child);
  const stop = () => stopChild(child);
  if (opts.port !== undefined) return { child, port: opts.port, stop };
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args.join(' ')}: no port within 15 s (see ${opts.log})`)), 15_000);
    child.once('message', (m: unknown) => {
      clearTimeout(timer);
      const p = (m as { port?: unknown } | null)?.port;
      if (typeof p === 'number' && p > 0) resolve(p);
      else reject(new Error(`${args.join(' ')}: bad ready message ${JSON.stringify(m)}`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${args.join(' ')} exited (${code ?? signal}) before it was ready (see ${opts.log})`));
    });
  });
  return { child, port, stop };
}

export function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 3_000);
    child.once('exit', () => { clearTimeout(kill); resolve(); });
    // An open IPC channel keeps a child's event loop alive: close it, so a graceful SIGTERM can finish.
    if (child.connected) child.disconnect();
    child.kill('SIGTERM');
  });
}

/** Kills every child still running, synchronously (safe in 'exit' handlers). */
export function killAll(): void {
  for (const c of children) {
    try { c.kill('SIGKILL'); } catch { /* already gone */ }
  }
  children.clear();
}

let hooked = false;
/** On exit, error or signal: kill every child. Call once at start. */
export function killChildrenOnExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => { killAll(); process.exit(130); });
  }
  process.on('uncaughtException', (err) => { console.error(err); killAll(); process.exit(1); });
  process.on('unhandledRejection', (err) => { console.error(err); killAll(); process.exit(1); });
}

/** A port that was free a moment ago (for servers that must be told their port). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** Polls `url` until `ok(status, body)` holds, or throws after `timeoutMs`. */
export async function waitFor(url: string, init: RequestInit, ok: (status: number, body: string) => boolean,
  timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const r = await fetch(url, { ...init, signal: AbortSignal.timeout(2_000) });
      const body = await r.text();
      if (ok(r.status, body)) return;
      last = `${r.status} ${body.slice(0, 200)}`;
    } catch (err) {
      last = String(err);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} not ready within ${timeoutMs} ms: ${last}`);
}
