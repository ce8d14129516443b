/**
 * The inventory listing on PostgreSQL, on a connection of its own, in one REPEATABLE READ, READ
 * ONLY transaction. The server sends each artifact's read model as stored, with COPY ... TO STDOUT
 * (FORMAT binary) read through pg's documented custom-query interface (inventory-copy.ts); the
 * rows with live values (a tier, admitted environments) are completed here. The server's work per
 * row is the index scan and the copy: it is the bottleneck, so nothing else is asked of it per row.
 */
import pg from 'pg';
import { PerimeterError } from '../errors/errors.ts';
import { Admitted, CopyRows } from './inventory-copy.ts';
import {
  MISSING,
  RUNTIMES_SQL,
  SERVED_SQL,
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

/** The text of one listed row (the store path): as stored, with its live values, or a MISSING marker. */
export function rowText(j: string | null, d: string | null, t: string | null, admitted: Admitted): string {
  if (j === null) return `${String.fromCharCode(MISSING)}${d}${String.fromCharCode(MISSING)}`;
  const envs = admitted.envs.size ? admitted.ofText(j) : undefined;
  return withLive(j, t, envs ? JSON.stringify(envs) : null);
}

interface Paused {
  pause(): void;
  resume(): void;
}

function source(client: pg.Client): ArtifactSource {
  let admitted: Admitted | undefined;
  return {
    async chunks(emit) {
      // Chunks queue up while the sink catches up; the socket pauses while four are waiting, except
      // while a chunk waits for the texts of rows without a read model (that query runs after COPY).
      const queue: [Buffer, number][] = [];
      const stream = (client as unknown as { connection: { stream: Paused } }).connection.stream;
      let wake: (() => void) | undefined;
      let waitingOnQuery = false;
      let paused = false;
      let stopped = false;
      const pause = (on: boolean): void => {
        if (on === paused) return;
        paused = on;
        if (on) stream.pause();
        else stream.resume();
      };
      const copy = new CopyRows(`${ENVS_SQL}; copy (${ROWS_SQL}) to stdout (format binary)`, (chunk, rows) => {
        if (stopped) return;
        queue.push([chunk, rows]);
        if (queue.length >= 4 && !waitingOnQuery) pause(true);
        wake?.();
      });
      let finished = false;
      const done = copy.done.finally(() => {
        finished = true;
        wake?.();
      });
      done.catch(() => {}); // awaited below unless the sink failed first
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
          waitingOnQuery = next[0].indexOf(MISSING) !== -1;
          if (queue.length < 2 || waitingOnQuery) pause(false);
          await emit(next[0], next[1]);
          copy.release(next[0]);
          waitingOnQuery = false;
        }
      } finally {
        // On a sink error the rest of the COPY is dropped (ending the client cuts it short).
        stopped = true;
        pause(false);
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
