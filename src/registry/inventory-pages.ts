/**
 * The inventory listing from pages (migrations 0006, 0007): the artifacts in registration order
 * are cut into pages of CHUNK_ROWS rows, and each page keeps its listing text as built (its
 * artifacts' texts, live values merged, joined by ",\n"); the tail (the rows after the last page,
 * page 0) is kept the same way. A listing sends every current page's body, and the tail's when
 * current, as stored, builds from the rows only what changed, and then writes back what it built,
 * so the next listing finds it current.
 *
 * Which pages are current comes from `inventory_changes`: triggers on `artifacts` and `admissions`
 * file the page a change falls in, in the writing transaction, so a listing's snapshot holds a
 * page's body and every change made to it since, or neither. Write-back accounts for exactly the
 * changes its snapshot saw (writeBackPlan): a page is rewritten, or the tail cut into new pages and
 * stored, only when the change rows now are those the snapshot had and the page layout and the
 * tail's epoch are the same; then those change rows are deleted. The backends do this holding the write lock (SQLite) or an
 * exclusive advisory lock the writers' triggers take shared (PostgreSQL), and give up rather than
 * wait: a listing never blocks a writer for long, and a skipped write-back only means the next
 * listing builds those pages again.
 */
import { zstdCompressSync, zstdDecompress, constants } from 'node:zlib';
import { CHUNK_ROWS, type ArtifactSource, type InventoryCounts, type RuntimeData, type Text } from './inventory-stream.ts';

/** A page's last key: (created_at, digest). created_at is a string when it comes from PostgreSQL as text. */
export type Key = readonly [createdAt: number | string, digest: string];

export type Codec = 'none' | 'zstd';

/**
 * A page as listed. The tail (id 0) has hi null; its `rows` is an epoch (see writeBackPlan), and
 * `tailRows` the rows its stored body holds (null: no stored tail).
 */
export interface PageRow {
  id: number;
  hi: Key | null;
  rows: number;
  codec: Codec;
  tailRows?: number | null;
}

/** The rows a stored body holds. */
const rowsOf = (p: PageRow): number => (p.hi === null ? (p.tailRows ?? 0) : p.rows);

/** The pages in key order (the tail last) and the change rows filed against each, as one snapshot has them. */
export interface Layout {
  pages: PageRow[];
  /** page id → its change row ids, ascending. */
  changes: Map<number, number[]>;
}

/** Listing text built from the rows: final (every row's text complete), its row count and last key. */
export interface Built {
  text: Uint8Array;
  rows: number;
  hi: Key;
}

/** What a backend gives the paged listing, inside one read snapshot. */
export interface PagedSource {
  layout(): Promise<Layout>;
  /** The decoded bodies of these current pages, in this order (a backend may fetch ahead). */
  bodies(pages: readonly PageRow[]): AsyncIterable<Text>;
  /**
   * The rows after `after` (from the start when undefined) up to `upto` (to the end when
   * undefined), in pieces of `piece` rows (one piece when undefined); no pieces when no rows.
   */
  build(after: Key | undefined, upto: Key | undefined, piece: number | undefined): AsyncIterable<Built>;
  runtimes(): Promise<RuntimeData>;
}

/** What a listing built, to be written back. */
export interface PageWrites {
  layout: Layout;
  /** Pages that had changes, rebuilt whole. */
  rebuilt: { page: PageRow; built: Built }[];
  /** The tail's full pieces (CHUNK_ROWS rows each), in order: the pages to cut. */
  cut: Built[];
  /**
   * When the tail was built: what remains of it after the cut, to be stored as the tail (null when
   * that is more than one piece: then the tail is not stored).
   */
  tail?: { text: Uint8Array; rows: number } | null;
  /** Pages sent as stored; pieces built from the rows (changed pages, the tail's) and their rows. */
  stored: number;
  built: number;
  builtRows: number;
}

/** How a write-back went: what it wrote, or why it wrote nothing. */
export type WriteBack =
  | { written: number }
  | { skipped: 'nothing to write' | 'held back' | 'busy' | 'changed meanwhile' | 'failed'; error?: unknown };

