/**
 * Which postgres:// URLs the lean reader (pg-wire.ts) serves: only those whose meaning it knows
 * exactly as node-postgres gives it; node-postgres takes every other.
 */

export interface WireConfig {
  host: string;
  port: number;
  user: string;
  password: string | undefined;
  database: string;
  /** The startup `options` parameter (e.g. `-c search_path=x`). */
  options: string | undefined;
}

/**
 * The connection settings of a postgres:// URL when this reader serves it exactly as node-postgres
 * would, else undefined: the URL names user, host (not a socket) and database; its only query
 * parameter is Perimeter's `schema` (the search path); no PG* environment variable is set (node-
 * postgres reads them for defaults, PGSSLMODE turns TLS on); a password, if any, is ASCII (SCRAM
 * would need SASLprep otherwise).
 */
export function wireConfig(url: string, env: NodeJS.ProcessEnv = process.env): WireConfig | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  if ((u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') || u.hash) return undefined;
  if (Object.keys(env).some((k) => /^PG[A-Z_]+$/.test(k))) return undefined;
  const keys = [...u.searchParams.keys()];
  if (keys.some((k) => k !== 'schema') || keys.length > 1) return undefined;
  const schema = u.searchParams.get('schema');
  if (schema !== null && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) return undefined;
  let user: string, password: string | undefined, database: string, host: string;
  try {
    user = decodeURIComponent(u.username);
    password = u.password ? decodeURIComponent(u.password) : undefined;
    database = decodeURIComponent(u.pathname.slice(1));
    host = decodeURIComponent(u.hostname);
  } catch {
    return undefined;
  }
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (!user || !database || !host || host.startsWith('/') || database.includes('/')) return undefined;
  if ([user, database, host].some((s) => s.includes('\0'))) return undefined;
  if (password !== undefined && !/^[\x20-\x7e]*$/.test(password)) return undefined;
  const port = u.port ? Number(u.port) : 5432;
  return { host, port, user, password, database, options: schema ? `-c search_path=${schema}` : undefined };
}
