/**
 * The byte side of the PostgreSQL listing (inventory-pg.ts): reading the binary COPY rows into
 * pieces, and telling from a row's raw bytes whether it has admitted environments, so that no
 * string or object is made for the rows (nearly all) that are sent as stored.
 */
import type { CopyParser } from './copy-stream.ts';
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

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

/** Offsets of one row's fields in a buffer: start and length (-1: NULL) for each. */
type Fields = [start: number, len: number][];

/**
 * A binary COPY stream (FORMAT binary) of rows of `fields` fields, read from its bytes however
 * they are cut: each row is handed to `row` as offsets into a buffer valid during the call only.
 * For rows of modest size (a row cut in two is carried over by copying); see CopyPages for bodies.
 */
export abstract class BinaryCopy implements CopyParser {
  readonly #fields: Fields;
  #carry: Buffer | undefined;
  #header = false;
  #trailer = false;
  constructor(fields: number) {
    this.#fields = Array.from({ length: fields }, () => [0, 0]);
  }
  protected abstract row(buf: Buffer, f: Readonly<Fields>): void;
  /** The stream's end. */
  protected end(): void {}
  take(chunk: Buffer): void {
    this.#take(chunk);
  }
  finish(): void {
    if (!this.#trailer || this.#carry) throw new Error('binary COPY stream ended early');
    this.end();
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
    // A row: int16 field count (-1 ends the stream), then per field an int32 length (-1: NULL) and the bytes.
    const end = buf.length;
    const f = this.#fields;
    rows: while (at + 2 <= end) {
      const count = buf.readInt16BE(at);
      if (count === -1) {
        this.#trailer = true;
        return;
      }
      if (count !== f.length) throw new Error(`unexpected COPY row of ${count} fields`);
      let p = at + 2;
      for (const field of f) {
        if (p + 4 > end) break rows;
        const len = buf.readInt32BE(p);
        field[0] = p + 4;
        field[1] = len;
        p += 4 + Math.max(len, 0);
        if (p > end) break rows;
      }
      this.row(buf, f);
      at = p;
    }
    // pg reuses its buffer: keep a copy of a row cut in two.
    if (at < end) this.#carry = Buffer.from(buf.subarray(at));
  }
}

/** A piece of listing text: its rows' texts joined by ",\n", how many, and the last row's key (created_at as text, digest). */
export type Piece = (text: Buffer, rows: number, hi: readonly [string, string]) => void;

/**
 * The listing rows of a key range (j: read model, d: digest, c: created_at as text, t: tier as
 * text), in key order, as pieces of `piece` rows (the rest at the end; one piece when undefined):
 * a row as stored is copied byte for byte, a row with live values gets them here, a row without a
 * read model becomes a MISSING marker.
 */
export class CopyRows extends BinaryCopy {
  readonly #admitted: Admitted;
  readonly #piece: number;
  readonly #emit: Piece;
  #out: Buffer = Buffer.allocUnsafe(1 << 16);
  #used = 0;
  #rows = 0;
  #hi: [string, string] = ['', ''];
  constructor(admitted: Admitted, piece: number | undefined, emit: Piece) {
    super(4);
    this.#admitted = admitted;
    this.#piece = piece ?? Infinity;
    this.#emit = emit;
  }
  protected row(buf: Buffer, f: Readonly<Fields>): void {
    const [[j, jLen], [d, dLen], [c, cLen], [t, tLen]] = f as [[number, number], [number, number], [number, number], [number, number]];
    if (dLen < 0 || cLen < 0) throw new Error('COPY row without its key');
    if (jLen >= 0) {
      // As stored, or the stored text up to its placeholders and then the live values.
      const envs = this.#admitted.envs.size ? this.#admitted.of(buf, j, jLen) : undefined;
      if (tLen < 0 && envs === undefined) this.#add(buf, j, jLen);
      else this.#add(buf, j, jLen - SUFFIX_LENGTH, liveSuffix(tLen < 0 ? null : buf.toString('latin1', t, t + tLen), envs ? JSON.stringify(envs) : null));
    } else {
      const row = Buffer.from(`${String.fromCharCode(MISSING)}${buf.toString('utf8', d, d + dLen)}${String.fromCharCode(MISSING)}`);
      this.#add(row, 0, row.length);
    }
    this.#hi = [buf.toString('latin1', c, c + cLen), buf.toString('utf8', d, d + dLen)];
    if (this.#rows === this.#piece) this.#flush();
  }
  #add(src: Buffer, start: number, len: number, suffix?: string): void {
    const need = this.#used + len + (suffix === undefined ? 0 : Buffer.byteLength(suffix)) + 2;
    if (need > this.#out.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, this.#out.length * 2));
      this.#out.copy(grown, 0, 0, this.#used);
      this.#out = grown;
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
  /** Hands over the piece (its memory is the receiver's) and starts the next in a buffer of the same size. */
  #flush(): void {
    if (!this.#rows) return;
    const size = this.#out.length;
    this.#emit(this.#out.subarray(0, this.#used), this.#rows, this.#hi);
    this.#out = Buffer.allocUnsafe(size);
    this.#used = 0;
    this.#rows = 0;
  }
  protected override end(): void {
    this.#flush();
  }
}

type PageState = 'signature' | 'extension' | 'count' | 'codecLength' | 'codec' | 'bodyLength' | 'body' | 'done';

/**
 * Stored page bodies from a binary COPY of (codec, body) rows, in the order sent: each body as the
 * pieces of the COPY's bytes it arrived in (not copied: a 600 KB body is never assembled here).
 */
export class CopyPages implements CopyParser {
  readonly #emit: (codec: string, body: Buffer[] | null) => void;
  /** What is being read, and how many bytes it needs. */
  #state: PageState = 'signature';
  #need = 19;
  #parts: Buffer[] = [];
  #have = 0;
  #codec = '';
  constructor(emit: (codec: string, body: Buffer[] | null) => void) {
    this.#emit = emit;
  }
  take(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.#state === 'done') throw new Error('bytes after the end of a binary COPY stream');
      const n = Math.min(this.#need - this.#have, chunk.length - at);
      this.#parts.push(chunk.subarray(at, at + n));
      this.#have += n;
      at += n;
      if (this.#have === this.#need) this.#next();
    }
  }
  finish(): void {
    if (this.#state !== 'done') throw new Error('binary COPY stream ended early');
  }
  /** The current item is complete: read it, and move on to what follows. */
  #next(): void {
    const parts = this.#parts;
    this.#parts = [];
    this.#have = 0;
    if (this.#state === 'body') {
      this.#emit(this.#codec, parts);
      return this.#expect('count', 2);
    }
    const b = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    switch (this.#state) {
      case 'signature':
        if (!b.subarray(0, 11).equals(SIGNATURE)) throw new Error('not a binary COPY stream');
        return this.#expect('extension', b.readUInt32BE(15));
      case 'extension':
        return this.#expect('count', 2);
      case 'count': {
        const count = b.readInt16BE(0);
        if (count === -1) return void (this.#state = 'done');
        if (count !== 2) throw new Error(`unexpected COPY row of ${count} fields`);
        return this.#expect('codecLength', 4);
      }
      case 'codecLength': {
        const len = b.readInt32BE(0);
        if (len < 0 || len > 64) throw new Error('inventory page without a valid codec');
        return this.#expect('codec', len);
      }
      case 'codec':
        this.#codec = b.toString('latin1');
        return this.#expect('bodyLength', 4);
      case 'bodyLength': {
        const len = b.readInt32BE(0);
        if (len < 0) {
          this.#emit(this.#codec, null);
          return this.#expect('count', 2);
        }
        return this.#expect('body', len);
      }
    }
  }
  /** Expects `need` bytes of `state` next (an empty item is complete at once). */
  #expect(state: PageState, need: number): void {
    this.#state = state;
    this.#need = need;
    if (need === 0) this.#next();
  }
}
