/**
 * Lineage queried both ways from one artifact: ancestors (parents, their parents...) and
 * descendants, level by level with set-based queries, with the EU AI Act modification inputs on
 * every edge: the derivative's modification compute against one third of its parent's training
 * compute (Commission guidelines for providers of general-purpose AI models: a downstream
 * modifier using more than a third may become the provider of a new model).
 */
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.ts';
import type { Store } from '../store/store.ts';
import { read } from './db.ts';
import { findArtifactDigest } from './lookup.ts';

export type ModificationAssessment = 'over the line' | 'under' | 'unknown';

export interface Modification {
  /** The derivative's modification compute (its training_flops), FLOP. */
  modificationFlops: number | null;
  /** The parent's training compute, FLOP. */
  parentTrainingFlops: number | null;
  /** One third of the parent's training compute. */
  threshold: number | null;
  /** modification / parent training compute. */
  ratio: number | null;
  assessment: ModificationAssessment;
  note: string;
}

export interface LineageNode {
  digest: string;
  name: string;
  kind: string | null;
  license: string | null;
  trainingFlops: number | null;
  /** false for a parent known only by model id ("name:<id>") or by a digest nobody registered. */
  registered: boolean;
  /** Steps from the subject (1 = parent or child). */
  depth: number;
}

export interface LineageEdge {
  child: string;
  parent: string;
  relation: string;
  modification: Modification;
}

export interface LineageResult {
  artifact: LineageNode;
  ancestors: LineageNode[];
  descendants: LineageNode[];
  /** Every edge among the nodes above, child → parent. */
  edges: LineageEdge[];
}

export function assessModification(modificationFlops: number | null, parentTrainingFlops: number | null): Modification {
  if (modificationFlops === null || parentTrainingFlops === null || parentTrainingFlops <= 0) {
    const parts = [modificationFlops === null ? "the derivative's modification compute" : '', parentTrainingFlops === null || parentTrainingFlops <= 0 ? "the parent's training compute" : ''].filter(Boolean);
    const missing = `${parts.join(' and ')} ${parts.length > 1 ? 'are' : 'is'}`;
    return { modificationFlops, parentTrainingFlops, threshold: parentTrainingFlops && parentTrainingFlops > 0 ? parentTrainingFlops / 3 : null, ratio: null, assessment: 'unknown', note: `unknown: ${missing} not recorded` };
  }
  const threshold = parentTrainingFlops / 3;
  const ratio = modificationFlops / parentTrainingFlops;
  const over = modificationFlops > threshold;
  return {
    modificationFlops,
    parentTrainingFlops,
    threshold,
    ratio,
    assessment: over ? 'over the line' : 'under',
    note: over
      ? 'more than one third of the parent\'s training compute: the modifier may be the provider of a new general-purpose AI model'
      : 'at most one third of the parent\'s training compute',
  };
}

interface Row {
  digest: string;
  name: string;
  kind: string;
  license: string | null;
  training_flops: number | null;
}

const CHUNK = 500;

async function rowsFor(db: Kysely<Database>, digests: string[]): Promise<Map<string, Row>> {
  const out = new Map<string, Row>();
  for (let i = 0; i < digests.length; i += CHUNK) {
    const part = digests.slice(i, i + CHUNK);
    const rows = await db.selectFrom('artifacts').select(['digest', 'name', 'kind', 'license', 'training_flops']).where('digest', 'in', part).execute();
    for (const r of rows) out.set(r.digest, r);
  }
  return out;
}

type Dir = 'up' | 'down';

async function walk(db: Kysely<Database>, start: string, dir: Dir, maxDepth: number, edges: Map<string, { child: string; parent: string; relation: string }>): Promise<Map<string, number>> {
  const depth = new Map<string, number>();
  let frontier = [start];
  for (let d = 1; d <= maxDepth && frontier.length; d++) {
    const next: string[] = [];
    for (let i = 0; i < frontier.length; i += CHUNK) {
      const part = frontier.slice(i, i + CHUNK);
      const rows = await db
        .selectFrom('lineage')
        .select(['child_digest', 'parent_digest', 'relation'])
        .where(dir === 'up' ? 'child_digest' : 'parent_digest', 'in', part)
        .execute();
      for (const r of rows) {
        edges.set(`${r.child_digest}\u0000${r.parent_digest}`, { child: r.child_digest, parent: r.parent_digest, relation: r.relation });
        const other = dir === 'up' ? r.parent_digest : r.child_digest;
        if (other === start || depth.has(other)) continue;
        depth.set(other, d);
        if (!other.startsWith('name:')) next.push(other);
      }
    }
    frontier = next;
  }
  return depth;
}

export interface LineageOptions {
  /** Levels to follow each way (default 32; lineage cycles are cut, never followed twice). */
  maxDepth?: number;
}

/** The lineage of the artifact named by NAME|DIGEST (PERIM_E_NOT_FOUND when unknown). */
export async function lineage(store: Store, ref: string, options: LineageOptions = {}): Promise<LineageResult> {
  const maxDepth = options.maxDepth ?? 32;
  return read(store, 'lineage', async () => {
    const db = store.db;
    const subject = await findArtifactDigest(db, ref);
    const edgeMap = new Map<string, { child: string; parent: string; relation: string }>();
    const up = await walk(db, subject, 'up', maxDepth, edgeMap);
    const down = await walk(db, subject, 'down', maxDepth, edgeMap);
    const rows = await rowsFor(db, [subject, ...new Set([...up.keys(), ...down.keys()].filter((d) => !d.startsWith('name:')))]);
    const node = (digest: string, depth: number): LineageNode => {
      const r = rows.get(digest);
      if (r) return { digest, name: r.name, kind: r.kind, license: r.license, trainingFlops: r.training_flops, registered: true, depth };
      return { digest, name: digest.startsWith('name:') ? digest.slice(5) : '(not registered)', kind: null, license: null, trainingFlops: null, registered: false, depth };
    };
    const flops = (d: string): number | null => rows.get(d)?.training_flops ?? null;
    const edges: LineageEdge[] = [...edgeMap.values()].map((e) => ({ ...e, modification: assessModification(flops(e.child), flops(e.parent)) }));
    const order = (a: LineageNode, b: LineageNode): number => a.depth - b.depth || a.name.localeCompare(b.name) || a.digest.localeCompare(b.digest);
    return {
      artifact: node(subject, 0),
      ancestors: [...up].map(([d, k]) => node(d, k)).sort(order),
      descendants: [...down].map(([d, k]) => node(d, k)).sort(order),
      edges,
    };
  });
}
