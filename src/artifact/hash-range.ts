/** Hashes one byte range of one file, streaming through a caller-owned buffer (bounded memory). */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { PerimeterError } from '../errors/errors.ts';
import { createStreamHasher } from './algorithms.ts';
import type { HashAlgorithm } from './manifest.ts';

export interface RangeTask {
  id: number;
  path: string;
  start: number;
  /** Exclusive; -1 means "to the end of the file" (files method). */
  end: number;
  algorithm: HashAlgorithm;
  /** Size the walk saw; a different size now means the file changed under us. */
  expectedSize: number;
}

export const CHUNK_BYTES = 4 * 1024 * 1024;

export function hashRange(task: RangeTask, buf: Buffer, onBytes?: (n: number) => void): string {
  const fd = openSync(task.path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size !== task.expectedSize) {
      throw new PerimeterError('PERIM_E_FILE_CHANGED', `${task.path} changed size while hashing (${task.expectedSize} -> ${size})`);
    }
    const end = task.end < 0 ? size : task.end;
    const h = createStreamHasher(task.algorithm);
    let pos = task.start;
    let pending = 0;
    while (pos < end) {
      const want = Math.min(buf.length, end - pos);
      const n = readSync(fd, buf, 0, want, pos);
      if (n === 0) throw new PerimeterError('PERIM_E_FILE_CHANGED', `${task.path} shrank while hashing`);
      h.update(n === buf.length ? buf : buf.subarray(0, n));
      pos += n;
      pending += n;
      if (onBytes && pending >= 64 * 1024 * 1024) {
        onBytes(pending);
        pending = 0;
      }
    }
    if (onBytes && pending > 0) onBytes(pending);
    return h.digestHex();
  } finally {
    closeSync(fd);
  }
}
