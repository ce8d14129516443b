/**
 * perimeter runtime add|list|remove|sync|bind|unbind: the inference servers and what they serve.
 * sync exits 1 when any served model is a finding (unknown, mismatched, not admitted), 2 when a
 * runtime could not be asked (and no finding), 0 when everything served is known and admitted.
 */
import { Option, type Command } from 'commander';
import { addRuntime, bindModel, listRuntimes, removeRuntime, RUNTIME_KINDS, unbindModel, type Runtime, type ServedModel } from '../../registry/runtimes.ts';
import { syncRuntimes, type SyncReport } from '../../registry/runtimes-sync.ts';
import { PerimeterError } from '../../errors/errors.ts';
import { EXIT, dim, green, printJson, red } from '../output.ts';
import { actor, addConfigFlags, loadConfigFrom, withStore, withStoreAndLog, type ConfigFlags, runAction as run } from './config-flags.ts';

interface AddFlags extends ConfigFlags {
  kind: string;
  url: string;
  env?: string;
}
interface SyncFlags extends ConfigFlags {
  timeout?: string;
}

const shortDigest = (d: string | null): string => (d ? `${d.slice(0, 19)}…` : '-');
const ago = (t: number | null): string => {
  if (t === null) return 'never synced';
  const s = Math.max(0, Math.round((Date.now() - t) / 1000));
  return `synced ${s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : `${Math.round(s / 3600)}h`} ago`;
};

function servedLine(s: ServedModel): string {
  const via = s.source === 'binding' ? ' (bound)' : '';
  if (s.finding) return `  ${red('✘')} ${s.modelId}${via} [${s.finding.code}] ${s.finding.message}\n`;
  return `  ${green('✔')} ${s.modelId}${via} → ${shortDigest(s.artifactDigest)}\n`;
}

function runtimeText(r: Runtime): string {
  const head = `${r.name}  ${r.kind}  ${r.url}  ${r.env ? `env=${r.env}` : 'env=any'}  ${dim(ago(r.lastSyncAt))}\n`;
  const err = r.lastSyncError ? `  ${red('!')} last sync failed: ${r.lastSyncError}\n` : '';
  return head + err + r.served.map(servedLine).join('');
}

function syncText(r: SyncReport): string {
  if (r.runtimes.length === 0) return 'no runtimes registered (perimeter runtime add)\n';
  let s = '';
  for (const x of r.runtimes) {
    if (x.error) s += `${red('✘')} ${x.runtime} (${x.kind}): [${x.error.code}] ${x.error.message}\n`;
    else s += `${x.findings.length ? red('✘') : green('✔')} ${x.runtime} (${x.kind}): ${x.served.length} model(s), ${x.findings.length} finding(s)\n`;
    s += x.served.map(servedLine).join('');
  }
  return s + `${r.findings} finding(s), ${r.errors} runtime error(s)\n`;
}