/** What a paged listing served as stored and what it built from the rows, and how its write-back went. */
export interface PageStats {
  stored: number;
  built: number;
  builtRows: number;
  writeBack: WriteBack;
}

/** streamInventoryJson's answer: the counts, and for a paged listing its page statistics. */
export type StreamCounts = InventoryCounts & { pages?: PageStats };
/** A listing's counts, page statistics and what it built (for a write-back held back). */
export type PagedCounts = InventoryCounts & { pages: PageStats; writes: PageWrites };

/** The page statistics of what a listing did, before write-back. */
export const pageStats = (w: PageWrites): Omit<PageStats, 'writeBack'> => ({ stored: w.stored, built: w.built, builtRows: w.builtRows });

/** Groups (page, id) rows into page → ids, ascending (whatever order the rows came in). */
export function groupChanges(rows: Iterable<readonly [page: number | string, id: number | string]>): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (const [page, id] of rows) {
    const list = out.get(Number(page));
    if (list) list.push(Number(id));
    else out.set(Number(page), [Number(id)]);
  }
  for (const list of out.values()) list.sort((a, b) => a - b);
  return out;
}

/** Most built text a listing keeps for write-back; past it the rest is built again next time. */
export const WRITE_BACK_BYTES = 256 << 20;

/**
 * The artifacts of a paged listing, as the ArtifactSource that writeDocument reads: current pages
 * (and a current tail) as stored, changed pages and a changed or unstored tail built, each chunk final. Records what it built in `writes`.
 */
export function pagedArtifacts(src: PagedSource, writes: { value?: PageWrites }): ArtifactSource {
  return {
    async chunks(emit) {
      const layout = await src.layout();
      const out: PageWrites = { layout, rebuilt: [], cut: [], stored: 0, built: 0, builtRows: 0 };
      const built = (b: Built): void => {
        out.built++;
        out.builtRows += b.rows;
      };
      let kept = 0;
      const keep = (b: Built): boolean => (kept += b.text.byteLength) <= WRITE_BACK_BYTES;
      // Runs of current pages are read together, so a backend can fetch and decode ahead.
      let run: PageRow[] = [];
      const flush = async (): Promise<void> => {
        if (!run.length) return;
        const pages = run;
        run = [];
        let i = 0;
        for await (const body of src.bodies(pages)) await emit(body, rowsOf(pages[i++]!), true);
        out.stored += i;
        if (i !== pages.length) throw new Error(`${pages.length - i} inventory pages vanished while the inventory was listed`);
      };
      let after: Key | undefined;
      for (const page of layout.pages) {
        if (page.hi === null && (page.tailRows == null || layout.changes.has(0))) {
          await flush();
          // Only whole pieces from the tail's start become pages: the cut stays contiguous. What
          // remains is stored as the tail when it is one piece.
          let cutting = true;
          const rest: Built[] = [];
          for await (const b of src.build(after, undefined, CHUNK_ROWS)) {
            await emit(b.text, b.rows, true);
            built(b);
            cutting &&= b.rows === CHUNK_ROWS && keep(b);
            if (cutting) out.cut.push(b);
            else rest.push(b);
          }
          out.tail = rest.length === 0 ? { text: new Uint8Array(0), rows: 0 } : rest.length === 1 && keep(rest[0]!) ? rest[0]! : null;
        } else if (page.hi !== null && layout.changes.has(page.id)) {
          await flush();
          let whole: Built = { text: new Uint8Array(0), rows: 0, hi: page.hi };
          for await (const b of src.build(after, page.hi, undefined)) {
            await emit(b.text, b.rows, true);
            built(b);
            whole = b;
          }
          if (keep(whole)) out.rebuilt.push({ page, built: whole });
        } else run.push(page);
        after = page.hi ?? after;
      }
      await flush();
      writes.value = out;
    },
    async missing() {
      throw new Error('a paged listing builds final texts'); // chunks are emitted final
    },
    runtimes: () => src.runtimes(),
  };
}

