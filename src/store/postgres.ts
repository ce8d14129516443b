/** kysely's PostgresDialect over a pg Pool; `?schema=NAME` in the URL selects (and creates) a schema. */
import { PostgresDialect } from 'kysely';
import pg from 'pg';

/** int8 and numeric come back as strings from pg; ours fit in a double (sizes, epoch ms, indexes). */
const types = {
  getTypeParser: (oid: number, format?: 'text' | 'binary') => {
    if (oid === 20 /* int8 */) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format);
  },
};

export function openPostgres(url: string): { dialect: PostgresDialect; pool: pg.Pool; schema: string | undefined } {
  const u = new URL(url);
  const schema = u.searchParams.get('schema') ?? undefined;
  if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`invalid schema name "${schema}"`);
  u.searchParams.delete('schema');
  const pool = new pg.Pool({
    connectionString: u.toString(),
    max: 10,
    types,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  });
  return { dialect: new PostgresDialect({ pool }), pool, schema };
}

/** The URL with any password replaced, for messages and `perimeter doctor`. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}
