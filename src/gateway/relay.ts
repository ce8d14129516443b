/**
 * Calling the upstream and relaying its answer: whole JSON answers are read (bounded), guarded and
 * passed on unchanged when nothing was redacted; streams are rewritten event by event through the
 * output guards (sse.ts) with backpressure, and cut cleanly by the kill-switch, a guard, or the
 * client going away. Upstream errors become coded errors (4xx passed on with their status).
 */
import type { ServerResponse } from 'node:http';
import { once } from 'node:events';
import { PerimeterError } from '../errors/errors.ts';
import { sendText } from './io.ts';
import { SseRewriter, ruleList, type Usage } from './sse.ts';
import type { Flight } from './flights.ts';
import type { GatewayParts } from './parts.ts';
import type { EndpointSpec } from './pipeline.ts';
import type { Route } from './routes.ts';
import type { GuardFinding } from './types.ts';
import type { UpstreamResponse } from './upstream.ts';
import { upstreamError } from './upstream.ts';

export type { Flight };

/** The parts of a request's outcome the relay fills in. */
export interface RelayOutcome {
  status: number;
  code: string | null;
  guards: GuardFinding[];
  tokens: { prompt: number; completion: number; estimated: boolean } | undefined;
  cut: boolean;
}

const DEV_WARNING = 'dev mode: this model is not an admitted artifact';

export async function relayJson(p: GatewayParts, route: Route, spec: EndpointSpec, body: Record<string, unknown>, payload: Buffer | string, flight: Flight, res: ServerResponse, headers: Readonly<Record<string, string>>, o: RelayOutcome): Promise<void> {
  const up = await p.upstream.send(route, spec.path, payload, flight.abort.signal);
  const raw = await readAll(up, p.maxResponseBytes, route);
  if (up.status >= 400) throw upstreamFailure(up.status, raw, route);
  let obj: { choices?: Array<{ message?: { content?: unknown }; text?: unknown }>; usage?: Usage };
  try {
    obj = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new PerimeterError('PERIM_E_UPSTREAM_ERROR', `runtime ${route.runtime} answered something that is not JSON`);
  }
  o.tokens = tokensOf(obj.usage, payload.length, raw.length);
  let changed = false;
  if (spec.endpoint !== 'embeddings' && Array.isArray(obj.choices)) {
    for (const c of obj.choices) {
      const isChat = c.message !== undefined;
      const text = isChat ? c.message?.content : c.text;
      if (typeof text !== 'string' || text.length === 0) continue;
      const r = await p.guards.output(text, { endpoint: spec.endpoint, body });
      o.guards.push(...r.findings);
      if (r.verdict === 'block') throw new PerimeterError('PERIM_E_GUARD_BLOCKED', `the response was blocked by an output guard (${ruleList(r.findings)})`);
      if (r.verdict === 'redact') {
        changed = true;
        if (isChat) c.message!.content = r.text;
        else c.text = r.text;
      }
    }
  }
  const extra = route.admitted ? headers : { ...headers, 'x-perimeter-warning': DEV_WARNING };
  sendText(res, 200, changed ? JSON.stringify(obj) : raw, extra);
}

export async function relayStream(p: GatewayParts, route: Route, path: string, payload: Buffer | string, flight: Flight, res: ServerResponse, headers: Readonly<Record<string, string>>, o: RelayOutcome, forwardUsage: boolean): Promise<void> {
  const up = await p.upstream.send(route, path, payload, flight.abort.signal);
  if (up.status >= 400) throw upstreamFailure(up.status, await readAll(up, p.maxResponseBytes, route), route);
  const type = String(up.headers['content-type'] ?? '');
  if (!type.startsWith('text/event-stream')) {
    up.body.resume();
    throw new PerimeterError('PERIM_E_UPSTREAM_ERROR', `runtime ${route.runtime} did not answer a stream (content-type ${type || 'none'})`);
  }
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
    ...headers,
    ...(route.admitted ? {} : { 'x-perimeter-warning': DEV_WARNING }),
  });
  const rw = new SseRewriter(() => p.guards.stream(), { forwardUsage });
  const onClose = (): void => {
    if (!res.writableFinished) flight.abort.abort(new Error('client closed the connection'));
  };
  res.on('close', onClose);
  try {
    for await (const chunk of up.body as AsyncIterable<Uint8Array>) {
      const out = rw.feed(chunk);
      if (out && !res.write(out)) await once(res, 'drain', { signal: flight.abort.signal });
      if (rw.finished) break;
    }
    const tail = rw.finish();
    if (tail) res.write(tail);
  } catch (e) {
    if (flight.killed) {
      o.cut = true;
      o.code = flight.killed.code;
      res.write(rw.fail(flight.killed.code, flight.killed.message));
    } else if (!res.destroyed) {
      const err = upstreamError(e, route);
      const code = err instanceof PerimeterError ? err.code : 'PERIM_E_UPSTREAM_UNREACHABLE';
      o.code = code;
      res.write(rw.fail(code, `the stream from runtime ${route.runtime} broke off`));
    } else {
      o.code = 'PERIM_E_REQUEST_MALFORMED';
      o.status = 499; // the client went away
    }
  } finally {
    res.off('close', onClose);
    if (!up.body.destroyed) up.body.destroy();
    if (!res.writableEnded) res.end();
  }
  if (rw.blocked) {
    o.guards.push(...rw.blocked);
    o.code = 'PERIM_E_GUARD_BLOCKED';
  }
  o.tokens = tokensOf(rw.usage, payload.length, rw.textChars);
}

/** Tokens from the usage block, else estimated at 4 characters a token. */
function tokensOf(u: Usage | undefined, promptChars: number, completionChars: number): RelayOutcome['tokens'] {
  if (u && typeof u.prompt_tokens === 'number') return { prompt: u.prompt_tokens, completion: u.completion_tokens ?? 0, estimated: false };
  return { prompt: Math.ceil(promptChars / 4), completion: Math.ceil(completionChars / 4), estimated: true };
}

async function readAll(up: UpstreamResponse, max: number, route: Route): Promise<Buffer> {
  const declared = Number(up.headers['content-length']);
  if (declared >= 0 && declared <= max) {
    // The common case: a declared length within the cap; undici reads it in one go.
    try {
      return Buffer.from(await up.body.arrayBuffer());
    } catch (e) {
      throw upstreamError(e, route);
    }
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const c of up.body as AsyncIterable<Buffer>) {
      size += c.length;
      if (size > max) {
        up.body.destroy();
        throw new PerimeterError('PERIM_E_UPSTREAM_ERROR', `runtime ${route.runtime} answered more than ${max} bytes`);
      }
      chunks.push(c);
    }
  } catch (e) {
    throw upstreamError(e, route);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

/** An upstream error status: 4xx passed on (with the runtime's message), 5xx as 502. */
function upstreamFailure(status: number, raw: Buffer, route: Route): PerimeterError {
  let message = '';
  try {
    const j = JSON.parse(raw.toString('utf8')) as { error?: { message?: unknown } | string; message?: unknown };
    const m = typeof j.error === 'string' ? j.error : (j.error?.message ?? j.message);
    if (typeof m === 'string') message = m.slice(0, 500);
  } catch {
    /* not JSON: no message */
  }
  const passOn = status >= 400 && status < 500 && status !== 401 && status !== 403;
  return new PerimeterError('PERIM_E_UPSTREAM_ERROR', `runtime ${route.runtime} answered ${status}${message ? `: ${message}` : ''}`, { details: { status: passOn ? status : 502, runtime: route.runtime } });
}
