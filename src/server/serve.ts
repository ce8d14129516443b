/**
 * The composition root of `perimeter serve`: one HttpServer with the health route and the
 * admission webhook, and the periodic runtime sync. Later rooms (the gateway) add their routes to
 * the same server through `routes`, and hear about each sync through `onSync`.
 */
import { sql } from 'kysely';
import type { EventSink } from '../audit/events.ts';
import { asPerimeterError } from '../errors/errors.ts';
import type { LoadedConfig } from '../config/load.ts';
import { admit } from '../policy/admit.ts';
import { reviewAdmission } from '../policy/webhook.ts';
import { syncRuntimes, type SyncReport } from '../registry/runtimes-sync.ts';
import type { Store } from '../store/store.ts';
import { HttpServer, type Listening, type TlsFiles } from './server.ts';

export interface ServeOptions {
  config: LoadedConfig;
  store: Store;
  sink: EventSink;
  listen: { host: string; port: number };
  tls?: TlsFiles;
  /** Seconds between runtime syncs; 0 or undefined: none. */
  syncIntervalSeconds?: number;
  syncTimeoutMs?: number;
  /** One line per notable thing (sync results, unexpected errors). */
  log?: (line: string) => void;
  /** Extra routes (the gateway). */
  routes?: (server: HttpServer) => void;
  /** Called after each runtime sync (the gateway reloads its routes). */
  onSync?: () => Promise<void> | void;
}

export interface Serving extends Listening {
  server: HttpServer;
  /** Runs one sync now (also what the interval runs); resolves with its report. */
  syncNow(): Promise<SyncReport | undefined>;
}

/** The largest AdmissionReview accepted (a Pod with large specs stays well under this). */
const MAX_REVIEW_BYTES = 4 * 1024 * 1024;

export function addHealthRoute(server: HttpServer, store: Store): void {
  server.route('GET', '/healthz', async () => {
    try {
      await sql`select 1`.execute(store.db);
      return { status: 200, body: { ok: true, store: store.kind } };
    } catch (e) {
      return { status: 503, body: { ok: false, error: { code: asPerimeterError(e, 'PERIM_E_STORE').code, message: 'the store does not answer' } } };
    }
  });
}

export function addAdmissionRoute(server: HttpServer, o: { config: LoadedConfig; store: Store; sink: EventSink }): void {
  server.route(
    'POST',
    '/admission/validate',
    async (req) => {
      const review = await reviewAdmission(req.json(), {
        config: o.config,
        admit: (r, actor) => admit({ store: o.store, sink: o.sink, config: o.config, actor }, r),
      });
      return { status: 200, body: review };
    },
    { maxBodyBytes: MAX_REVIEW_BYTES },
  );
}

export async function serve(o: ServeOptions): Promise<Serving> {
  const log = o.log ?? (() => {});
  const server = new HttpServer();
  server.onError = (e, r) => log(`error on ${r.method} ${r.path}: ${(e as Error)?.stack ?? String(e)}`);
  addHealthRoute(server, o.store);
  addAdmissionRoute(server, o);
  o.routes?.(server);
  const listening = await server.listen({ ...o.listen, ...(o.tls ? { tls: o.tls } : {}) });

  let running: Promise<SyncReport | undefined> | undefined;
  const syncNow = (): Promise<SyncReport | undefined> => {
    running ??= syncRuntimes(o.store, o.sink, { timeoutMs: o.syncTimeoutMs, actor: 'system:serve' })
      .then(async (r) => {
        log(`sync: ${r.runtimes.length} runtime(s), ${r.findings} finding(s), ${r.errors} error(s)`);
        await o.onSync?.();
        return r;
      })
      .catch((e) => {
        const err = asPerimeterError(e);
        log(`sync failed [${err.code}]: ${err.message}`);
        return undefined;
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  };
  const seconds = o.syncIntervalSeconds ?? 0;
  const timer = seconds > 0 ? setInterval(() => void syncNow(), seconds * 1000) : undefined;
  timer?.unref();
  if (seconds > 0) void syncNow();

  return {
    ...listening,
    server,
    syncNow,
    async close() {
      if (timer) clearInterval(timer);
      await running;
      await listening.close();
    },
  };
}
