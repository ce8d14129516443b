/** Blobs: a file read on demand (never whole), or bytes already in memory. */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { Blob } from './types.ts';

export class BufferBlob implements Blob {
  readonly #buf: Buffer;
  constructor(buf: Buffer) {
    this.#buf = buf;
  }
  get size(): number {
    return this.#buf.length;
  }
  read(offset: number, length: number): Buffer {
    if (offset >= this.#buf.length || length <= 0) return Buffer.alloc(0);
    return this.#buf.subarray(offset, Math.min(this.#buf.length, offset + length));
  }
}

/** A file opened once; reads go straight to the page cache with readSync. Call close(). */
export class FileBlob implements Blob {
  readonly size: number;
  #fd: number | undefined;
  constructor(path: string) {
    this.#fd = openSync(path, 'r');
    this.size = fstatSync(this.#fd).size;
  }
  read(offset: number, length: number): Buffer {
    if (this.#fd === undefined) throw new Error('FileBlob is closed');
    const n = Math.max(0, Math.min(length, this.size - offset));
    const buf = Buffer.allocUnsafe(n);
    let got = 0;
    while (got < n) {
      const r = readSync(this.#fd, buf, got, n - got, offset + got);
      if (r === 0) break;
      got += r;
    }
    return got === n ? buf : buf.subarray(0, got);
  }
  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }
}

/** A window onto part of another blob (a stored zip member, a tar entry) without copying. */
export class SliceBlob implements Blob {
  readonly size: number;
  readonly #inner: Blob;
  readonly #start: number;
  constructor(inner: Blob, start: number, size: number) {
    this.#inner = inner;
    this.#start = start;
    this.size = Math.max(0, Math.min(size, inner.size - start));
  }
  read(offset: number, length: number): Buffer {
    const n = Math.max(0, Math.min(length, this.size - offset));
    return n === 0 ? Buffer.alloc(0) : this.#inner.read(this.#start + offset, n);
  }
}
