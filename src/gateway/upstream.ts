/**
 * Upstream runtimes: one undici Pool of keep-alive connections per runtime, requests forwarded to
 * its OpenAI-compatible endpoints (<runtime url>/v1/...), and every transport failure mapped to one
 * coded error (unreachable 502, timeout 504) that the client sees as an OpenAI-style error.
 */
import { Pool, errors as undiciErrors, type Dispatcher } from 'undici';
import { PerimeterError } from '../errors/errors.ts';
import type { Route } from './routes.ts';

export interface UpstreamOptions {
  connectTimeoutMs: number;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  connections: number;
  /** Authorization header value per runtime name (the gateway's own credential for that runtime). */
  authorization?: ReadonlyMap<string, string>;
}

export interface UpstreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData['body'];
}

/** Role: sends one request to the runtime a route names. */
export interface Upstream {
  send(route: Route, path: string, body: Buffer | string, signal: AbortSignal): Promise<UpstreamResponse>;
}

const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

/** Reads each runtime's credential from its environment variable; a missing one is a config error. */
export function upstreamAuthorization(credentials: Readonly<Record<string, { api_key_env: string }>>, env: NodeJS.ProcessEnv = process.env): Map<string, string> {
  const out = new Map<string, string>();
  for (const [runtime, c] of Object.entries(credentials)) {
    const v = env[c.api_key_env];
    if (!v) throw new PerimeterError('PERIM_E_CONFIG', `gateway.upstream.credentials.${runtime}: the environment variable ${c.api_key_env} is not set`);
    out.set(runtime, `Bearer ${v}`);
  }
  return out;
}

export class PooledUpstream implements Upstream {
  readonly #pools = new Map<string, { pool: Pool; prefix: string }>();
  readonly #o: UpstreamOptions;

  constructor(o: UpstreamOptions) {
    this.#o = o;
  }

  #pool(url: string): { pool: Pool; prefix: string } {
    let p = this.#pools.get(url);
    if (!p) {
      const u = new URL(url);
      const prefix = u.pathname.replace(/\/+$/, '');
      const pool = new Pool(u.origin, {
        connections: this.#o.connections,
        connectTimeout: this.#o.connectTimeoutMs,
        headersTimeout: this.#o.headersTimeoutMs,
        bodyTimeout: this.#o.bodyTimeoutMs,
        keepAliveTimeout: 30_000,
        pipelining: 1,
      });
      p = { pool, prefix };
      this.#pools.set(url, p);
    }
    return p;
  }

  async send(route: Route, path: string, body: Buffer | string, signal: AbortSignal): Promise<UpstreamResponse> {
    const { pool, prefix } = this.#pool(route.url);
    const auth = this.#o.authorization?.get(route.runtime);
    try {
      const r = await pool.request({
        method: 'POST',
        path: prefix + path,
        headers: auth ? { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: auth } : JSON_HEADERS,
        body,
        signal,
      });
      return { status: r.statusCode, headers: r.headers, body: r.body };
    } catch (e) {
      throw upstreamError(e, route);
    }
  }

  async get(route: Route, path: string, signal: AbortSignal): Promise<UpstreamResponse> {
    const { pool, prefix } = this.#pool(route.url);
    const auth = this.#o.authorization?.get(route.runtime);
    try {
      const r = await pool.request({ method: 'GET', path: prefix + path, signal, ...(auth ? { headers: { authorization: auth } } : {}) });
      return { status: r.statusCode, headers: r.headers, body: r.body };
    } catch (e) {
      throw upstreamError(e, route);
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.#pools.values()].map((p) => p.pool.close().catch(() => {})));
    this.#pools.clear();
  }
}

/** Maps a transport failure to PERIM_E_UPSTREAM_TIMEOUT or PERIM_E_UPSTREAM_UNREACHABLE (an abort passes through). */
export function upstreamError(e: unknown, route: Pick<Route, 'runtime'>): unknown {
  if (e instanceof PerimeterError) return e;
  const err = e as Error & { code?: string };
  if (err?.name === 'AbortError' || err instanceof undiciErrors.RequestAbortedError) return e;
  const details = { runtime: route.runtime, cause: err?.code ?? err?.name };
  if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError || err instanceof undiciErrors.ConnectTimeoutError) {
    return new PerimeterError('PERIM_E_UPSTREAM_TIMEOUT', `runtime ${route.runtime} did not answer in time`, { cause: e, details });
  }
  return new PerimeterError('PERIM_E_UPSTREAM_UNREACHABLE', `runtime ${route.runtime} cannot be reached (${err?.code ?? err?.message ?? 'error'})`, { cause: e, details });
}
