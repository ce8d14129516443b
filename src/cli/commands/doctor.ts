/**
 * perimeter doctor: what this installation would use, and whether it works: Node, the config
 * file (found, valid, trust material), the store (where, which kind, opens, migrates).
 * Exit 0 when every check passes, 1 when one fails. Warnings (e.g. nothing trusted) do not fail.
 */
import type { Command } from 'commander';
import { asPerimeterError } from '../../errors/errors.ts';
import { resolveConfigPath, loadConfig, type LoadedConfig } from '../../config/load.ts';
import { trustCounts } from '../../config/environments.ts';
import { migrate, openStore, isPostgresUrl } from '../../store/store.ts';
import { redactUrl } from '../../store/postgres.ts';
import { MIGRATIONS } from '../../store/migrations.ts';
import { EXIT, dim, green, printJson, red } from '../output.ts';
import { addConfigFlags, storeTargetOf, type ConfigFlags } from './config-flags.ts';

interface Check {
  name: 'node' | 'config' | 'store' | 'trust';
  ok: boolean;
  summary: string;
  details: Record<string, unknown>;
  warnings: string[];
}

function nodeCheck(): Check {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  const ok = major > 22 || (major === 22 && minor >= 18);
  return { name: 'node', ok, summary: `Node ${process.versions.node}${ok ? '' : ' (need >= 22.18 for type stripping)'}`, details: { version: process.versions.node, execPath: process.execPath }, warnings: [] };
}

function configCheck(flag: string | undefined): { check: Check; config?: LoadedConfig } {
  const path = resolveConfigPath(flag);
  const source = flag ? '--config' : process.env.PERIMETER_CONFIG ? 'PERIMETER_CONFIG' : path ? 'default file' : 'none';
  try {
    const config = loadConfig(path);
    return { config, check: { name: 'config', ok: true, summary: path ? `${path} (${source}) is valid` : 'no config file: defaults apply', details: { path: path ?? null, source, valid: true }, warnings: [] } };
  } catch (e) {
    const err = asPerimeterError(e);
    const problems = (err.details?.problems as { path: string; message: string }[] | undefined) ?? [{ path: '(file)', message: err.message }];
    return { check: { name: 'config', ok: false, summary: `${path} (${source}) is invalid [${err.code}]`, details: { path: path ?? null, source, valid: false, code: err.code, problems }, warnings: [] } };
  }
}

async function storeCheck(flags: ConfigFlags, config: LoadedConfig | undefined): Promise<Check> {
  const target = storeTargetOf(flags, config);
  const source = flags.db ? '--db' : process.env.PERIMETER_DB ? 'PERIMETER_DB' : config?.data.store.url ? 'config store.url' : 'default per-user file';
  const kind = isPostgresUrl(target) ? 'postgres' : 'sqlite';
  const location = kind === 'postgres' ? redactUrl(target) : target;
  const details: Record<string, unknown> = { location, kind, source, known_migrations: Object.keys(MIGRATIONS).length };
  try {
    const store = await openStore(target, { migrate: false });
    try {
      const applied = await migrate(store);
      const runtimes = await store.db.selectFrom('runtimes').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      const artifacts = await store.db.selectFrom('artifacts').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      Object.assign(details, { location: store.location, opens: true, migrated: true, applied_now: applied, artifacts: Number(artifacts.n), runtimes: Number(runtimes.n) });
      return { name: 'store', ok: true, summary: `${kind} at ${store.location} (${source}) opens and is migrated${applied.length ? ` (applied ${applied.join(', ')})` : ''}`, details, warnings: [] };
    } finally {
      await store.close();
    }
  } catch (e) {
    const err = asPerimeterError(e, 'PERIM_E_STORE');
    return { name: 'store', ok: false, summary: `${kind} at ${location} (${source}): [${err.code}] ${err.message}`, details: { ...details, opens: false, code: err.code, message: err.message }, warnings: [] };
  }
}

function trustCheck(config: LoadedConfig | undefined): Check {
  if (!config) return { name: 'trust', ok: false, summary: 'unknown: the config is invalid', details: {}, warnings: [] };
  const counts = trustCounts(config);
  const warnings: string[] = [];
  const a = config.data.admission;
  for (const [env, c] of Object.entries(counts)) {
    const required = env === '(base)' ? a.require.signature : (a.environments[env]?.require?.signature ?? a.require.signature);
    if (required && c.keys + c.certificates + c.sigstore === 0) warnings.push(`${env === '(base)' ? 'base policy' : `environment ${env}`}: nothing is trusted, so nothing will be admitted`);
  }
  const base = counts['(base)']!;
  return {
    name: 'trust',
    ok: true,
    summary: `${base.keys} key(s), ${base.certificates} certificate anchor file(s), ${base.sigstore} Sigstore identit${base.sigstore === 1 ? 'y' : 'ies'}${Object.keys(counts).length > 1 ? `; ${Object.keys(counts).length - 1} environment(s) with overrides` : ''}`,
    details: { counts, environments: Object.keys(a.environments), namespaces: a.namespaces, default_env: a.default_env },
    warnings,
  };
}

export function registerDoctor(program: Command): void {
  addConfigFlags(program.command('doctor').description('check this installation: Node, config file, store, trust material (exit 0 ok, 1 a check failed)').option('--json', 'print as JSON')).action(
    async (f: ConfigFlags) => {
      const { check: cfg, config } = configCheck(f.config);
      const checks = [nodeCheck(), cfg, await storeCheck(f, config), trustCheck(config)];
      const ok = checks.every((c) => c.ok);
      if (f.json) printJson({ ok, checks });
      else {
        for (const c of checks) {
          process.stdout.write(`${c.ok ? green('✔') : red('✘')} ${c.name}: ${c.summary}\n`);
          if (c.name === 'config' && !c.ok) for (const p of c.details.problems as { path: string; message: string }[]) process.stdout.write(`    ${p.path}: ${p.message}\n`);
          for (const w of c.warnings) process.stdout.write(dim(`  ! ${w}\n`));
        }
      }
      process.exitCode = ok ? EXIT.OK : EXIT.FAILED;
    },
  );
}
