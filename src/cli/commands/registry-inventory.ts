/**
 * `perimeter inventory --json`, the one command that moves tens of MB: the database's bytes
 * straight to stdout (src/registry/inventory-stream.ts) on a connection of its own. bin/perimeter.js
 * calls inventoryJsonFast before loading the command line (commander) when the arguments are
 * exactly this command, so it loads only node:sqlite or pg and this; everything else (help,
 * mistakes, the table) goes through commander, whose action calls runInventoryJson too.
 */
import { EXIT, reportError } from '../output.ts';

/** Writes a chunk to stdout; settles once it is written (the chunk's memory is then reused). */
const stdoutSink = (chunk: Uint8Array): Promise<void> => new Promise((resolve, reject) => void process.stdout.write(chunk, (e) => (e ? reject(e) : resolve())));

/**
 * Prints the inventory document for --db `db` (else PERIMETER_DB, else the default file); a
 * database that does not exist yet or needs migrating goes through openStore. Returns the exit code.
 */
export async function runInventoryJson(db: string | undefined): Promise<number> {
  try {
    const { resolveDbTarget, streamInventoryJson } = await import('../../registry/inventory-stream.ts');
    const target = resolveDbTarget(db);
    if (!(await streamInventoryJson(target, stdoutSink, { ok: true }))) {
      const [{ openStoreRetrying }, { writeInventoryJsonBytes }] = await Promise.all([import('../../registry/db.ts'), import('../../registry/inventory.ts')]);
      const store = await openStoreRetrying(target);
      try {
        await writeInventoryJsonBytes(store, stdoutSink, { ok: true });
      } finally {
        await store.close();
      }
    }
    return EXIT.OK;
  } catch (e) {
    return reportError(e, { json: true }, false);
  }
}

/**
 * The --db value when `argv` (process.argv) is exactly `inventory --json [--db X|--db=X]`, in any
 * order, else false: anything else is commander's to parse.
 */
export function inventoryJsonArgs(argv: readonly string[]): { db: string | undefined } | false {
  if (argv[2] !== 'inventory') return false;
  let json = false;
  let db: string | undefined;
  const rest = argv.slice(3);
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (a === '--json' && !json) json = true;
    else if (a === '--db' && db === undefined && i + 1 < rest.length && !rest[i + 1]!.startsWith('-')) db = rest[++i];
    else if (a.startsWith('--db=') && db === undefined && a.length > 5) db = a.slice(5);
    else return false;
  }
  return json ? { db } : false;
}

/** bin/perimeter.js: the exit code when `argv` is `inventory --json`, else undefined. */
export async function inventoryJsonFast(argv: readonly string[]): Promise<number | undefined> {
  const args = inventoryJsonArgs(argv);
  return args ? runInventoryJson(args.db) : undefined;
}
