/**
 * Bounded inflation of a deflate (zip member) or gzip stream read from a Blob. Input is fed in
 * chunks and output is counted as it arrives, so a bomb stops after the first bytes over a limit:
 * memory stays at `keep` bytes however large the stream claims or turns out to be.
 */
import { createGunzip, createInflateRaw, inflateRawSync } from 'node:zlib';
import type { Transform } from 'node:stream';
import type { Blob } from '../types.ts';
import { KiB } from './common.ts';

const INPUT_CHUNK = 256 * KiB;
/** Members compressed to at most this are inflated in one synchronous call when that suffices. */
const SYNC_INPUT_MAX = 64 * KiB;

export interface InflateOptions {
  kind: 'raw' | 'gzip';
  /** Bytes of output kept (the start of the stream). */
  keep: number;
  /** Stop as soon as more than `keep` bytes came out (the prefix is all the caller wants). */
  stopAfterKeep: boolean;
  /** Stop when the output exceeds this many bytes (ratio cap): `stop` becomes 'limit'. */
  maxOutput: number;
  /** Counts output against the file's byte budget; false stops with 'budget'. */
  consume: (n: number) => boolean;
  /** Throws when the time budget is spent (ScanContext.checkDeadline). */
  checkDeadline: () => void;
}

export interface InflateResult {
  /** The first min(keep, produced) bytes of output. */
  data: Buffer;
  /** Bytes of output seen before the stream ended or inflation stopped. */
  produced: number;
  /** The stream ended cleanly and every byte of it is in `data`. */
  complete: boolean;
  /** Why inflation stopped early, if it did. */
  stop?: 'keep' | 'limit' | 'budget';
  /** Corrupt or truncated stream (zlib's message); `data` holds what came out before. */
  error?: string;
}

/** Inflates `length` bytes of `blob` from `start` within the bounds of `o`. */
export async function inflateBounded(blob: Blob, start: number, length: number, o: InflateOptions): Promise<InflateResult> {
  if (o.kind === 'raw' && length <= SYNC_INPUT_MAX) {
    const quick = inflateSmall(blob.read(start, length), o);
    if (quick) return quick;
  }
  return inflateStreaming(blob, start, length, o);
}

/** One synchronous call for small members; undefined when streaming must decide (error or too large). */
function inflateSmall(input: Buffer, o: InflateOptions): InflateResult | undefined {
  const cap = Math.min(o.keep, o.maxOutput);
  let out: Buffer;
  try {
    out = inflateRawSync(input, { maxOutputLength: Math.max(1, cap) });
  } catch {
    return undefined; // over the cap, truncated or corrupt: the streaming path keeps the partial output
  }
  if (!o.consume(out.length)) return { data: out, produced: out.length, complete: false, stop: 'budget' };
  return { data: out, produced: out.length, complete: true };
}

async function inflateStreaming(blob: Blob, start: number, length: number, o: InflateOptions): Promise<InflateResult> {
  const z = o.kind === 'raw' ? createInflateRaw({ chunkSize: 64 * KiB }) : createGunzip({ chunkSize: 64 * KiB });
  const kept: Buffer[] = [];
  let keptLen = 0;
  let produced = 0;
  let stop: InflateResult['stop'];
  let error: string | undefined;
  let ended = false;
  const finished = new Promise<void>((resolve) => {
    z.on('data', (c: Buffer) => {
      if (stop !== undefined) return;
      produced += c.length;
      if (keptLen < o.keep) {
        const part = c.length <= o.keep - keptLen ? c : c.subarray(0, o.keep - keptLen);
        kept.push(part);
        keptLen += part.length;
      }
      if (!o.consume(c.length)) stop = 'budget';
      else if (produced > o.maxOutput) stop = 'limit';
      else if (o.stopAfterKeep && produced > o.keep) stop = 'keep';
      if (stop !== undefined) z.destroy();
    });
    z.on('end', () => {
      ended = true;
    });
    z.on('error', (e: Error) => {
      if (stop === undefined) error = e.message;
    });
    z.on('close', () => resolve());
  });
  try {
    let off = 0;
    while (off < length && stop === undefined && error === undefined && !z.destroyed) {
      o.checkDeadline();
      const buf = blob.read(start + off, Math.min(INPUT_CHUNK, length - off));
      if (buf.length === 0) break;
      off += buf.length;
      if (!z.write(buf)) await drainOrClose(z);
    }
    if (!z.destroyed) z.end();
    await finished;
  } finally {
    if (!z.destroyed) z.destroy();
  }
  const data = kept.length === 1 ? kept[0]! : Buffer.concat(kept, keptLen);
  const r: InflateResult = { data, produced, complete: ended && stop === undefined && error === undefined && produced === keptLen };
  if (stop !== undefined) r.stop = stop;
  else if (error === undefined && !ended) error = 'stream did not end';
  else if (error === undefined && produced > keptLen) r.stop = 'keep';
  if (error !== undefined) r.error = error;
  return r;
}

function drainOrClose(z: Transform): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      z.off('drain', done);
      z.off('close', done);
      resolve();
    };
    z.once('drain', done);
    z.once('close', done);
  });
}
