/**
 * --config (also PERIMETER_CONFIG) for the commands that use the config file (runtime, admit,
 * serve, doctor), and the store those commands open: --db, else PERIMETER_DB, else the config's
 * store.url, else the per-user file. Each command opens the audit log as its event sink.
 */
import type { Command } from 'commander';
import { userInfo } from 'node:os';
import { AuditLog } from '../../audit/log.ts';
import { loadConfig, resolveConfigPath, type LoadedConfig } from '../../config/load.ts';
import { defaultDbPath, openStore, type Store } from '../../store/store.ts';
import { addDbFlag, type DbFlags } from './store-flags.ts';
import { reportError } from '../output.ts';

export interface ConfigFlags extends DbFlags {
  config?: string;
  json?: boolean;
}

export function addConfigFlags(cmd: Command): Command {
  return addDbFlag(cmd.option('--config <file>', 'YAML config (default: $PERIMETER_CONFIG, else ~/.config/perimeter/perimeter.yaml when it exists)'));
}

export function loadConfigFrom(flags: ConfigFlags): LoadedConfig {
  return loadConfig(resolveConfigPath(flags.config));
}

export function storeTargetOf(flags: DbFlags, config: LoadedConfig | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return flags.db ?? env.PERIMETER_DB ?? config?.data.store.url ?? defaultDbPath(env);
}

export function actor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli:unknown';
  }
}

/** Opens the store (no audit log: for reading), runs f, closes it. */
export async function withStore<T>(flags: DbFlags, config: LoadedConfig, f: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore(storeTargetOf(flags, config));
  try {
    return await f(store);
  } finally {
    await store.close();
  }
}

/** Opens the store and the audit log, runs f, and closes both (the log first, so events are flushed). */
export async function withStoreAndLog<T>(flags: DbFlags, config: LoadedConfig, f: (store: Store, log: AuditLog) => Promise<T>): Promise<T> {
  const store = await openStore(storeTargetOf(flags, config));
  try {
    const log = await AuditLog.open(store);
    try {
      return await f(store, log);
    } finally {
      await log.close();
    }
  } finally {
    await store.close();
  }
}

/** Runs a command's body: its result is the exit code; a thrown error is reported (text or JSON) as exit 1 or 2. */
export async function runAction(flags: { json?: boolean }, f: (out: { json: boolean }) => Promise<number>): Promise<void> {
  const out = { json: flags.json === true };
  try {
    process.exitCode = await f(out);
  } catch (e) {
    process.exitCode = reportError(e, out, false);
  }
}