export function registerRuntime(program: Command): void {
  const rt = program.command('runtime').description('inference servers (Ollama, vLLM, llama.cpp, OpenAI-compatible, closed-API tenants) and what they serve');

  addConfigFlags(
    rt
      .command('add')
      .description('register a runtime')
      .argument('<NAME>', 'a name for it')
      .addOption(new Option('--kind <kind>', 'what it is').choices([...RUNTIME_KINDS]).makeOptionMandatory())
      .requiredOption('--url <url>', 'its base URL, e.g. http://gpu-1:11434 (no credentials)')
      .option('--env <env>', 'the admission environment it serves (default: admitted in any environment will do)')
      .option('--json', 'print as JSON'),
  ).action((name: string, f: AddFlags) =>
    run(f, async (out) => {
      const config = loadConfigFrom(f);
      const r = await withStoreAndLog(f, config, (store, log) => addRuntime(store, log, { name, kind: f.kind, url: f.url, ...(f.env ? { env: f.env } : {}) }, actor()));
      if (out.json) printJson({ ok: true, runtime: r });
      else process.stdout.write(`${green('✔')} added ${r.name} (${r.kind}) at ${r.url}\n`);
      return EXIT.OK;
    }),
  );

  addConfigFlags(rt.command('list').description('list runtimes and the models each serves, with findings').option('--json', 'print as JSON')).action((f: ConfigFlags) =>
    run(f, async (out) => {
      const config = loadConfigFrom(f);
      const list = await withStore(f, config, (store) => listRuntimes(store));
      if (out.json) printJson({ ok: true, runtimes: list });
      else process.stdout.write(list.length ? list.map(runtimeText).join('') : 'no runtimes registered (perimeter runtime add)\n');
      return EXIT.OK;
    }),
  );

  addConfigFlags(rt.command('remove').description('forget a runtime and its served models').argument('<NAME>').option('--json', 'print as JSON')).action((name: string, f: ConfigFlags) =>
    run(f, async (out) => {
      const config = loadConfigFrom(f);
      await withStoreAndLog(f, config, (store, log) => removeRuntime(store, log, name, actor()));
      if (out.json) printJson({ ok: true, removed: name });
      else process.stdout.write(`${green('✔')} removed ${name}\n`);
      return EXIT.OK;
    }),
  );

  addConfigFlags(
    rt
      .command('sync')
      .description('ask runtimes what they serve and match it to registered artifacts: exit 0 all known and admitted, 1 findings, 2 a runtime could not be asked')
      .argument('[NAME...]', 'only these runtimes (default all)')
      .option('--timeout <ms>', 'per request to a runtime', '5000')
      .option('--json', 'print as JSON'),
  ).action((names: string[], f: SyncFlags) =>
    run(f, async (out) => {
      const timeoutMs = Number(f.timeout);
      if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new PerimeterError('PERIM_E_USAGE', `--timeout must be a positive number of milliseconds, got "${f.timeout}"`);
      const config = loadConfigFrom(f);
      const r = await withStoreAndLog(f, config, (store, log) => syncRuntimes(store, log, { names, timeoutMs, actor: actor() }));
      const code = r.findings > 0 ? EXIT.FAILED : r.errors > 0 ? EXIT.USAGE : EXIT.OK;
      if (out.json) printJson({ ok: code === EXIT.OK, ...r });
      else process.stdout.write(syncText(r));
      return code;
    }),
  );

  addConfigFlags(
    rt
      .command('bind')
      .description('say which artifact a runtime serves under a model id (OpenAI-compatible endpoints, closed-API tenants, hub ids): exit 1 when it is a finding')
      .argument('<NAME>', 'the runtime')
      .argument('<MODEL_ID>', 'the model id clients ask for')
      .argument('<DIGEST>', 'the artifact digest, sha256:<hex>')
      .option('--json', 'print as JSON'),
  ).action((name: string, modelId: string, digest: string, f: ConfigFlags) =>
    run(f, async (out) => {
      const config = loadConfigFrom(f);
      const s = await withStoreAndLog(f, config, (store, log) => bindModel(store, log, { runtime: name, modelId, digest }, actor()));
      if (out.json) printJson({ ok: s.finding === null, served: s });
      else process.stdout.write(servedLine(s));
      return s.finding ? EXIT.FAILED : EXIT.OK;
    }),
  );

  addConfigFlags(rt.command('unbind').description('remove a binding').argument('<NAME>').argument('<MODEL_ID>').option('--json', 'print as JSON')).action((name: string, modelId: string, f: ConfigFlags) =>
    run(f, async (out) => {
      const config = loadConfigFrom(f);
      await withStoreAndLog(f, config, (store, log) => unbindModel(store, log, name, modelId, actor()));
      if (out.json) printJson({ ok: true, unbound: { runtime: name, modelId } });
      else process.stdout.write(`${green('✔')} unbound ${modelId} from ${name}\n`);
      return EXIT.OK;
    }),
  );
}
