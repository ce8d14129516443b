/**
 * Export for a SIEM, as JSON Lines, verifiable offline with only the public key:
 *
 *   {"kind":"perimeter.audit.export","version":1,"origin","publicKey","from","to","prefix":[hex...]}
 *   {"kind":"checkpoint","size","note"}            every stored checkpoint with from <= size <= to
 *   {"kind":"entry","index","time","leafHash","event"}   one per entry, index from..to-1 (time: ISO 8601)
 *
 * `to` is the size of the latest checkpoint, so every exported entry is covered by a signature.
 * `prefix` is the compact range of entries [0, from) (the subtree hashes, largest first): with it
 * the verifier rebuilds the root without the older entries. `event` is the entry parsed; its
 * canonical JSON (canonical.ts) is the exact leaf input.
 */
import { PerimeterError } from '../errors/errors.ts';
import type { Store } from '../store/store.ts';
import { checkpointRows, entriesPage, firstIndexSince, readSnapshot } from './db.ts';
import { openCheckpoint, type VerifierKey } from './note.ts';
import { prefixHashes } from './prove.ts';

export const EXPORT_KIND = 'perimeter.audit.export';

export interface ExportOptions {
  key: VerifierKey;
  /** Epoch ms: start at the first entry recorded at or after this time (default: all). */
  since?: number;
  /** Called once per line (without newline); may return a promise for backpressure. */
  write: (line: string) => void | Promise<void>;
  pageSize?: number;
}

export interface ExportResult {
  from: number;
  to: number;
  entries: number;
  checkpoint: string | null;
}

/** Writes the export, ending at the latest stored checkpoint (make one first to include recent entries). */
export async function exportLog(store: Store, options: ExportOptions): Promise<ExportResult> {
  const page = options.pageSize ?? 5000;
  return readSnapshot(store, async (db) => {
    const cps = await checkpointRows(db);
    const latest = cps[cps.length - 1];
    const to = latest?.size ?? 0;
    if (latest) openCheckpoint(latest.note, options.key);
    const first = options.since === undefined ? 0 : await firstIndexSince(db, options.since);
    const from = Math.min(first ?? to, to);
    await options.write(JSON.stringify({ kind: EXPORT_KIND, version: 1, origin: options.key.name, publicKey: options.key.vkey, from, to, prefix: await prefixHashes(db, from) }));
    for (const c of cps) if (c.size >= from) await options.write(JSON.stringify({ kind: 'checkpoint', size: c.size, note: c.note }));
    for (let next = from; next < to; ) {
      const rows = await entriesPage(db, next, Math.min(page, to - next));
      if (rows.length === 0) break;
      for (const r of rows) {
        let event: unknown;
        try {
          event = JSON.parse(r.entry);
        } catch (e) {
          throw new PerimeterError('PERIM_E_AUDIT_TAMPERED', `entry ${r.idx} is not JSON`, { cause: e, details: { index: Number(r.idx) } });
        }
        await options.write(JSON.stringify({ kind: 'entry', index: Number(r.idx), time: new Date(Number(r.at)).toISOString(), leafHash: r.leaf_hash, event }));
      }
      next = Number(rows[rows.length - 1]!.idx) + 1;
    }
    return { from, to, entries: to - from, checkpoint: latest?.note ?? null };
  });
}
