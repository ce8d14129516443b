/**
 * The request flow, as one straight line (see ../../ARCHITECTURE.md):
 *
 *   identity -> body -> route -> kill-switch -> runtime admission -> policy -> rate limit
 *   -> input guards -> upstream -> output guards (streamed with hold-back) -> audit -> client
 *
 * Each step refuses with a coded PerimeterError; the catch at the end turns it into an
 * OpenAI-style error (or, once a stream has started, an error event), and `finally` records one
 * audit event, the metrics, the token charge and a log line for every request, allowed or not.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { PerimeterError } from '../errors/errors.ts';
import { toHttpError } from './http-errors.ts';
import { readJsonBody, sendJson, sendError } from './io.ts';
import { relayJson, relayStream, type Flight } from './relay.ts';
import { ruleList } from './sse.ts';
import type { GatewayParts, Endpoint } from './parts.ts';
import type { Action, AuthzDecision, GuardFinding, LimitResult, Principal } from './types.ts';
import type { Route } from './routes.ts';

export interface EndpointSpec {
  endpoint: Endpoint;
  action: Action;
  /** The upstream path (OpenAI-compatible). */
  path: string;
}

export const ENDPOINTS: Readonly<Record<string, EndpointSpec>> = {
  '/v1/chat/completions': { endpoint: 'chat', action: 'infer', path: '/v1/chat/completions' },
  '/v1/completions': { endpoint: 'completions', action: 'infer', path: '/v1/completions' },
  '/v1/embeddings': { endpoint: 'embeddings', action: 'embed', path: '/v1/embeddings' },
};

/** What one request did, for the audit event, metrics and log line. */
interface Outcome {
  status: number;
  code: string | null;
  principal: Principal | undefined;
  model: string | null;
  route: Route | undefined;
  decision: AuthzDecision | undefined;
  limit: LimitResult | undefined;
  guards: GuardFinding[];
  /** How many of `guards` came from the input side (the rest are output findings). */
  inputFindings: number;
  tokens: { prompt: number; completion: number; estimated: boolean } | undefined;
  stream: boolean;
  cut: boolean;
}

export async function handleInference(p: GatewayParts, spec: EndpointSpec, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const t0 = performance.now();
  const at = Date.now();
  const o: Outcome = { status: 200, code: null, principal: undefined, model: null, route: undefined, decision: undefined, limit: undefined, guards: [], inputFindings: 0, tokens: undefined, stream: false, cut: false };
  let flight: Flight | undefined;
  p.metrics.inflight.inc();
  try {
    const principal = (o.principal = await p.authenticator.authenticate(req.headers));
    const body = await readJsonBody(req, p.maxBodyBytes);
    const raw = body.raw;
    const model = body.json.model;
    if (typeof model !== 'string' || model.length === 0 || model.length > 256) throw new PerimeterError('PERIM_E_REQUEST_MALFORMED', 'the body must name a model (a string)');
    o.model = model;
    const route = (o.route = p.routes.pick(model));
    if (!route) throw new PerimeterError('PERIM_E_MODEL_UNKNOWN', `no runtime serves the model "${model}"`);
    const subject = { model, digest: route.digest, principal: principal.id, runtime: route.runtime };
    const kill = p.kills.killed(subject);
    if (kill) throw new PerimeterError('PERIM_E_KILLED', `the ${kill.kind} ${kill.id} was stopped by the kill-switch${kill.reason ? `: ${kill.reason}` : ''}`);
    if (!route.admitted && !p.dev) throw new PerimeterError('PERIM_E_MODEL_NOT_ADMITTED', route.reason ?? `${model} is not admitted`);
    const decision = (o.decision = p.authorizer.authorize({
      principal,
      action: spec.action,
      resource: { id: model, digest: route.digest, admitted: route.admitted, license: route.license, tier: route.tier, runtime: route.runtime },
      context: { time: at, sourceIp: req.socket.remoteAddress ?? '', purpose: headerValue(req.headers['x-perimeter-purpose']) },
    }));
    if (!decision.allowed) throw new PerimeterError('PERIM_E_POLICY_DENIED', `denied by policy: ${decision.reasons.join('; ')}`);
    const limit = (o.limit = await p.limiter.check(principal, model));
    if (!limit.allowed) throw new PerimeterError(limit.code ?? 'PERIM_E_RATE_LIMITED', `${limit.limit ?? 'a limit'} is exhausted for ${principal.id} on ${model}; retry in ${Math.ceil(limit.retryAfterMs / 1000)} s`);
    const g = await p.guards.input(spec.endpoint, body.json);
    o.guards.push(...g.findings);
    o.inputFindings = g.findings.length;
    if (g.blocked) throw new PerimeterError('PERIM_E_GUARD_BLOCKED', `the request was blocked by an input guard (${ruleList(g.findings)})`);
    o.stream = body.json.stream === true && spec.endpoint !== 'embeddings';
    let payload: Buffer | string = raw;
    let wantsUsage = true;
    if (g.changed || o.stream) {
      const next: Record<string, unknown> = { ...g.body };
      if (o.stream) {
        // Ask for the usage chunk (to charge tokens); drop it again if the client did not ask.
        const so = (next.stream_options ?? {}) as Record<string, unknown>;
        wantsUsage = so.include_usage === true;
        next.stream_options = { ...so, include_usage: true };
      }
      payload = JSON.stringify(next);
    }
    p.metrics.overhead.observe((performance.now() - t0) / 1000);
    flight = p.flights.start(subject);
    const headers = limit.headers;
    if (o.stream) await relayStream(p, route, spec.path, payload, flight, res, headers, o, wantsUsage);
    else await relayJson(p, route, spec, g.body, payload, flight, res, headers, o);
  } catch (e) {
    if (flight?.killed) o.cut = true;
    const err = flight?.killed ? flight.killed : e;
    const { status, body, known } = toHttpError(err);
    o.status = status;
    o.code = body.error.code;
    if (!known) p.log.error({ err: e, model: o.model }, 'gateway request failed');
    if (status >= 500 && known && o.route) p.metrics.upstreamErrors.inc({ runtime: o.route.runtime, code: body.error.code });
    if (!res.headersSent) {
      const extra: Record<string, string> = { ...(o.limit?.headers ?? {}) };
      if (status === 429 && o.limit) extra['retry-after'] = String(Math.max(1, Math.ceil(o.limit.retryAfterMs / 1000)));
      sendError(res, status, body, extra);
    } else if (!res.writableEnded) {
      res.end();
    }
  } finally {
    if (flight) p.flights.end(flight);
    p.metrics.inflight.dec();
    finish(p, spec, o, at, t0);
  }
}

