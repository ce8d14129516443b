/** The --db flag every store-touching command takes (also PERIMETER_DB; default a per-user file). */
import type { Command } from 'commander';
import { openStore, resolveDbTarget, type Store } from '../../store/store.ts';

export interface DbFlags {
  db?: string;
}

export function addDbFlag(cmd: Command): Command {
  return cmd.option('--db <path|url>', 'SQLite file or postgres:// URL (default: $PERIMETER_DB, else a per-user file; see perimeter doctor)');
}

export function openStoreFrom(flags: DbFlags): Promise<Store> {
  return openStore(resolveDbTarget(flags.db));
}
