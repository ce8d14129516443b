/** A blob that counts what is read from it: tests and benches use it to prove a scan reads headers only. */
import type { Blob } from '../src/scan/types.ts';

export class CountingBlob implements Blob {
  readonly inner: Blob;
  bytesRead = 0;
  reads = 0;
  constructor(inner: Blob) {
    this.inner = inner;
  }
  get size(): number {
    return this.inner.size;
  }
  read(offset: number, length: number): Buffer {
    const b = this.inner.read(offset, length);
    this.bytesRead += b.length;
    this.reads++;
    return b;
  }
}
