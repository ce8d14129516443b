/**
 * perimeter serve: the HTTP(S) server (GET /healthz, POST /admission/validate for the Kubernetes
 * ValidatingAdmissionWebhook), the inference gateway (/v1/..., /readyz, /metrics) when
 * `gateway.enabled` or --upstream or --dev, and the periodic runtime sync. Runs until SIGTERM or SIGINT.
 *
 * `--upstream URL` is the first-try path: it records (or reuses) a runtime named "upstream" for
 * that URL, syncs it at once and every 30 s, and, when the config names no Cedar policy, uses the
 * starter policy (authenticated callers may use admitted models).
 */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { AuditLog } from '../../audit/log.ts';
import { PerimeterError } from '../../errors/errors.ts';
import { checkTlsPair } from '../../config/load.ts';
import { parseListen } from '../../server/server.ts';
import { serve } from '../../server/serve.ts';
import { openStore, type Store } from '../../store/store.ts';
import type { EventSink } from '../../audit/events.ts';
import type { Gateway } from '../../gateway/gateway.ts';
import { addRuntime, getRuntime, RUNTIME_KINDS } from '../../registry/runtimes.ts';
import { syncRuntimes } from '../../registry/runtimes-sync.ts';
import { EXIT, reportError } from '../output.ts';
import { addConfigFlags, loadConfigFrom, storeTargetOf, type ConfigFlags } from './config-flags.ts';

interface ServeFlags extends ConfigFlags {
  listen?: string;
  upstream?: string;
  upstreamKind?: string;
  dev?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  syncInterval?: string;
  syncTimeout?: string;
}

function readPem(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new PerimeterError('PERIM_E_LISTEN', `cannot read the TLS ${what} ${path}`, { cause: e });
  }
}

function seconds(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 86_400) throw new PerimeterError('PERIM_E_USAGE', `${flag} must be whole seconds from 0 to 86400, got "${v}"`);
  return n;
}

