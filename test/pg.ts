/** The PostgreSQL that tests and benches use, and whether it answers. No node:test here, so benches can import it. */
import pg from 'pg';

export const PG_URL = process.env.PERIMETER_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

let reachable: Promise<string | undefined> | undefined;
/** undefined when PostgreSQL answers, else why not (checked once per process). */
export function postgresProblem(): Promise<string | undefined> {
  reachable ??= (async () => {
    const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
    try {
      await c.connect();
      await c.query('select 1');
      return undefined;
    } catch (e) {
      return `PostgreSQL at ${PG_URL} is not reachable (${(e as Error).message})`;
    } finally {
      await c.end().catch(() => {});
    }
  })();
  return reachable;
}
