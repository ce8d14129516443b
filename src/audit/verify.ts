/**
 * `audit verify` over a database, in one read snapshot: every entry's leaf recomputed from its
 * bytes and (with the private key file) its MAC checked, the tree rebuilt leaf by leaf, every
 * stored checkpoint's signature and root checked at its size (two checkpoints that both match one
 * rebuilt tree are consistent with each other), the checkpoint kept outside the database checked
 * the same way (a database rolled back behind it is caught), the stored subtree hashes proofs are
 * served from compared with the rebuilt ones, and the head row compared with the end state.
 */
import type { Store } from '../store/store.ts';
import { checkpointRows, entriesPage, readHead, readSnapshot, type Db } from './db.ts';
import { readCheckpointFile } from './keys.ts';
import { macEquals, type Mac } from './mac.ts';
import { checkpointSize, type VerifierKey } from './note.ts';
import { Replay, type AuditProblem, type AuditReport, type CheckpointInput } from './replay.ts';
import { nodeId } from './tree.ts';

export interface VerifyStoreOptions {
  /** The trusted public key. */
  key: VerifierKey;
  /** The entry MACs, when the private key file is at hand (AuditKey.mac): names the exact entry for any edit. */
  mac?: Mac;
  /** The checkpoint file kept outside the database (keys.ts); checked when it exists. */
  checkpointFile?: string;
  pageSize?: number;
  onProgress?: (done: number, total: number) => void;
}

async function nodesBetween(db: Db, from: number, to: number): Promise<Map<number, string>> {
  const rows = await db.selectFrom('audit_nodes').select(['id', 'hash']).where('id', '>=', from * 64).where('id', '<', to * 64).execute();
  return new Map(rows.map((r) => [Number(r.id), r.hash]));
}

export async function verifyStore(store: Store, options: VerifyStoreOptions): Promise<AuditReport> {
  const page = options.pageSize ?? 5000;
  return readSnapshot(store, async (db) => {
    const head = await readHead(db);
    const cps: CheckpointInput[] = (await checkpointRows(db)).map((r) => ({ size: r.size, text: r.note, source: 'database' }));
    const outside = options.checkpointFile ? readCheckpointFile(options.checkpointFile) : undefined;
    if (outside !== undefined) cps.push({ size: checkpointSize(outside) ?? -1, text: outside, source: options.checkpointFile!, outside: true });
    if (cps.some((c) => c.size < 0)) {
      const bad = cps.find((c) => c.size < 0)!;
      return new Replay(0, [], [], options.key, options.mac).report({ index: null, kind: 'malformed', message: `a checkpoint (${bad.source}) has no valid tree size` });
    }
    const replay = new Replay(0, [], cps, options.key, options.mac);
    let nodes = new Map<number, string>();
    let seen = 0;
    replay.onNode = (level, start, hash): AuditProblem | undefined => {
      const id = nodeId(level, start);
      const stored = nodes.get(id);
      seen++;
      if (stored === hash.toString('hex')) return undefined;
      const range = `${start}..${start + 2 ** level - 1}`;
      return {
        index: start,
        kind: 'node',
        message:
          stored === undefined
            ? `the tree hash stored for entries ${range} is missing`
            : `entries ${range} do not match the tree hash stored when they were appended: one of them was changed, inserted or moved (or that hash was changed)`,
      };
    };
    let problem = replay.reach();
    let next = 0;
    while (!problem) {
      const rows = await entriesPage(db, next, page);
      if (rows.length === 0) break;
      const last = Number(rows[rows.length - 1]!.idx);
      nodes = await nodesBetween(db, next, last + 1);
      seen = 0;
      for (const r of rows) {
        problem = replay.entry(Number(r.idx), r.entry, r.leaf_hash, r.mac);
        if (problem) break;
      }
      if (!problem && seen !== nodes.size) {
        const extra = [...nodes.keys()].sort((a, b) => a - b)[0]!;
        problem = { index: Math.floor(extra / 64), kind: 'node', message: `the tree hash table has entries no append made (near entry ${Math.floor(extra / 64)})` };
      }
      next = last + 1;
      options.onProgress?.(replay.size, head.size);
    }
    problem ??= replay.finish();
    if (!problem && head.size !== replay.size) {
      problem =
        head.size > replay.size
          ? { index: replay.size, kind: 'missing', message: `the log head says ${head.size} entries but only ${replay.size} are stored: entries from ${replay.size} on were removed` }
          : { index: head.size, kind: 'head', message: `entries from ${head.size} on are not in the log head (${head.size} entries): they were added behind the log's back` };
    }
    if (!problem && head.frontier !== JSON.stringify(replay.frontier.toHex())) {
      problem = { index: head.size, kind: 'head', message: 'the log head does not match the rebuilt tree: the head row was changed' };
    }
    if (!problem && options.mac && head.size > 0 && !macEquals(head.mac, options.mac.head(head.size, head.frontier))) {
      problem = { index: head.size, kind: 'head', message: 'the log head was not written with the log key: the head row was changed' };
    }
    if (!problem) {
      const extra = await db.selectFrom('audit_nodes').select('id').where('id', '>=', replay.size * 64).limit(1).executeTakeFirst();
      if (extra) problem = { index: replay.size, kind: 'node', message: 'the tree hash table has entries beyond the end of the log' };
    }
    return replay.report(problem);
  });
}
