/**
 * The inventory listing on PostgreSQL, on a connection of its own, in one REPEATABLE READ, READ
 * ONLY transaction, from stored pages (inventory-pages.ts): current pages come zstd-compressed by
 * COPY ... TO STDOUT (FORMAT binary), read through pg's documented custom-query interface
 * (inventory-copy.ts, copy-stream.ts), and are decoded on the thread pool; changed pages and the
 * tail come as the rows' read models, the rows with live values (a tier, admitted environments)
 * completed here. Then, in a transaction of its own, what was built is written back.
 */
import type pg from 'pg';
import { PerimeterError } from '../errors/errors.ts';
import { pgReader, records, type PgReader, type TextResult } from '../store/pg-reader.ts';
import { WireUnsupported, connectWire } from '../store/pg-wire.ts';
import { PAGES_LOCK } from '../store/target.ts';
import { Flow, streamCopy } from './copy-stream.ts';
import { Admitted, CopyPages, CopyRows } from './inventory-copy.ts';
import {
  decode,
  groupChanges,
  isCodec,
  pageStats,
  pagedArtifacts,
  pagesToCheck,
  pagesWritten,
  writeBackPlan,
  type Built,
  type Codec,
  type Key,
  type PageRow,
  type PageWrites,
  type PagedCounts,
  type PagedSource,
  type StreamCounts,
  type WriteBack,
} from './inventory-pages.ts';
import {
  MISSING,
  RUNTIMES_SQL,
  SERVED_ADMITTED_SQL,
  SERVED_SQL,
  fillMissing,
  groupAdmitted,
  withLive,
  migrationsCurrent,
  missingSql,
  missingTexts,
  writeDocument,
  type ChunkSink,
  type Text,
  type InventoryCounts,
  type MissingRow,
  type RuntimeData,
  type RuntimeRow,
  type ServedRow,
} from './inventory-stream.ts';

/**
 * digest → its admitted environments, as one JSON object, for every artifact with an allowed
 * latest decision; with `digests` (a subquery), for those only.
 */
export const envsSql = (digests?: string): string => `select coalesce(json_object_agg(digest, envs), '{}')::text as m from (
  select digest, json_agg(env order by env) as envs from (
    select distinct on (digest, env) digest, env, allowed from admissions ${digests ? `where digest in (${digests})` : ''} order by digest, env, id desc) l
  where allowed = 1 group by digest) e`;
export const ENVS_SQL = envsSql();

/**
 * Every artifact in registration order: its read model as stored (j), its digest (d) only when it
 * has none, its tier as text (t). The store path (inventory.ts) lists with it.
 */
export const ROWS_SQL = `select x.inventory_json as j, case when x.inventory_json is null then x.digest end as d, x.tier::text as t
  from artifacts x order by x.created_at, x.digest`;
/** For the session that lists: no JIT (its compile time would dwarf these plans), no parallel plan. */
export const SESSION_SQL = 'set local jit = off; set local max_parallel_workers_per_gather = 0';
/** The listing's transaction: one snapshot for every page, row and runtime it reads. */
const BEGIN_SQL = `begin isolation level repeatable read, read only; ${SESSION_SQL}`;
export const MISSING_PG_SQL = missingSql(
  `select '[' || string_agg(to_json(e.env)::text, ',' order by e.env) || ']' from admissions e
    where e.digest = a.digest and e.allowed = 1 and e.id = (select max(b.id) from admissions b where b.digest = e.digest and b.env = e.env)`,
  'select unnest($1::text[])',
);
// Numbers leave as text (bigint); the ORDER BY names the table's columns (p.*, c.*): an output
// column's name there would sort its text.
const LAYOUT_SQL = `select p.id::text as id, p.hi_created_at::text as hi_created_at, p.hi_digest, p.rows, p.codec, p.tail_rows from inventory_pages p
  order by p.hi_created_at is null, p.hi_created_at, p.hi_digest`;
const CHANGES_SQL = 'select c.page::text as page, c.id::text as id from inventory_changes c order by c.page, c.id';
/** The bodies of these pages, in key order: the order the listing asks for them. */
const bodiesSql = (ids: readonly number[]): string =>
  `select codec, body from inventory_pages where id in (${ids.map((id) => String(Math.trunc(id))).join(', ')}) order by hi_created_at, hi_digest`;

