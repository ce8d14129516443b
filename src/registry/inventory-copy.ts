/**
 * The byte side of the PostgreSQL listing (inventory-pg.ts): reading the binary COPY rows into
 * chunks, and telling from a row's raw bytes whether it has admitted environments, so that no
 * string or object is made for the rows (nearly all) that are sent as stored.
 */
import { MISSING, SUFFIX_LENGTH, liveSuffix } from './inventory-stream.ts';

/** Admitted environments by digest, and a quick test on the raw bytes of a row for whether it has some. */
export class Admitted {
  readonly envs: ReadonlyMap<string, string[]>;
  /** keyAt of each admitted sha256 digest's first 8 hex digits. */
  readonly #keys = new Set<number>();
  /** Admitted digests of another form: then every row is checked by its parsed digest. */
  readonly #other = new Set<string>();
  constructor(byDigest: Readonly<Record<string, string[]>>) {
    this.envs = new Map(Object.entries(byDigest));
    for (const d of this.envs.keys()) {
      if (SHA256.test(d)) this.#keys.add(keyOfText(d, 7));
      else this.#other.add(d);
    }
  }
  /** The admitted environments of the artifact whose read model is buf[j, j+len), if any. */
  of(buf: Buffer, j: number, len: number): string[] | undefined {
    // A read model starts {"digest":"<digest>" (summaryJson); for sha256 digests, 8 of the hex digits
    // make a key that rules out most rows, and the digest itself decides.
    const at = j + DIGEST_AT;
    if (len > 83 && buf[at + 71] === 0x22 && this.#keys.has(keyAt(buf, at + 7))) {
      const envs = this.envs.get(buf.toString('latin1', at, at + 71));
      if (envs) return envs;
    }
    return this.#other.size ? this.envs.get((JSON.parse(buf.toString('utf8', j, j + len)) as { digest: string }).digest) : undefined;
  }
  /** The same for a read model as a string (the store path). */
  ofText(j: string): string[] | undefined {
    const d = j.slice(DIGEST_AT, j.indexOf('"', DIGEST_AT));
    return this.envs.get(d.includes('\\') ? (JSON.parse(j) as { digest: string }).digest : d);
  }
}
const SHA256 = /^sha256:[0-9a-f]{64}$/;
/** `{"digest":"` */
const DIGEST_AT = 11;
/** Eight bytes from `at` mixed into a 32-bit number; keyOfText: the same over ASCII characters. */
const keyAt = (b: Uint8Array, at: number): number =>
  (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) ^ Math.imul(b[at + 4]! | (b[at + 5]! << 8) | (b[at + 6]! << 16) | (b[at + 7]! << 24), 0x9e3779b1);
const keyOfText = (d: string, at: number): number => {
  const c = (i: number): number => d.charCodeAt(at + i);
  return (c(0) | (c(1) << 8) | (c(2) << 16) | (c(3) << 24)) ^ Math.imul(c(4) | (c(5) << 8) | (c(6) << 16) | (c(7) << 24), 0x9e3779b1);
};

const CHUNK_BYTES = 2 << 20;
const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

/**
 * A pg custom query (a "submittable": pg calls submit, then the handle* methods) for `text`: one
 * statement whose one row is the admitted environments as a JSON object, then a COPY ... TO STDOUT
 * (FORMAT binary) of rows (j: read model, d: digest when j is NULL, t: tier as text), sent in one
 * round trip. Emits the rows' texts joined by ",\n" in chunks of about 2 MiB: a row as stored is
 * copied byte for byte; the admitted environments are read while the server starts the COPY.
 */
