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
  SERVED_ADMITTED_SQL,
  SERVED_SQL,

  SUFFIX_LENGTH,
  groupAdmitted,
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
 * Every artifact in registration order: its read model as stored (j), and its digest (d) only when
 * the row has no read model or may have live values (a tier, or an allowed decision: a hashed
 * subplan tells), with the tier as text (t). The server sends the column as stored; the few rows
 * with live values are rewritten here.
 */
export const ROWS_SQL = `select x.inventory_json as j,
  case when x.inventory_json is null or x.tier is not null or x.digest in (select digest from admissions where allowed = 1) then x.digest end as d,
  x.tier::text as t
  from artifacts x order by x.created_at, x.digest`;
/** For the session that lists: no JIT (its compile time dwarfs this plan), no parallel plan, room for the hashed subplan. */
export const SESSION_SQL = 'set local jit = off; set local max_parallel_workers_per_gather = 0; set local work_mem = \'64MB\'';
export const MISSING_PG_SQL = missingSql(
  `select '[' || string_agg(to_json(e.env)::text, ',' order by e.env) || ']' from admissions e
    where e.digest = a.digest and e.allowed = 1 and e.id = (select max(b.id) from admissions b where b.digest = e.digest and b.env = e.env)`,
  'select unnest($1::text[])',
);

/** The text of one listed row: as stored, with its live values, or a MISSING marker. */
export function rowText(j: string | null, d: string | null, t: string | null, envs: Readonly<Record<string, string[]>>): string {
  if (j === null) return `${String.fromCharCode(MISSING)}${d}${String.fromCharCode(MISSING)}`;
  if (d === null) return j;
  const e = Object.hasOwn(envs, d) ? envs[d] : undefined;
  return withLive(j, t, e ? JSON.stringify(e) : null);
}

const CHUNK_BYTES = 2 << 20;
const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

/**
 * Reads the COPY ... (FORMAT binary) output of ROWS_SQL and emits the rows' texts joined by ",\n"
 * in chunks of about 2 MiB: a row as stored is copied byte for byte. A pg submittable: pg calls
 * submit, then the handle* methods.
 */
class CopyRows {
  readonly text: string;
  readonly done: Promise<void>;
  readonly #flush: (chunk: Buffer, rows: number) => void;
  readonly #envs: Readonly<Record<string, string[]>>;
  #resolve!: () => void;
  #reject!: (e: unknown) => void;
  #error: unknown;
  #carry: Buffer | undefined;
  #header = false;
  #out = Buffer.allocUnsafe(CHUNK_BYTES);
  #used = 0;
  #rows = 0;
  constructor(text: string, envs: Readonly<Record<string, string[]>>, flush: (chunk: Buffer, rows: number) => void) {
    this.text = text;
    this.#envs = envs;
    this.#flush = flush;
    this.done = new Promise((res, rej) => ((this.#resolve = res), (this.#reject = rej)));
  }
  submit(connection: { query(text: string): void }): void {
    connection.query(this.text);
  }
  handleCopyData(msg: { chunk: Buffer }): void {
    if (this.#error) return;
    try {
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
      if (dLen < 0 && jLen >= 0) this.#add(buf, j, jLen);
      else if (jLen >= 0) {
        // A row that may have live values: the stored text up to its placeholders, then the values.
        const digest = buf.toString('utf8', d, d + dLen);
        const envs = Object.hasOwn(this.#envs, digest) ? this.#envs[digest] : undefined;
        if (tLen < 0 && !envs) this.#add(buf, j, jLen);
        else this.#add(buf, j, jLen - SUFFIX_LENGTH, liveSuffix(tLen < 0 ? null : buf.toString('latin1', t, t + tLen), envs ? JSON.stringify(envs) : null));
      } else {
        const row = Buffer.from(rowText(null, buf.toString('utf8', d, d + dLen), null, this.#envs));
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
    this.#out = Buffer.allocUnsafe(CHUNK_BYTES);
    this.#used = 0;
    this.#rows = 0;
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
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
}

interface Paused {
  pause(): void;
  resume(): void;
}

function source(client: pg.Client): ArtifactSource {
  return {
    async chunks(emit) {
      // Chunks queue up while the sink catches up; the socket pauses when four are waiting, except
      // while a chunk waits for the texts of rows without a read model (that query runs after COPY).
      const queue: [Buffer, number][] = [];
      const stream = (client as unknown as { connection: { stream: Paused } }).connection.stream;
      let wake: (() => void) | undefined;
      let waitingOnQuery = false;
      let paused = false;
      const envs = JSON.parse((await client.query<{ m: string }>(ENVS_SQL)).rows[0]!.m) as Record<string, string[]>;
      const copy = new CopyRows(`copy (${ROWS_SQL}) to stdout (format binary)`, envs, (chunk, rows) => {
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
          waitingOnQuery = false;
        }
      } finally {
        if (paused) stream.resume();
        await done.catch(() => {});
      }
      await done;
    },
    async missing(digests) {
      return missingTexts((await client.query<MissingRow>(MISSING_PG_SQL, [digests])).rows);
    },
    async runtimes() {
      const runtimes = (await client.query<RuntimeRow>(RUNTIMES_SQL)).rows;
      const served = (await client.query<ServedRow>(SERVED_SQL)).rows;
      const admitted = groupAdmitted((await client.query<{ digest: string; env: string }>(SERVED_ADMITTED_SQL)).rows);
      return { runtimes, served, admitted };
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
    await client.end().catch(() => {});
  }
}
