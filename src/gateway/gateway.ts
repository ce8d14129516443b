/**
 * The gateway's composition root: builds each role from the validated config (identity, Cedar
 * policy, limits, kill-switch, guards, routes, upstream pools, metrics, logs), keeps routes and keys
 * current (a refresh every `gateway.refresh_interval` seconds; kills arrive at once), and mounts
 * the OpenAI-compatible routes plus /readyz and /metrics on the server of `perimeter serve`.
 */
import { fileURLToPath } from 'node:url';
import pino, { type Logger } from 'pino';
import type { AuditLog } from '../audit/log.ts';
import type { LoadedConfig } from '../config/load.ts';
import type { GatewayConfig } from '../config/gateway.ts';
import { asPerimeterError } from '../errors/errors.ts';
import { CedarAuthorizer } from '../policy/authz/authorizer.ts';
import type { HttpServer } from '../server/server.ts';
import type { Store } from '../store/store.ts';
import { adminHandlers } from './admin.ts';
import { Flights } from './flights.ts';
import type { LiveKillSwitch } from './killswitch/live.ts';
import { createGuards, type ClosableGuards } from './guard-adapter.ts';
import { createAuthenticator, type GatewayAuthenticator } from './identity/index.ts';
import { openKillSwitch } from './kill-adapter.ts';
import { createRateLimiter, type ClosableRateLimiter } from './limits/index.ts';
import { GatewayMetrics } from './metrics.ts';
import type { GatewayParts, RequestGuards } from './parts.ts';
import { ENDPOINTS, handleInference, handleModels } from './pipeline.ts';
import { loadRoutes, RouteTable } from './routes.ts';
import { PooledUpstream, upstreamAuthorization } from './upstream.ts';

export const STARTER_POLICY = fileURLToPath(new URL('./policies/starter.cedar', import.meta.url));
export const DEV_POLICY = fileURLToPath(new URL('./policies/dev.cedar', import.meta.url));

export interface GatewayOptions {
  config: LoadedConfig;
  store: Store;
  /** The store's URL (PostgreSQL: the kill-switch LISTENs on its own connection). */
  storeUrl?: string;
  audit: AuditLog;
  /** Unadmitted models are served, requests without credentials act as "dev", and every request is permitted unless policies are configured. */
  dev?: boolean;
  /** Policy files to use when the config names none (the quickstart's starter policy). */
  defaultPolicies?: readonly string[];
  log?: Logger;
  /** Replaces a part (tests). */
  guards?: RequestGuards;
}

export class Gateway {
  readonly parts: GatewayParts;
  readonly authorizer: CedarAuthorizer;
  readonly #authenticator: GatewayAuthenticator;
  readonly #limiter: ClosableRateLimiter;
  readonly #guards: ClosableGuards;
  readonly #kills: LiveKillSwitch;
  readonly #upstream: PooledUpstream;
  readonly #store: Store;
  readonly #config: GatewayConfig;
  readonly #timer: NodeJS.Timeout;
  #refreshing: Promise<void> | undefined;
  #lastRefreshError: string | undefined;

  private constructor(p: { guards: ClosableGuards; parts: GatewayParts; authorizer: CedarAuthorizer; authenticator: GatewayAuthenticator; limiter: ClosableRateLimiter; kills: LiveKillSwitch; upstream: PooledUpstream; store: Store; config: GatewayConfig }) {
    this.parts = p.parts;
    this.authorizer = p.authorizer;
    this.#authenticator = p.authenticator;
    this.#limiter = p.limiter;
    this.#guards = p.guards;
    this.#kills = p.kills;
    this.#upstream = p.upstream;
    this.#store = p.store;
    this.#config = p.config;
    this.#timer = setInterval(() => void this.refresh(), p.config.refresh_interval * 1000);
    this.#timer.unref();
  }