function finish(p: GatewayParts, spec: EndpointSpec, o: Outcome, at: number, t0: number): void {
  const ms = performance.now() - t0;
  const model = o.route ? o.model! : 'unknown';
  p.metrics.requests.inc({ endpoint: spec.endpoint, model, status: o.status });
  p.metrics.duration.observe({ endpoint: spec.endpoint }, ms / 1000);
  p.metrics.decisions.inc({ stage: stageOf(o.code), result: o.code ? 'deny' : 'allow' });
  const side = (i: number): 'input' | 'output' => (i < o.inputFindings ? 'input' : 'output');
  o.guards.forEach((f, i) => p.metrics.guardHits.inc({ side: side(i), rule: f.rule, action: f.action }));
  if (o.tokens && o.principal && o.route) {
    p.limiter.charge(o.principal, o.model!, o.tokens.prompt + o.tokens.completion);
    p.metrics.tokens.inc({ model, kind: 'prompt' }, o.tokens.prompt);
    p.metrics.tokens.inc({ model, kind: 'completion' }, o.tokens.completion);
  }
  const d = o.decision;
  p.audit.submit({
    type: 'gateway.request',
    actor: o.principal?.id ?? 'anonymous',
    subject: o.route?.digest ?? o.model ?? 'unknown',
    at,
    // Members in sorted order (nested ones too): canonical JSON then is plain JSON.stringify (audit/canonical.ts).
    data: {
      code: o.code,
      cut: o.cut,
      decision: d ? { allowed: d.allowed, policies: d.policies, reasons: d.reasons, version: d.policyVersion } : null,
      digest: o.route?.digest ?? null,
      endpoint: spec.endpoint,
      guards: o.guards.map((f, i) => ({ action: f.action, rule: f.rule, side: side(i) })),
      limit: o.limit && !o.limit.allowed ? { limit: o.limit.limit ?? null, retry_after_ms: o.limit.retryAfterMs } : null,
      model: o.model,
      ms: Math.round(ms * 1000) / 1000,
      runtime: o.route?.runtime ?? null,
      status: o.status,
      stream: o.stream,
      tokens: o.tokens ? { completion_tokens: o.tokens.completion, estimated: o.tokens.estimated, prompt_tokens: o.tokens.prompt } : null,
    },
  });
  if (o.code) p.log.info({ principal: o.principal?.id, model: o.model, endpoint: spec.endpoint, status: o.status, code: o.code, ms }, 'refused');
  else p.log.debug({ principal: o.principal?.id, model: o.model, endpoint: spec.endpoint, status: o.status, ms }, 'ok');
}

function stageOf(code: string | null): string {
  if (!code) return 'all';
  if (code.startsWith('PERIM_E_AUTH')) return 'auth';
  if (code === 'PERIM_E_KILLED') return 'kill';
  if (code === 'PERIM_E_MODEL_NOT_ADMITTED' || code === 'PERIM_E_MODEL_UNKNOWN') return 'admission';
  if (code === 'PERIM_E_POLICY_DENIED') return 'policy';
  if (code === 'PERIM_E_RATE_LIMITED' || code === 'PERIM_E_BUDGET_EXHAUSTED') return 'limit';
  if (code.startsWith('PERIM_E_GUARD')) return 'guard';
  if (code.startsWith('PERIM_E_UPSTREAM')) return 'upstream';
  return 'request';
}

function headerValue(v: string | string[] | undefined): string | null {
  const s = Array.isArray(v) ? v[0] : v;
  return s ? s.slice(0, 200) : null;
}

/** GET /v1/models: the models this caller may list (admitted, not killed, permitted by policy). */
export async function handleModels(p: GatewayParts, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    const principal = await p.authenticator.authenticate(req.headers);
    const now = Date.now();
    const context = { time: now, sourceIp: req.socket.remoteAddress ?? '', purpose: headerValue(req.headers['x-perimeter-purpose']) };
    const data = [];
    for (const r of p.routes.models()) {
      if (!r.admitted && !p.dev) continue;
      if (p.kills.killed({ model: r.model, digest: r.digest, principal: principal.id, runtime: r.runtime })) continue;
      const d = p.authorizer.authorize({ principal, action: 'list', resource: { id: r.model, digest: r.digest, admitted: r.admitted, license: r.license, tier: r.tier, runtime: r.runtime }, context });
      if (d.allowed) data.push({ id: r.model, object: 'model', created: Math.floor(p.routes.loadedAt / 1000), owned_by: r.runtime });
    }
    sendJson(res, 200, { object: 'list', data });
  } catch (e) {
    const { status, body } = toHttpError(e);
    sendError(res, status, body, {});
  }
}
