/**
 * A COPY ... TO STDOUT on a pg client as an async generator, with backpressure: what the COPY's
 * handler queues is yielded in order; the socket pauses while `high` items wait and resumes below
 * `low`. The consumer can hold the socket open (`flowing`) while it runs a query of its own on the
 * same client, which pg sends only after the COPY ends.
 */
import type pg from 'pg';
import type { BinaryCopy } from './inventory-copy.ts';

interface Paused {
  pause(): void;
  resume(): void;
}

/** Lets the consumer keep the socket flowing while it waits on a query of its own. */
export class Flow {
  /** While true the socket does not pause. */
  flowing = false;
  /** Resumes the socket now (set by streamCopy). */
  resume: () => void = () => {};
}

export async function* streamCopy<T>(client: pg.Client, make: (push: (item: T) => void) => BinaryCopy, high: number, low: number, flow: Flow = new Flow()): AsyncGenerator<T> {
  const queue: T[] = [];
  const stream = (client as unknown as { connection: { stream: Paused } }).connection.stream;
  let wake: (() => void) | undefined;
  let paused = false;
  let stopped = false;
  const pause = (on: boolean): void => {
    if (on === paused) return;
    paused = on;
    if (on) stream.pause();
    else stream.resume();
  };
  flow.resume = () => pause(false);
  const copy = make((item) => {
    if (stopped) return;
    queue.push(item);
    if (queue.length >= high && !flow.flowing) pause(true);
    wake?.();
  });
  let finished = false;
  const done = copy.done.finally(() => {
    finished = true;
    wake?.();
  });
  done.catch(() => {}); // awaited below unless the consumer failed first
  void client.query(copy as unknown as pg.QueryConfig);
  try {
    for (;;) {
      if (!queue.length) {
        if (finished) break;
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
        continue;
      }
      const next = queue.shift()!;
      if (queue.length < low) pause(false);
      yield next;
    }
  } finally {
    // On a consumer's error the rest of the COPY is dropped (ending the client cuts it short).
    stopped = true;
    pause(false);
  }
  await done;
}
