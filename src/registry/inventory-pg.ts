/**
 * The inventory listing on PostgreSQL. The server builds each artifact's final text (live values
 * merged in SQL) and sends the rows with COPY ... TO STDOUT (FORMAT binary), read through pg's
 * documented custom-query interface (a "submittable"): each row arrives as a Buffer, is copied
 * into a chunk as it is, and no string or object is made per artifact. Everything runs in one
 * REPEATABLE READ, READ ONLY transaction on a connection of its own.
 */
import pg from 'pg';
import { PerimeterError } from '../errors/errors.ts';
import {
  MISSING,
  RUNTIMES_SQL,
  SERVED_SQL,

  SUFFIX_LENGTH,
  liveSuffix,
  withLive,
  migrationsCurrent,
  missingSql,
  missingTexts,
  writeDocument,
  type ArtifactSource,
  type ChunkSink,
  type InventoryCounts,
  type MissingRow,
  type RuntimeRow,
  type ServedRow,
} from './inventory-stream.ts';

/** digest → its admitted environments, as one JSON object (every artifact with an allowed latest decision). */
export const ENVS_SQL = `select coalesce(json_object_agg(digest, envs), '{}')::text as m from (
  select digest, json_agg(env order by env) as envs from (
    select distinct on (digest, env) digest, env, allowed from admissions order by digest, env, id desc) l
  where allowed = 1 group by digest) e`;

/**
 * Every artifact in registration order: its read model as stored (j), its digest (d) only when it
 * has none, its tier as text (t). The server sends the stored text as it is; the client rewrites
 * the few rows with live values (the server's only per-row work is the index scan and the copy).
 */
export const ROWS_SQL = `select x.inventory_json as j, case when x.inventory_json is null then x.digest end as d, x.tier::text as t
  from artifacts x order by x.created_at, x.digest`;
/** For the session that lists: no JIT (its compile time would dwarf these plans), no parallel plan. */
export const SESSION_SQL = 'set local jit = off; set local max_parallel_workers_per_gather = 0';
export const MISSING_PG_SQL = missingSql(
  `select '[' || string_agg(to_json(e.env)::text, ',' order by e.env) || ']' from admissions e
    where e.digest = a.digest and e.allowed = 1 and e.id = (select max(b.id) from admissions b where b.digest = e.digest and b.env = e.env)`,
  'select unnest($1::text[])',
);

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

/** The text of one listed row (the store path): as stored, with its live values, or a MISSING marker. */
export function rowText(j: string | null, d: string | null, t: string | null, admitted: Admitted): string {
  if (j === null) return `${String.fromCharCode(MISSING)}${d}${String.fromCharCode(MISSING)}`;
  const envs = admitted.envs.size ? admitted.ofText(j) : undefined;
  return withLive(j, t, envs ? JSON.stringify(envs) : null);
}

const CHUNK_BYTES = 2 << 20;
const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

/**
 * Sends ENVS_SQL and the COPY ... (FORMAT binary) of ROWS_SQL in one round trip, and emits the
 * rows' texts joined by ",\n" in chunks of about 2 MiB: a row as stored is copied byte for byte.
 * The admitted environments (the first statement's one row) are read while the server starts the
 * COPY. A pg submittable: pg calls submit, then the handle* methods.
 */
class CopyRows {
  readonly text = `${ENVS_SQL}; copy (${ROWS_SQL}) to stdout (format binary)`;
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
  constructor(flush: (chunk: Buffer, rows: number) => void) {
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

interface Paused {
  pause(): void;
  resume(): void;
}

function source(client: pg.Client): ArtifactSource {
  let admitted: Admitted | undefined;
  return {
    async chunks(emit) {
      // Chunks queue up while the sink catches up; the socket pauses when four are waiting, except
      // while a chunk waits for the texts of rows without a read model (that query runs after COPY).
      const queue: [Buffer, number][] = [];
      const stream = (client as unknown as { connection: { stream: Paused } }).connection.stream;
      let wake: (() => void) | undefined;
      let waitingOnQuery = false;
      let paused = false;
      const copy = new CopyRows((chunk, rows) => {
        queue.push([chunk, rows]);
        if (queue.length >= 4 && !waitingOnQuery && !paused) {
          paused = true;
          stream.pause();
        }
        wake?.();
      });
      let finished = false;
      const done = copy.done.finally(() => {
        finished = true;
        wake?.();
      });
      void client.query(copy as unknown as pg.QueryConfig);
      try {
        for (;;) {
          const next = queue.shift();
          if (!next) {
            if (finished) break;
            await new Promise<void>((r) => (wake = r));
            wake = undefined;
            continue;
          }
          if (paused && queue.length < 2) {
            paused = false;
            stream.resume();
          }
          waitingOnQuery = next[0].indexOf(MISSING) !== -1;
          if (waitingOnQuery && paused) {
            paused = false;
            stream.resume();
          }
          await emit(next[0], next[1]);
          copy.release(next[0]);
          waitingOnQuery = false;
        }
      } finally {
        if (paused) stream.resume();
        await done.catch(() => {});
      }
      await done;
      admitted = copy.admitted;
    },
    async missing(digests) {
      return missingTexts((await client.query<MissingRow>(MISSING_PG_SQL, [digests])).rows);
    },
    async runtimes() {
      const runtimes = (await client.query<RuntimeRow>(RUNTIMES_SQL)).rows;
      const served = (await client.query<ServedRow>(SERVED_SQL)).rows;
      return { runtimes, served, admitted: admitted!.envs as Map<string, string[]> };
    },
  };
}

/**
 * The client settings openStore's pool uses for this URL (store/postgres.ts; a test keeps them
 * equal): `?schema=NAME` becomes the search path.
 */
export function clientConfig(url: string): pg.ClientConfig {
  const u = new URL(url);
  const schema = u.searchParams.get('schema') ?? undefined;
  if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`invalid schema name "${schema}"`);
  u.searchParams.delete('schema');
  return { connectionString: u.toString(), ...(schema ? { options: `-c search_path=${schema}` } : {}) };
}

/** streamInventoryJson for a postgres:// URL: undefined when it cannot connect or the schema is not current. */
export async function streamPostgres(url: string, sink: ChunkSink, head: Record<string, unknown>): Promise<InventoryCounts | undefined> {
  let client: pg.Client | undefined;
  try {
    client = new pg.Client(clientConfig(url));
    await client.connect();
    // A schema never migrated has no table: asked first, so the server logs no error.
    if ((await client.query<{ t: string | null }>("select to_regclass('perimeter_migrations')::text as t")).rows[0]!.t === null) throw new Error('no schema');
    const names = (await client.query<{ name: string }>('select name from perimeter_migrations')).rows.map((r) => r.name);
    if (!migrationsCurrent(names)) throw new Error('not current');
  } catch {
    await client?.end().catch(() => {});
    return undefined; // openStore will connect, migrate, or say what is wrong
  }
  try {
    await client.query(`begin isolation level repeatable read, read only; ${SESSION_SQL}`);
    const counts = await writeDocument(source(client), sink, head);
    await client.query('commit');
    return counts;
  } catch (e) {
    const where = new URL(url);
    if (where.password) where.password = '***';
    throw e instanceof PerimeterError ? e : new PerimeterError('PERIM_E_STORE', `cannot read the inventory from ${where.toString()}: ${(e as Error).message}`, { cause: e });
  } finally {
    // Not waiting for the server to close after Terminate (~10 ms of a command's run): the socket
    // stops holding the process open, and closes on its own.
    void client.end().catch(() => {});
    (client as unknown as { connection: { stream: { unref(): void } } }).connection.stream.unref();
  }
}