/** The change rows and page layout as they are now, under the write-back lock. */
export interface Current {
  maxPageId: number;
  /** The tail's epoch (its `rows` column): bumped when its change rows are forgotten without a cut. */
  tailEpoch: number;
  /** page id → its change row ids, ascending, for the pages asked about. */
  changes: Map<number, number[]>;
}

/** One statement's worth of write-back. */
export type PageWrite =
  | { op: 'update'; id: number; rows: number; codec: Codec; body: Uint8Array }
  | { op: 'tail'; epoch: number; rows: number | null; codec: Codec; body: Uint8Array | null }
  | { op: 'insert'; id: number; hi: Key; rows: number; codec: Codec; body: Uint8Array }
  | { op: 'forget'; page: number; upTo: number };

const same = (a: readonly number[] | undefined, b: readonly number[] | undefined): boolean =>
  (a?.length ?? 0) === (b?.length ?? 0) && (a ?? []).every((x, i) => x === b![i]);

/**
 * What to write back, given the state now: each rebuilt page whose change rows are exactly those
 * the listing's snapshot had; when the tail was built, and the layout, the tail's epoch and its
 * change rows are those the snapshot had too (a row registered since would otherwise fall in a new
 * page, or the stored tail, without being in its body): the tail's cut and what remains of it as
 * the stored tail, with the epoch bumped so that a listing holding an older snapshot writes no tail.
 * `forget` deletes the change rows accounted for.
 */
export function writeBackPlan(w: PageWrites, now: Current, codec: Codec): PageWrite[] {
  const plan: PageWrite[] = [];
  const maxSeen = Math.max(0, ...w.layout.pages.map((p) => p.id));
  const forget = (page: number): void => {
    const ids = w.layout.changes.get(page);
    if (ids?.length) plan.push({ op: 'forget', page, upTo: ids[ids.length - 1]! });
  };
  for (const { page, built } of w.rebuilt) {
    if (!same(w.layout.changes.get(page.id), now.changes.get(page.id))) continue;
    plan.push({ op: 'update', id: page.id, rows: built.rows, codec, body: encode(built.text, codec) });
    forget(page.id);
  }
  const epoch = tailOf(w).rows;
  if (w.tail === undefined || now.maxPageId !== maxSeen || now.tailEpoch !== epoch || !same(w.layout.changes.get(0), now.changes.get(0))) return plan;
  w.cut.forEach((b, i) => plan.push({ op: 'insert', id: maxSeen + 1 + i, hi: b.hi, rows: b.rows, codec, body: encode(b.text, codec) }));
  const tail = w.tail;
  plan.push({ op: 'tail', epoch: epoch + 1, rows: tail ? tail.rows : null, codec, body: tail ? encode(tail.text, codec) : null });
  forget(0);
  return plan;
}

const tailOf = (w: PageWrites): PageRow => w.layout.pages[w.layout.pages.length - 1]!;

/** The pages whose change rows write-back must compare. */
export const pagesToCheck = (w: PageWrites): number[] => [...new Set([...w.rebuilt.map((r) => r.page.id), ...(w.tail !== undefined ? [0] : [])])];

/** How many pages a write-back plan writes (the tail counts as one when it stores a body). */
export const pagesWritten = (plan: readonly PageWrite[]): number =>
  plan.filter((p) => p.op === 'update' || p.op === 'insert' || (p.op === 'tail' && p.body !== null)).length;

export function encode(text: Uint8Array, codec: Codec): Uint8Array {
  return codec === 'zstd' ? zstdCompressSync(text, { params: { [constants.ZSTD_c_compressionLevel]: 1 } }) : text;
}

/** Decodes a stored body (on the thread pool for zstd, so several decode while the socket reads). */
export function decode(body: Uint8Array, codec: string): Promise<Uint8Array> {
  if (codec === 'none') return Promise.resolve(body);
  if (codec !== 'zstd') return Promise.reject(new Error(`inventory page stored with unknown codec "${codec}"`));
  return new Promise((resolve, reject) => zstdDecompress(body, { chunkSize: 1 << 20 }, (e, out) => (e ? reject(e) : resolve(out))));
}

export const isCodec = (c: string): c is Codec => c === 'none' || c === 'zstd';
