/**
 * Test stores on both backends. SQLite: a file in a temp folder. PostgreSQL: the real server
 * (PERIMETER_TEST_PG, default postgres://postgres@127.0.0.1:5432/test), each store in a fresh schema so
 * test files running in parallel never share tables. Outside CI a missing PostgreSQL skips its
 * tests with a message; with CI=true it fails them.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { PG_URL, postgresProblem } from './pg.ts';
import { after } from 'node:test';
import { openStore, type Store } from '../src/store/store.ts';

export { PG_URL, postgresProblem };
import { tempDir } from './helpers.ts';

const opened: Store[] = [];
const schemas: string[] = [];

export interface Backend {
  name: 'sqlite' | 'postgres';
  /** Skip reason (outside CI only); undefined to run. */
  skip: string | undefined;
  /** A target URL/path for a fresh, empty store (also usable from child processes). */
  target(): string;
  open(): Promise<Store>;
}

export async function backends(): Promise<Backend[]> {
  const problem = await postgresProblem();
  if (problem && process.env.CI === 'true') throw new Error(`${problem}: CI requires PostgreSQL`);
  const sqlite: Backend = {
    name: 'sqlite',
    skip: undefined,
    target: () => join(tempDir('perimeter-store-'), 'perimeter.db'),
    async open() {
      const s = await openStore(this.target());
      opened.push(s);
      return s;
    },
  };
  const postgres: Backend = {
    name: 'postgres',
    skip: problem ? `${problem}; skipping (set CI=true to make this fail)` : undefined,
    target: () => {
      const schema = `perim_t_${randomBytes(6).toString('hex')}`;
      schemas.push(schema);
      return `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}schema=${schema}`;
    },
    async open() {
      const s = await openStore(this.target());
      opened.push(s);
      return s;
    },
  };
  return [sqlite, postgres];
}

after(async () => {
  await Promise.all(opened.map((s) => s.close().catch(() => {})));
  if (schemas.length && !(await postgresProblem())) {
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    for (const s of schemas) await c.query(`drop schema if exists ${s} cascade`).catch(() => {});
    await c.end();
  }
});