export class CopyRows {
  readonly text: string;
  readonly done: Promise<void>;
  readonly #flush: (chunk: Buffer, rows: number) => void;
  admitted: Admitted | undefined;
  #resolve!: () => void;
  #reject!: (e: unknown) => void;
  #error: unknown;
  #carry: Buffer | undefined;
  #header = false;
  /** Output buffers the sink has given back (a chunk is the sink's until its write settles). */
  readonly #pool: Buffer[] = [];
  #out: Buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  #used = 0;
  #rows = 0;
  constructor(text: string, flush: (chunk: Buffer, rows: number) => void) {
    this.text = text;
    this.#flush = flush;
    this.done = new Promise((res, rej) => ((this.#resolve = res), (this.#reject = rej)));
  }
  submit(connection: { query(text: string): void }): void {
    connection.query(this.text);
  }
  handleDataRow(msg: { fields: (string | null)[] }): void {
    try {
      this.admitted = new Admitted(JSON.parse(msg.fields[0]!) as Record<string, string[]>);
    } catch (e) {
      this.#error ??= e;
    }
  }
  handleCopyData(msg: { chunk: Buffer }): void {
    if (this.#error) return;
    try {
      if (!this.admitted) throw new Error('COPY data before the admitted environments');
      this.#take(msg.chunk);
    } catch (e) {
      this.#error = e;
    }
  }
  #take(chunk: Buffer): void {
    let buf = chunk;
    if (this.#carry) {
      buf = Buffer.concat([this.#carry, chunk]);
      this.#carry = undefined;
    }
    let at = 0;
    if (!this.#header) {
      if (buf.length < 19) return void (this.#carry = Buffer.from(buf));
      if (!buf.subarray(0, 11).equals(SIGNATURE)) throw new Error('not a binary COPY stream');
      at = 19 + buf.readUInt32BE(15);
      if (buf.length < at) return void (this.#carry = Buffer.from(buf));
      this.#header = true;
    }
    // A row: int16 field count (-1 ends the stream), then per field an int32 length (-1: NULL) and
    // the bytes. Here three fields: j, d, t.
    const end = buf.length;
    while (at + 2 <= end) {
      const fields = buf.readInt16BE(at);
      if (fields === -1) return;
      if (fields !== 3) throw new Error(`unexpected COPY row of ${fields} fields`);
      let p = at + 2;
      if (p + 4 > end) break;
      const jLen = buf.readInt32BE(p);
      const j = p + 4;
      p = j + Math.max(jLen, 0);
      if (p + 4 > end) break;
      const dLen = buf.readInt32BE(p);
      const d = p + 4;
      p = d + Math.max(dLen, 0);
      if (p + 4 > end) break;
      const tLen = buf.readInt32BE(p);
      const t = p + 4;
      p = t + Math.max(tLen, 0);
      if (p > end) break;
      if (jLen >= 0) {
        // As stored, or the stored text up to its placeholders and then the live values.
        const envs = this.admitted!.envs.size ? this.admitted!.of(buf, j, jLen) : undefined;
        if (tLen < 0 && envs === undefined) this.#add(buf, j, jLen);
        else this.#add(buf, j, jLen - SUFFIX_LENGTH, liveSuffix(tLen < 0 ? null : buf.toString('latin1', t, t + tLen), envs ? JSON.stringify(envs) : null));
      } else {
        const row = Buffer.from(`${String.fromCharCode(MISSING)}${buf.toString('utf8', d, d + dLen)}${String.fromCharCode(MISSING)}`);
        this.#add(row, 0, row.length);
      }
      at = p;
    }
    // pg reuses its buffer: keep a copy of a row cut in two.
    if (at < end) this.#carry = Buffer.from(buf.subarray(at));
  }
  #add(src: Buffer, start: number, len: number, suffix?: string): void {
    const extra = suffix === undefined ? 0 : Buffer.byteLength(suffix);
    if (this.#used + len + extra + 2 > this.#out.length) {
      this.#emit();
      if (len + extra + 2 > this.#out.length) this.#out = Buffer.allocUnsafe(len + extra + 2);
    }
    if (this.#rows) {
      this.#out[this.#used++] = 0x2c; // ,
      this.#out[this.#used++] = 0x0a; // \n
    }
    src.copy(this.#out, this.#used, start, start + len);
    this.#used += len;
    if (suffix !== undefined) this.#used += this.#out.write(suffix, this.#used);
    this.#rows++;
  }
  #emit(): void {
    if (!this.#rows) return;
    this.#flush(this.#out.subarray(0, this.#used), this.#rows);
    this.#out = this.#pool.pop() ?? Buffer.allocUnsafe(CHUNK_BYTES);
    this.#used = 0;
    this.#rows = 0;
  }
  /** Takes back a chunk's buffer once the sink is done with it: no fresh memory (page faults) per chunk. */
  release(chunk: Buffer): void {
    if (chunk.buffer.byteLength >= CHUNK_BYTES && chunk.byteOffset === 0) this.#pool.push(Buffer.from(chunk.buffer, 0, chunk.buffer.byteLength));
  }
  handleCommandComplete(): void {
    if (!this.#error) this.#emit();
  }
  handleReadyForQuery(): void {
    if (this.#error) this.#reject(this.#error);
    else this.#resolve();
  }
  handleError(e: unknown): void {
    this.#reject(e);
  }
  handleCopyInResponse(connection: { sendCopyFail(msg: string): void }): void {
    connection.sendCopyFail('not a COPY FROM');
  }
  handleRowDescription(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
}
