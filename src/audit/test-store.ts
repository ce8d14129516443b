/** Test helper without node:test imports, so child processes can use it too. */
import { openStore, type Store } from '../store/store.ts';

/**
 * openStore, retried when migration trips over another test process dropping its schema at that
 * moment: kysely's migrator introspects every schema (has_schema_privilege on each), and a schema
 * dropped meanwhile fails the query with "schema ... does not exist". A store-level race, not the
 * audit log's; reported to the store's owner.
 */
export async function openStoreRetrying(target: string): Promise<Store> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await openStore(target);
    } catch (e) {
      const m = /schema "([a-z0-9_]+)" does not exist/.exec((e as Error).message);
      if (!m || target.includes(`schema=${m[1]}`) || attempt >= 5) throw e;
      await new Promise((r) => setTimeout(r, 20 * attempt));
    }
  }
}
