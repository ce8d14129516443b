/**
 * A COPY ... TO STDOUT as an async generator, with backpressure: a parser turns the COPY's bytes
 * into items, which are yielded in order; the stream is held while `high` items wait and let go
 * below `low`. The consumer can keep it flowing (`flowing`) while it runs a query of its own on
 * the same connection, which is sent only after the COPY ends.
 */
import type { PgReader } from '../store/pg-reader.ts';

/** Reads a COPY's bytes (message boundaries not kept); finish: the bytes have ended. */
export interface CopyParser {
  take(chunk: Buffer): void;
  finish(): void;
}

/** Lets the consumer keep the stream flowing while it waits on a query of its own. */
export class Flow {
  /** While true the stream is not held. */
  flowing = false;
  /** Lets the stream go now (set by streamCopy). */
  resume: () => void = () => {};
}

export async function* streamCopy<T>(reader: PgReader, sql: string, parser: (push: (item: T) => void) => CopyParser, high: number, low: number, flow: Flow = new Flow()): AsyncGenerator<T> {
  const queue: T[] = [];
  let wake: (() => void) | undefined;
  /** While the consumer is behind: the one promise every chunk's sink call returns (a reader may call it again before it settles). */
  let gate: Promise<void> | undefined;
  let release: (() => void) | undefined;
  let stopped = false;
  let finished = false;
  let failure: { error: unknown } | undefined;
  flow.resume = () => {
    release?.();
    release = undefined;
    gate = undefined;
  };
  const p = parser((item) => {
    queue.push(item);
    wake?.();
  });
  const done = reader
    .copyOut(sql, (chunk) => {
      if (stopped) return;
      p.take(chunk);
      if (queue.length >= high && !flow.flowing) return (gate ??= new Promise<void>((r) => (release = r)));
    })
    .then(() => p.finish())
    .catch((error: unknown) => void (failure = { error }))
    .finally(() => {
      finished = true;
      wake?.();
    });
  try {
    for (;;) {
      if (failure) throw failure.error;
      if (!queue.length) {
        if (finished) break;
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
        continue;
      }
      const next = queue.shift()!;
      if (queue.length < low) flow.resume();
      yield next;
    }
  } finally {
    // On the consumer's error the rest of the COPY is read and dropped (or cut short by ending the connection).
    stopped = true;
    flow.resume();
  }
  await done;
}