export function registerServe(program: Command): void {
  addConfigFlags(
    program
      .command('serve')
      .description('serve the admission webhook (POST /admission/validate) and /healthz, and sync runtimes periodically; runs until SIGTERM')
      .option('--listen <host:port>', 'address to listen on (default: server.listen in the config, else 127.0.0.1:8443)')
      .option('--tls-cert <pem>', 'TLS certificate (chain), PEM; Kubernetes calls webhooks over HTTPS only')
      .option('--tls-key <pem>', 'TLS private key, PEM')
      .option('--sync-interval <seconds>', 'sync runtimes every so many seconds; 0 turns it off (default: server.sync_interval, else 0)')
      .option('--sync-timeout <ms>', 'per request to a runtime during sync', '5000')
      .option('--upstream <url>', 'front this OpenAI-compatible runtime (recorded as runtime "upstream"); turns the gateway on')
      .option('--upstream-kind <kind>', `the upstream's kind: ${RUNTIME_KINDS.join(', ')}`, 'openai')
      .option('--dev', 'DEVELOPMENT ONLY: serve unadmitted models, accept requests without credentials, permit everything unless policies are configured')
      .option('--json', 'print the start line as JSON'),
  ).action(async (f: ServeFlags) => {
    const out = { json: f.json === true };
    try {
      const config = loadConfigFrom(f);
      const listen = parseListen(f.listen ?? config.data.server.listen);
      if ((f.tlsCert === undefined) !== (f.tlsKey === undefined)) throw new PerimeterError('PERIM_E_USAGE', '--tls-cert and --tls-key go together');
      const files = f.tlsCert ? { cert: f.tlsCert, key: f.tlsKey! } : config.data.server.tls;
      const tls = files ? { cert: readPem(files.cert, 'certificate'), key: readPem(files.key, 'key') } : undefined;
      if (tls) {
        try {
          checkTlsPair(tls.cert, tls.key);
        } catch (e) {
          throw new PerimeterError('PERIM_E_LISTEN', (e as Error).message, { cause: e });
        }
      }
      const syncIntervalSeconds = seconds(f.syncInterval, '--sync-interval') ?? config.data.server.sync_interval;
      const syncTimeoutMs = Number(f.syncTimeout ?? '5000');
      if (!Number.isInteger(syncTimeoutMs) || syncTimeoutMs <= 0) throw new PerimeterError('PERIM_E_USAGE', `--sync-timeout must be a positive number of milliseconds`);

      const gatewayOn = config.data.gateway.enabled || f.upstream !== undefined || f.dev === true;
      const storeTarget = storeTargetOf(f, config);
      const store = await openStore(storeTarget);
      let log: AuditLog | undefined;
      let gateway: Gateway | undefined;
      try {
        log = await AuditLog.open(store, { maxDelayMs: config.data.gateway.audit_window_ms });
        const line = (s: string): void => void process.stderr.write(`perimeter serve: ${s}\n`);
        if (f.dev) line('WARNING: --dev is on. Unadmitted models are served, requests without credentials are accepted, and everything is permitted unless gateway.policy names files. Never use --dev in production.');
        if (f.upstream) await ensureUpstream(store, log, f.upstream, f.upstreamKind ?? 'openai', line);
        const interval = f.upstream && f.syncInterval === undefined && syncIntervalSeconds === 0 ? 30 : syncIntervalSeconds;
        if (gatewayOn) {
          const { Gateway, STARTER_POLICY } = await import('../../gateway/gateway.ts');
          gateway = await Gateway.open({ config, store, storeUrl: storeTarget, audit: log, dev: f.dev === true, defaultPolicies: f.upstream ? [STARTER_POLICY] : [] });
          if (config.data.gateway.policy.cedar.length === 0 && !f.dev && !f.upstream) line('gateway: no Cedar policy is configured (gateway.policy.cedar), so every request is denied');
        }
        const gw = gateway;
        const s = await serve({
          config,
          store,
          sink: log,
          listen,
          ...(tls ? { tls } : {}),
          syncIntervalSeconds: interval,
          syncTimeoutMs,
          log: line,
          ...(gw ? { routes: (server) => gw.mount(server), onSync: () => gw.refresh() } : {}),
        });
        const info = { url: s.url, tls: tls !== undefined, store: { kind: store.kind, location: store.location }, config: config.path ?? null, syncIntervalSeconds: interval, gateway: gw ? { dev: f.dev === true, openai: `${s.url}/v1` } : null };
        if (out.json) process.stdout.write(JSON.stringify({ ok: true, listening: info }) + '\n');
        else {
          process.stdout.write(`perimeter serving on ${s.url} (store: ${store.kind} ${store.location}; config: ${config.path ?? 'defaults'}; sync: ${interval ? `every ${interval}s` : 'off'})\n`);
          if (gw) process.stdout.write(`gateway: OpenAI-compatible API at ${s.url}/v1${f.dev ? ' (DEV MODE)' : ''}; /readyz, /metrics\n`);
        }
        if (!tls && !gw) line('serving plain HTTP: Kubernetes calls admission webhooks over HTTPS only (--tls-cert, --tls-key)');
        await new Promise<void>((done) => {
          const stop = (): void => {
            process.off('SIGTERM', stop);
            process.off('SIGINT', stop);
            done();
          };
          process.on('SIGTERM', stop);
          process.on('SIGINT', stop);
        });
        await s.close();
      } finally {
        await gateway?.close();
        await log?.close();
        await store.close();
      }
      process.exitCode = EXIT.OK;
    } catch (e) {
      process.exitCode = reportError(e, out, false);
    }
  });
}

/** Records the runtime "upstream" for --upstream (or checks the one recorded), then syncs it once. */
async function ensureUpstream(store: Store, sink: EventSink, url: string, kind: string, line: (s: string) => void): Promise<void> {
  const name = 'upstream';
  const existing = await getRuntime(store, name).catch(() => undefined);
  if (!existing) await addRuntime(store, sink, { name, kind, url }, 'cli:serve');
  else if (existing.url !== new URL(url).toString().replace(/\/$/, '') || existing.kind !== kind) {
    throw new PerimeterError('PERIM_E_CONFLICT', `a runtime named "upstream" is recorded for ${existing.kind} ${existing.url}; remove it (perimeter runtime remove upstream) to front another one`);
  }
  const r = await syncRuntimes(store, sink, { names: [name], actor: 'cli:serve' });
  const x = r.runtimes[0];
  if (x?.error) line(`upstream ${url}: [${x.error.code}] ${x.error.message}`);
  else if (x) {
    line(`upstream ${url}: ${x.served.length} model(s), ${x.findings.length} not admitted`);
    for (const sm of x.served) if (sm.finding) line(`  ${sm.finding.message}`);
  }
}
