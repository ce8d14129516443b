/**
 * The one HTTP(S) server `perimeter serve` runs: a small route table over node:http / node:https,
 * JSON in and out, bounded bodies, coded errors. Rooms add routes (the admission webhook today,
 * the gateway later) with `route()`; nothing here knows what a route does.
 *
 * Errors never leak internals: a PerimeterError of kind invalid/usage becomes 400 with its code
 * and message (written to be safe to show); anything else becomes a generic 500.
 */
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { PerimeterError, isPerimeterError } from '../errors/errors.ts';

export interface Reply {
  status: number;
  /** Serialized as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
}

export interface Request {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  /** The raw body (empty for GET). */
  body: Buffer;
  /** The body parsed as JSON; PERIM_E_REQUEST_MALFORMED when it is not JSON. */
  json(): unknown;
}

export type Handler = (req: Request) => Promise<Reply> | Reply;

export interface RouteOptions {
  /** Largest body accepted (default 1 MiB); larger is 413. */
  maxBodyBytes?: number;
  /** Require a JSON content type (default true for POST/PUT/PATCH). */
  json?: boolean;
}

export interface TlsFiles {
  cert: string | Buffer;
  key: string | Buffer;
}

export interface ListenOptions {
  host: string;
  port: number;
  tls?: TlsFiles;
}

export interface Listening {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** A handler that owns the response (streaming, non-JSON bodies): the gateway's /v1 routes, /metrics. */
export type RawHandler = (req: IncomingMessage, res: ServerResponse) => void;

interface Route {
  handler: Handler;
  options: RouteOptions;
  raw?: RawHandler;
}

const DEFAULT_MAX_BODY = 1024 * 1024;

export class HttpServer {
  readonly #routes = new Map<string, Map<string, Route>>();
  /** Called with unexpected errors (logged by the caller; never sent to the client). */
  onError: (e: unknown, req: { method: string; path: string }) => void = () => {};

  route(method: string, path: string, handler: Handler, options: RouteOptions = {}): this {
    const m = method.toUpperCase();
    let byMethod = this.#routes.get(path);
    if (!byMethod) this.#routes.set(path, (byMethod = new Map()));
    if (byMethod.has(m)) throw new PerimeterError('PERIM_E_USAGE', `route ${m} ${path} is already registered`);
    byMethod.set(m, { handler, options });
    return this;
  }

  /** Registers a handler that reads the request and writes the response itself. */
  mount(method: string, path: string, raw: RawHandler): this {
    this.route(method, path, () => ({ status: 500 }));
    this.#routes.get(path)!.get(method.toUpperCase())!.raw = raw;
    return this;
  }

  /** The node request listener (exposed so tests and other servers can mount it). */
  readonly listener = (req: IncomingMessage, res: ServerResponse): void => {
    void this.#handle(req, res);
  };

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    let path = '/';
    let query = new URLSearchParams();
    const target = req.url ?? '/';
    if (/^\/[A-Za-z0-9/_.-]*$/.test(target) && !target.includes('..') && !target.includes('//')) path = target; // the common case, without URL parsing
    else {
      try {
        const u = new URL(target, 'http://localhost');
        path = u.pathname;
        query = u.searchParams;
      } catch {
        /* a malformed target falls through to 404 */
      }
    }
    const byMethod = this.#routes.get(path);
    const route = byMethod?.get(method);
    if (!byMethod) return send(res, { status: 404, body: errorBody('PERIM_E_REQUEST_MALFORMED', `no route ${path}`) }, req);
    if (!route) return send(res, { status: 405, body: errorBody('PERIM_E_REQUEST_MALFORMED', `${method} is not allowed on ${path}`), headers: { allow: [...byMethod.keys()].join(', ') } }, req);
    if (route.raw) return route.raw(req, res);
    try {
      const wantsJson = route.options.json ?? ['POST', 'PUT', 'PATCH'].includes(method);
      if (wantsJson && !/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
        return send(res, { status: 415, body: errorBody('PERIM_E_REQUEST_MALFORMED', 'the body must be application/json') }, req);
      }
      const body = await readBody(req, route.options.maxBodyBytes ?? DEFAULT_MAX_BODY);
      if (body === 'too-large') return send(res, { status: 413, body: errorBody('PERIM_E_REQUEST_MALFORMED', 'the body is too large') }, req, true);
      let parsed: { v: unknown } | undefined;
      const request: Request = {
        method,
        path,
        query,
        headers: req.headers,
        body,
        json() {
          if (parsed) return parsed.v;
          try {
            parsed = { v: JSON.parse(body.toString('utf8')) };
          } catch {
            throw new PerimeterError('PERIM_E_REQUEST_MALFORMED', 'the body is not valid JSON');
          }
          return parsed.v;
        },
      };
      send(res, await route.handler(request), req);
    } catch (e) {
      if (isPerimeterError(e) && e.kind !== 'io') return send(res, { status: 400, body: errorBody(e.code, e.message) }, req);
      this.onError(e, { method, path });
      send(res, { status: 500, body: errorBody('PERIM_E_INTERNAL', 'internal error') }, req);
    }
  }

  /** Listens on HOST:PORT (port 0 picks a free one); HTTPS when tls is given. */
  listen(o: ListenOptions): Promise<Listening> {
    let server: Server;
    try {
      server = o.tls ? createHttpsServer({ cert: o.tls.cert, key: o.tls.key, minVersion: 'TLSv1.2' }, this.listener) : createHttpServer(this.listener);
    } catch (e) {
      return Promise.reject(new PerimeterError('PERIM_E_LISTEN', `cannot load the TLS certificate and key: ${(e as Error).message}`, { cause: e }));
    }
    server.requestTimeout = 30_000;
    server.headersTimeout = 10_000;
    return new Promise((resolvePromise, reject) => {
      server.once('error', (e) => reject(new PerimeterError('PERIM_E_LISTEN', `cannot listen on ${o.host}:${o.port}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e })));
      server.listen(o.port, o.host, () => {
        const port = (server.address() as AddressInfo).port;
        const host = o.host.includes(':') && !o.host.startsWith('[') ? `[${o.host}]` : o.host;
        resolvePromise({
          url: `${o.tls ? 'https' : 'http'}://${host}:${port}`,
          port,
          close: () =>
            new Promise<void>((done) => {
              server.close(() => done());
              server.closeIdleConnections();
            }),
        });
      });
    });
  }
}

export function errorBody(code: string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}

/** Splits HOST:PORT ("[::1]:8443" for IPv6). */
export function parseListen(s: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]*)):([0-9]{1,5})$/.exec(s);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new PerimeterError('PERIM_E_USAGE', `--listen must be HOST:PORT, got "${s}"`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

function readBody(req: IncomingMessage, max: number): Promise<Buffer | 'too-large'> {
  return new Promise((resolvePromise, reject) => {
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > max) {
      req.resume();
      return resolvePromise('too-large');
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (size > max) {
        done = true;
        req.resume();
        return resolvePromise('too-large');
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!done) resolvePromise(Buffer.concat(chunks));
    });
    req.on('error', reject);
  });
}

function send(res: ServerResponse, r: Reply, req: IncomingMessage, close = false): void {
  if (res.headersSent) return;
  const text = r.body === undefined ? '' : JSON.stringify(r.body);
  res.writeHead(r.status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...(close ? { connection: 'close' } : {}),
    ...r.headers,
  });
  res.end(req.method === 'HEAD' ? undefined : text);
}
