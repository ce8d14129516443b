/**
 * Asking a runtime something over HTTP: a bounded JSON request with a deadline. Every way it can
 * go wrong becomes a coded error naming the runtime's URL: unreachable or too slow
 * (PERIM_E_RUNTIME_UNREACHABLE), an HTTP error status (PERIM_E_RUNTIME_HTTP), or an answer that is
 * not JSON or too large (PERIM_E_RUNTIME_RESPONSE). Shapes are checked by each adapter.
 */
import { PerimeterError } from '../../errors/errors.ts';

export interface FetchOptions {
  /** Per request, including reading the body (default 5 s). */
  timeoutMs?: number;
  /** Largest body read (default 8 MiB). */
  maxBytes?: number;
  method?: 'GET' | 'POST';
  body?: unknown;
}

export const DEFAULT_TIMEOUT_MS = 5000;
const DEFAULT_MAX_BYTES = 8 * 1024 * 1024;

/** Joins a base URL (which may carry a path prefix) and an API path. */
export function endpoint(base: string, path: string): string {
  const u = new URL(base);
  u.pathname = `${u.pathname.replace(/\/+$/, '')}${path}`;
  u.search = '';
  return u.toString();
}

export async function fetchJson(url: string, o: FetchOptions = {}): Promise<unknown> {
  const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const method = o.method ?? 'GET';
  const what = `${method} ${url}`;
  const signal = AbortSignal.timeout(timeoutMs);
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      signal,
      redirect: 'error',
      headers: { accept: 'application/json', ...(o.body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : {}),
    });
  } catch (e) {
    throw unreachable(what, e, timeoutMs);
  }
  let text: string;
  try {
    text = await readLimited(res, o.maxBytes ?? DEFAULT_MAX_BYTES, what);
  } catch (e) {
    if (e instanceof PerimeterError) throw e;
    throw unreachable(what, e, timeoutMs);
  }
  if (!res.ok) {
    const hint = text.slice(0, 200).replace(/\s+/g, ' ').trim();
    throw new PerimeterError('PERIM_E_RUNTIME_HTTP', `${what} answered ${res.status} ${res.statusText}${hint ? `: ${hint}` : ''}`, { details: { url, status: res.status } });
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new PerimeterError('PERIM_E_RUNTIME_RESPONSE', `${what} did not answer JSON (starts ${JSON.stringify(text.slice(0, 40))})`, { details: { url } });
  }
}

function unreachable(what: string, e: unknown, timeoutMs: number): PerimeterError {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  const timedOut = err?.name === 'TimeoutError' || err?.name === 'AbortError';
  const why = timedOut ? `no answer within ${timeoutMs} ms` : (err?.cause?.code ?? err?.cause?.message ?? err?.message ?? String(e));
  return new PerimeterError('PERIM_E_RUNTIME_UNREACHABLE', `${what}: ${why}`, { cause: e });
}

async function readLimited(res: Response, max: number, what: string): Promise<string> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > max) {
    await res.body?.cancel().catch(() => {});
    throw new PerimeterError('PERIM_E_RUNTIME_RESPONSE', `${what} answered ${declared} bytes, more than the ${max} allowed`);
  }
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => {});
      throw new PerimeterError('PERIM_E_RUNTIME_RESPONSE', `${what} answered more than the ${max} bytes allowed`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A shape problem in a runtime's answer. */
export function badShape(what: string, why: string): PerimeterError {
  return new PerimeterError('PERIM_E_RUNTIME_RESPONSE', `${what}: ${why}`);
}
