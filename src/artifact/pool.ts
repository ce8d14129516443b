/**
 * Runs hashing tasks on worker threads, largest first, handing the next task to whichever worker
 * is free (longest-processing-time scheduling). Small jobs run inline: a worker costs ~30 ms.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { PerimeterError, type ErrorCode, ERROR_CODES } from '../errors/errors.ts';
import { CHUNK_BYTES, hashRange, type RangeTask } from './hash-range.ts';
import type { WorkerReply } from './hash-worker.ts';

export interface PoolOptions {
  /** Worker count; default: available cores. */
  workers?: number;
  /** Below this many bytes in total, hash on the calling thread (default 64 MiB). */
  inlineBelowBytes?: number;
  onBytes?: (n: number) => void;
}

const taskBytes = (t: RangeTask): number => (t.end < 0 ? t.expectedSize : t.end) - t.start;

export async function runHashTasks(tasks: RangeTask[], options: PoolOptions = {}): Promise<Map<number, string>> {
  const results = new Map<number, string>();
  const total = tasks.reduce((s, t) => s + taskBytes(t), 0);
  const workerCount = Math.max(1, Math.min(options.workers ?? availableParallelism(), tasks.length));
  if (total < (options.inlineBelowBytes ?? 64 * 1024 * 1024)) {
    const buf = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, Math.max(64 * 1024, total)));
    for (const t of tasks) results.set(t.id, hashRange(t, buf, options.onBytes));
    return results;
  }
  const queue = [...tasks].sort((a, b) => taskBytes(b) - taskBytes(a));
  const workers: Worker[] = [];
  try {
    await new Promise<void>((resolveAll, rejectAll) => {
      let running = 0;
      let failed = false;
      const fail = (e: unknown): void => {
        if (failed) return;
        failed = true;
        rejectAll(e);
      };
      const feed = (w: Worker): void => {
        const next = queue.shift();
        if (next === undefined) {
          if (running === 0) resolveAll();
          return;
        }
        running++;
        w.postMessage(next);
      };
      for (let i = 0; i < workerCount; i++) {
        const w = new Worker(new URL('./hash-worker.ts', import.meta.url));
        workers.push(w);
        w.on('message', (m: WorkerReply) => {
          if (m.type === 'progress') {
            options.onBytes?.(m.bytes);
            return;
          }
          running--;
          if (m.type === 'error') {
            const code = (m.code && m.code in ERROR_CODES ? m.code : 'PERIM_E_IO') as ErrorCode;
            fail(new PerimeterError(code, m.message));
            return;
          }
          results.set(m.id, m.digest);
          if (!failed) feed(w);
        });
        w.on('error', fail);
        w.on('exit', (c) => {
          if (c !== 0) fail(new PerimeterError('PERIM_E_INTERNAL', `hash worker exited with code ${c}`));
        });
      }
      for (const w of workers) feed(w);
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return results;
}
