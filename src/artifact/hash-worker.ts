/** Worker thread: receives RangeTasks, answers with digests and progress. Holds one read buffer. */
import { parentPort } from 'node:worker_threads';
import { CHUNK_BYTES, hashRange, type RangeTask } from './hash-range.ts';

export type WorkerReply =
  | { type: 'done'; id: number; digest: string }
  | { type: 'progress'; bytes: number }
  | { type: 'error'; id: number; code?: string; message: string };

const buf = Buffer.allocUnsafe(CHUNK_BYTES);
const port = parentPort!;
port.on('message', (task: RangeTask) => {
  try {
    const digest = hashRange(task, buf, (bytes) => port.postMessage({ type: 'progress', bytes } satisfies WorkerReply));
    port.postMessage({ type: 'done', id: task.id, digest } satisfies WorkerReply);
  } catch (e) {
    const err = e as { code?: string; message?: string };
    port.postMessage({ type: 'error', id: task.id, code: err.code, message: err.message ?? String(e) } satisfies WorkerReply);
  }
});