/** A string as an SQL literal (COPY takes no parameters). */
const literal = (s: string): string => `E'${s.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
const keyLiteral = ([c, d]: Key): string => {
  if (!/^-?\d{1,19}$/.test(String(c))) throw new Error(`invalid created_at in an inventory key: ${String(c)}`);
  return `(${String(c)}::bigint, ${literal(d)})`;
};
/** The condition on artifacts x for the key range (after, upto]. */
const rangeWhere = (after: Key | undefined, upto: Key | undefined): string => {
  const c = [after ? `(x.created_at, x.digest) > ${keyLiteral(after)}` : '', upto ? `(x.created_at, x.digest) <= ${keyLiteral(upto)}` : ''].filter(Boolean);
  return c.length ? `where ${c.join(' and ')}` : '';
};
/** The rows of the key range (after, upto], as CopyRows reads them. */
export const rangeSql = (after: Key | undefined, upto: Key | undefined): string =>
  `select x.inventory_json as j, x.digest as d, x.created_at::text as c, x.tier::text as t from artifacts x ${rangeWhere(after, upto)} order by x.created_at, x.digest`;

/** The text of one listed row (the store path): as stored, with its live values, or a MISSING marker. */
export function rowText(j: string | null, d: string | null, t: string | null, admitted: Admitted): string {
  if (j === null) return `${String.fromCharCode(MISSING)}${d}${String.fromCharCode(MISSING)}`;
  const envs = admitted.envs.size ? admitted.ofText(j) : undefined;
  return withLive(j, t, envs ? JSON.stringify(envs) : null);
}

/** Page bodies read ahead of the one being written (zstd ones decode on the thread pool meanwhile). */
const READ_AHEAD = 8;

/** A string array as an SQL literal. */
const arrayLiteral = (xs: readonly string[]): string => `array[${xs.map(literal).join(', ')}]::text[]`;

/** Results of the layout query (LAYOUT_SQL; CHANGES_SQL). */
type LayoutResults = Promise<TextResult[]>;

function source(reader: PgReader, layoutAhead?: LayoutResults): PagedSource {
  const missing = async (digests: string[]): Promise<Map<string, string>> =>
    missingTexts(records<MissingRow>((await reader.query(MISSING_PG_SQL.replace('$1::text[]', arrayLiteral(digests))))[0]!));
  const runtimes = async (): Promise<RuntimeData> => {
    const [rts, served, admitted] = await reader.query(`${RUNTIMES_SQL}; ${SERVED_SQL}; ${SERVED_ADMITTED_SQL}`);
    return { runtimes: records<RuntimeRow>(rts!), served: records<ServedRow>(served!), admitted: groupAdmitted(records<{ digest: string; env: string }>(admitted!)) };
  };
  let last: PageRow | undefined;
  let runtimesAhead: Promise<RuntimeData> | undefined;
  return {
    async layout() {
      // Both in one round trip (a simple query of two statements answers with two results), maybe sent already.
      const [layout, changeRows] = await (layoutAhead ?? reader.query(`${LAYOUT_SQL}; ${CHANGES_SQL}`));
      const pages = records<{ id: string; hi_created_at: string | null; hi_digest: string | null; rows: string; codec: string; tail_rows: string | null }>(layout!).map((r): PageRow => {
        if (!isCodec(r.codec)) throw new Error(`inventory page ${r.id} has unknown codec "${r.codec}"`);
        const tailRows = r.tail_rows === null ? null : Number(r.tail_rows);
        return { id: Number(r.id), hi: r.hi_created_at === null ? null : [r.hi_created_at, r.hi_digest!], rows: Number(r.rows), codec: r.codec, tailRows };
      });
      const changes = groupChanges(changeRows!.rows.map((r) => [r[0]!, r[1]!] as const));
      last = pages[pages.length - 1];
      return { pages, changes };
    },
    async *bodies(pages) {
      // Bodies stored as they are pass through in the pieces they arrived in; zstd ones start
      // decoding as they arrive, at most READ_AHEAD ahead of the sink (the stream is held past that).
      let arrived = 0;
      const sql = `copy (${bodiesSql(pages.map((p) => p.id))}) to stdout (format binary)`;
      const bodies = streamCopy<Text | Promise<Uint8Array>>(
        reader,
        sql,
        (push) =>
          new CopyPages((codec, body) => {
            const page = pages[arrived++];
            if (!page) throw new Error('more inventory pages than asked for');
            if (!body) throw new Error(`inventory page ${page.id} has no body`);
            if (codec === 'none') return push(body);
            const out = decode(body.length === 1 ? body[0]! : Buffer.concat(body), codec);
            out.catch(() => {}); // awaited in turn
            push(out);
          }),
        READ_AHEAD,
        READ_AHEAD / 2,
      );
      try {
        // The COPY is sent at the first step; when nothing is built after these pages, the runtimes'
        // query is sent right behind it, so the server answers it while the last pages decode here.
        const first = bodies.next();
        if (pages[pages.length - 1] === last && !runtimesAhead) {
          runtimesAhead = runtimes();
          runtimesAhead.catch(() => {}); // awaited by runtimes() unless the listing fails first
        }
        for (let r = await first; !r.done; r = await bodies.next()) yield r.value instanceof Promise ? await r.value : r.value;
      } finally {
        await bodies.return(undefined);
      }
      if (arrived !== pages.length) throw new Error(`${pages.length - arrived} inventory pages vanished while the inventory was listed`);
    },
    async *build(after, upto, piece) {
      // The admitted environments of this range's artifacts only: the whole table's take ~30 ms per 10k decisions.
      const envs = envsSql(`select x.digest from artifacts x ${rangeWhere(after, upto)}`);
      const admitted = new Admitted(JSON.parse((await reader.query(envs))[0]!.rows[0]![0]!) as Record<string, string[]>);
      // Pieces queue up while the sink catches up; the stream is held while four are waiting.
      const flow = new Flow();
      const sql = `copy (${rangeSql(after, upto)}) to stdout (format binary)`;
      for await (const next of streamCopy<Built>(reader, sql, (push) => new CopyRows(admitted, piece, (text, rows, hi) => push({ text, rows, hi })), 4, 2, flow)) {
        // Filling rows without a read model runs a query, which waits for the COPY to end: the
        // stream must flow meanwhile.
        if (Buffer.from(next.text.buffer, next.text.byteOffset, next.text.byteLength).indexOf(MISSING) === -1) {
          yield next;
          continue;
        }
        flow.flowing = true;
        flow.resume();
        const text = await fillMissing(next.text, missing);
        flow.flowing = false;
        yield { ...next, text };
      }
    },
    runtimes: () => runtimesAhead ?? runtimes(),
  };
}

/**
 * Writes back what a listing built (inventory-pages.ts) in a transaction of its own, holding the
 * exclusive advisory lock over the page layout; gives up at once when a writer holds it shared.
 */
export async function writeBackPg(client: pg.Client, w: PageWrites | undefined, codec: Codec = 'zstd'): Promise<WriteBack> {
  const check = w ? pagesToCheck(w) : [];
  if (!w || !check.length) return { skipped: 'nothing to write' };
  await client.query('begin');
  try {
    if (!(await client.query<{ ok: boolean }>(`select pg_try_advisory_xact_lock(${PAGES_LOCK}) as ok`)).rows[0]!.ok) {
      await client.query('rollback');
      return { skipped: 'busy' };
    }
    const maxPageId = Number((await client.query<{ m: string }>('select coalesce(max(id), 0)::text as m from inventory_pages')).rows[0]!.m);
    const changes = groupChanges((await client.query<[string, string]>({ text: 'select c.page::text, c.id::text from inventory_changes c where c.page = any($1::bigint[]) order by c.page, c.id', values: [check], rowMode: 'array' })).rows);
    const tailEpoch = Number((await client.query<{ rows: number }>('select rows from inventory_pages where id = 0')).rows[0]!.rows);
    const plan = writeBackPlan(w, { maxPageId, tailEpoch, changes }, codec);
    for (const op of plan) {
      if (op.op === 'update') await client.query('update inventory_pages set rows = $1, codec = $2, body = $3 where id = $4', [op.rows, op.codec, op.body, op.id]);
      else if (op.op === 'insert') await client.query('insert into inventory_pages (id, hi_created_at, hi_digest, rows, codec, body) values ($1, $2, $3, $4, $5, $6)', [op.id, op.hi[0], op.hi[1], op.rows, op.codec, op.body]);
      else if (op.op === 'tail') await client.query('update inventory_pages set rows = $1, tail_rows = $2, codec = $3, body = $4 where id = 0', [op.epoch, op.rows, op.codec, op.body]);
      else await client.query('delete from inventory_changes where page = $1 and id <= $2', [op.page, op.upTo]);
    }
    await client.query('commit');
    return plan.length ? { written: pagesWritten(plan) } : { skipped: 'changed meanwhile' };
  } catch (error) {
    await client.query('rollback').catch(() => {});
    return { skipped: 'failed', error };
  }
}

/**
 * Writes the document through `reader`, in one REPEATABLE READ, READ ONLY transaction; then has
 * `writeBack` write back what it built, when it built anything (tests hold it back to change the rows first).
 */
export async function listPostgres(
  reader: PgReader,
  sink: ChunkSink,
  head: Record<string, unknown>,
  writeBack?: (w: PageWrites) => Promise<WriteBack>,
  begun?: { layout: LayoutResults },
): Promise<PagedCounts> {
  if (!begun) await reader.query(BEGIN_SQL);
  const writes: { value?: PageWrites } = {};
  let counts: InventoryCounts;
  try {
    counts = await writeDocument(pagedArtifacts(source(reader, begun?.layout), writes), sink, head);
    await reader.query('commit');
  } catch (e) {
    await reader.query('rollback').catch(() => {});
    throw e;
  }
  const w = writes.value!;
  const result: WriteBack = !writeBack ? { skipped: 'held back' } : pagesToCheck(w).length ? await writeBack(w) : { skipped: 'nothing to write' };
  return { ...counts, pages: { ...pageStats(w), writeBack: result }, writes: w };
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

/** node-postgres, loaded only when needed (~30 ms of a command's start), connected to `url`. */
async function pgClient(url: string): Promise<pg.Client> {
  const { default: driver } = await import('pg');
  const client = new driver.Client(clientConfig(url));
  try {
    await client.connect();
  } catch (e) {
    await client.end().catch(() => {});
    throw e;
  }
  return client;
}

/**
 * A reader for `url`: the lean wire reader when it serves the URL, else node-postgres. `early`: the
 * wire reader's connection, already under way.
 */
async function openReader(url: string, early?: Promise<PgReader | undefined>): Promise<{ reader: PgReader; client?: pg.Client }> {
  const wire = await (early ?? connectWire(url)).catch((e: unknown) => {
    if (e instanceof WireUnsupported) return undefined; // node-postgres may do it (~/.pgpass, other auth)
    throw e;
  });
  if (wire) return { reader: wire };
  const client = await pgClient(url);
  return { reader: pgReader(client), client };
}

/**
 * streamInventoryJson for a postgres:// URL: undefined when it cannot connect or the schema is not
 * current. `early`: the lean reader's connection, when the caller has started it.
 */
export async function streamPostgres(url: string, sink: ChunkSink, head: Record<string, unknown>, early?: Promise<PgReader | undefined>): Promise<StreamCounts | undefined> {
  let opened: Awaited<ReturnType<typeof openReader>> | undefined;
  let layout: LayoutResults;
  try {
    opened = await openReader(url, early);
    // The transaction, the schema's migrations and the page layout, sent together (one round trip):
    // a schema not migrated yet fails them (the server logs that error) and goes to openStore.
    const begin = opened.reader.query(`${BEGIN_SQL}; select name from perimeter_migrations`);
    layout = opened.reader.query(`${LAYOUT_SQL}; ${CHANGES_SQL}`);
    layout.catch(() => {}); // awaited by the listing
    const names = (await begin).at(-1)!;
    if (!migrationsCurrent(names.rows.map((r) => r[0]!))) throw new Error('not current');
  } catch {
    opened?.reader.end();
    return undefined; // openStore will connect, migrate, or say what is wrong
  }
  const { reader, client } = opened;
  try {
    // What a listing built is written back on node-postgres (binary parameters), connected then.
    const writeBack = async (w: PageWrites): Promise<WriteBack> => {
      const c = client ?? (await pgClient(url).catch(() => undefined));
      if (!c) return { skipped: 'failed' };
      try {
        return await writeBackPg(c, w);
      } finally {
        if (c !== client) void c.end().catch(() => {});
      }
    };
    const { artifacts, runtimes, pages } = await listPostgres(reader, sink, head, writeBack, { layout });
    return { artifacts, runtimes, pages };
  } catch (e) {
    const where = new URL(url);
    if (where.password) where.password = '***';
    throw e instanceof PerimeterError ? e : new PerimeterError('PERIM_E_STORE', `cannot read the inventory from ${where.toString()}: ${(e as Error).message}`, { cause: e });
  } finally {
    // Not waiting for the server to close after Terminate (~10 ms of a command's run): the socket
    // stops holding the process open, and closes on its own.
    reader.end();
  }
}
