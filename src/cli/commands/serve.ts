/**
 * perimeter serve: the HTTP(S) server (GET /healthz, POST /admission/validate for the Kubernetes
 * ValidatingAdmissionWebhook) and the periodic runtime sync. Runs until SIGTERM or SIGINT.
 */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { AuditLog } from '../../audit/log.ts';
import { PerimeterError } from '../../errors/errors.ts';
import { checkTlsPair } from '../../config/load.ts';
import { parseListen } from '../../server/server.ts';
import { serve } from '../../server/serve.ts';
import { openStore } from '../../store/store.ts';
import { EXIT, reportError } from '../output.ts';
import { addConfigFlags, loadConfigFrom, storeTargetOf, type ConfigFlags } from './config-flags.ts';

interface ServeFlags extends ConfigFlags {
  listen?: string;
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

      const store = await openStore(storeTargetOf(f, config));
      let log: AuditLog | undefined;
      try {
        log = await AuditLog.open(store);
        const line = (s: string): void => void process.stderr.write(`perimeter serve: ${s}\n`);
        const s = await serve({ config, store, sink: log, listen, ...(tls ? { tls } : {}), syncIntervalSeconds, syncTimeoutMs, log: line });
        const info = { url: s.url, tls: tls !== undefined, store: { kind: store.kind, location: store.location }, config: config.path ?? null, syncIntervalSeconds };
        if (out.json) process.stdout.write(JSON.stringify({ ok: true, listening: info }) + '\n');
        else process.stdout.write(`perimeter serving on ${s.url} (store: ${store.kind} ${store.location}; config: ${config.path ?? 'defaults'}; sync: ${syncIntervalSeconds ? `every ${syncIntervalSeconds}s` : 'off'})\n`);
        if (!tls) line('serving plain HTTP: Kubernetes calls admission webhooks over HTTPS only (--tls-cert, --tls-key)');
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
        await log?.close();
        await store.close();
      }
      process.exitCode = EXIT.OK;
    } catch (e) {
      process.exitCode = reportError(e, out, false);
    }
  });
}