  static async open(o: GatewayOptions): Promise<Gateway> {
    const g = o.config.data.gateway;
    const dev = o.dev === true;
    const log = o.log ?? pino({ level: process.env.PERIMETER_LOG_LEVEL ?? 'info', base: { svc: 'perimeter-gateway' } }, pino.destination({ dest: 2, sync: false }));
    const cedar = g.policy.cedar.length > 0 ? g.policy.cedar : dev ? [DEV_POLICY] : [...(o.defaultPolicies ?? [])];
    const authorizer = await CedarAuthorizer.open({ cedar, schema: g.policy.schema, cache_size: g.policy.cache_size });
    if (g.policy.reload_interval > 0 && g.policy.cedar.length > 0) {
      authorizer.watch(g.policy.reload_interval, (r) => {
        if (r.error) log.error({ code: r.error.code, err: r.error.message }, 'policy reload failed; the last good policy set stays in force');
        else if (r.changed) log.info({ version: r.version }, 'policies reloaded');
        o.audit.submit({ type: 'gateway.policy.reload', actor: 'system:gateway', subject: r.version, data: { ok: r.ok, changed: r.changed, error: r.error ? { code: r.error.code, message: r.error.message } : null } });
      });
    }
    const authenticator = await createAuthenticator({ store: o.store, config: g.identity, dev });
    const limiter = createRateLimiter({ rules: g.limits, redis: g.redis, onError: (e) => log.error({ code: e.code, err: e.message }, 'rate limiter') });
    const kills = await openKillSwitch({ store: o.store, storeUrl: o.storeUrl, redis: g.redis, sink: o.audit, log });
    const routes = new RouteTable(await loadRoutes(o.store, g.env));
    const upstream = new PooledUpstream({ connectTimeoutMs: g.upstream.connect_timeout_ms, headersTimeoutMs: g.upstream.headers_timeout_ms, bodyTimeoutMs: g.upstream.body_timeout_ms, connections: g.upstream.connections, authorization: upstreamAuthorization(g.upstream.credentials) });
    const metrics = new GatewayMetrics({ processMetrics: true });
    const flights = new Flights(kills);
    flights.onCut = (f, k) => {
      metrics.kills.inc();
      log.info({ kind: k.kind, target: k.id, model: f.subject.model, principal: f.subject.principal }, 'request cut by the kill-switch');
    };
    const guards: ClosableGuards = o.guards ? { ...o.guards, close: async () => {} } : createGuards(g.guards);
    if (g.guards.classifier && g.guards.classifier.apply_to !== 'input') log.warn('the classifier guard judges whole answers: streamed answers are checked by the pattern guards only');
    const parts: GatewayParts = {
      authenticator,
      authorizer,
      limiter,
      kills,
      routes,
      upstream,
      guards,
      flights,
      audit: o.audit,
      metrics,
      log,
      dev,
      maxBodyBytes: g.max_body_bytes,
      maxResponseBytes: 64 * 1024 * 1024,
    };
    if (dev) log.warn('DEV MODE: unadmitted models are served, requests without credentials are accepted, and every request is permitted unless gateway.policy names files. Never use --dev in production.');
    return new Gateway({ guards, parts, authorizer, authenticator, limiter, kills, upstream, store: o.store, config: g });
  }

  /** The kill-switch (kill and revive record, broadcast and cut in-flight requests). */
  get killSwitch(): LiveKillSwitch {
    return this.#kills;
  }

  /** Reloads routes (inventory, admission) and API keys from the store. Never throws. */
  refresh(): Promise<void> {
    this.#refreshing ??= (async () => {
      try {
        const [snapshot] = await Promise.all([loadRoutes(this.#store, this.#config.env), this.#authenticator.refresh()]);
        this.parts.routes.replace(snapshot);
        this.#lastRefreshError = undefined;
      } catch (e) {
        const err = asPerimeterError(e, 'PERIM_E_STORE');
        this.#lastRefreshError = `${err.code}: ${err.message}`;
        this.parts.log.error({ code: err.code, err: err.message }, 'gateway refresh failed; serving the last good routes and keys');
      } finally {
        this.#refreshing = undefined;
      }
    })();
    return this.#refreshing;
  }

  mount(server: HttpServer): void {
    for (const [path, spec] of Object.entries(ENDPOINTS)) server.mount('POST', path, (req, res) => void handleInference(this.parts, spec, req, res));
    server.mount('GET', '/v1/models', (req, res) => void handleModels(this.parts, req, res));
    for (const [path, h] of Object.entries(adminHandlers({ authenticator: this.#authenticator, kills: this.#kills, adminGroup: this.#config.admin_group }))) server.mount(h.method, path, h.handler);
    server.mount('GET', '/metrics', (_req, res) => {
      void this.parts.metrics.text().then((t) => {
        res.writeHead(200, { 'content-type': this.parts.metrics.contentType, 'cache-control': 'no-store' });
        res.end(t);
      });
    });
    server.route('GET', '/readyz', () => {
      const policy = this.authorizer.status();
      const problems: string[] = [];
      if (this.#lastRefreshError) problems.push(`refresh: ${this.#lastRefreshError}`);
      if (policy.lastError) problems.push(`policy: ${policy.lastError.message} (the last good set is in force)`);
      const ready = !this.#lastRefreshError;
      return { status: ready ? 200 : 503, body: { ready, routes: this.parts.routes.models().length, policy: { version: policy.version, policies: policy.policies }, inflight: this.parts.flights.size, problems, dev: this.parts.dev } };
    });
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#refreshing;
    this.authorizer.close();
    this.parts.flights.close();
    await Promise.all([this.#limiter.close(), this.#kills.close(), this.#upstream.close(), this.#guards.close()]);
  }
}
