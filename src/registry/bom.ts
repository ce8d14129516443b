/**
 * A CycloneDX 1.6 JSON BOM of the inventory, written here (no generator library): every artifact
 * is a `machine-learning-model` component (bom-ref = root digest, SHA-256 hash = the root digest,
 * licenses, a model card with what the registry knows, pedigree.ancestors for its lineage), every
 * runtime a `platform` component whose dependencies are the models it serves. Served models that
 * match no registered artifact are components too, marked as not in the inventory.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Store } from '../store/store.ts';
import { parseJson, read } from './db.ts';
import { inventory, type InventoryArtifact } from './inventory.ts';
import { assessModification } from './lineage.ts';
import { cdxLicenses } from './licenses.ts';

type Json = Record<string, unknown>;
interface Property {
  name: string;
  value: string;
}

export interface BomOptions {
  /** Fixed timestamp and serial number, for reproducible output in tests. */
  now?: Date;
  serialNumber?: string;
}

const PERIMETER_VERSION = (() => {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
})();

const MAX_PEDIGREE_DEPTH = 16;

const prop = (name: string, value: unknown): Property[] => (value === null || value === undefined || value === '' ? [] : [{ name: `perimeter:${name}`, value: String(value) }]);
const hex = (digest: string): string | undefined => /^sha256:([0-9a-f]{64})$/.exec(digest)?.[1];

export async function buildBom(store: Store, options: BomOptions = {}): Promise<Json> {
  const inv = await inventory(store);
  const [edges, metaRows] = await read(store, 'lineage and metadata', () =>
    Promise.all([
      store.db.selectFrom('lineage').select(['child_digest', 'parent_digest', 'relation']).execute(),
      store.db.selectFrom('artifacts').select(['digest', 'metadata']).execute(),
    ]),
  );
  const byDigest = new Map(inv.artifacts.map((a) => [a.digest, a]));
  const meta = new Map(metaRows.map((r) => [r.digest, parseJson<Json>(r.metadata, {})]));
  const parentsOf = new Map<string, { parent: string; relation: string }[]>();
  for (const e of edges) {
    const list = parentsOf.get(e.child_digest) ?? [];
    list.push({ parent: e.parent_digest, relation: e.relation });
    parentsOf.set(e.child_digest, list);
  }

  /** An ancestor as a nested component (no bom-ref: the top-level component holds it). */
  const ancestor = (digest: string, relation: string, seen: Set<string>, depth: number): Json => {
    const a = byDigest.get(digest);
    const h = hex(digest);
    const c: Json = {
      type: 'machine-learning-model',
      name: a?.name ?? (digest.startsWith('name:') ? digest.slice(5) : digest),
      ...(h ? { hashes: [{ alg: 'SHA-256', content: h }] } : {}),
      properties: [...prop('relation-of-child', relation), ...prop('root-digest', h ? digest : undefined), ...prop('registered', a ? 'true' : 'false')],
    };
    const parents = parentsOf.get(digest);
    if (parents?.length && depth < MAX_PEDIGREE_DEPTH && !seen.has(digest)) {
      const next = new Set(seen).add(digest);
      c.pedigree = { ancestors: parents.map((p) => ancestor(p.parent, p.relation, next, depth + 1)) };
    }
    return c;
  };

  const modelCard = (a: InventoryArtifact): Json => {
    const m = meta.get(a.digest) ?? {};
    const archs = Array.isArray(m.architectures) ? (m.architectures as string[]) : [];
    const params: Json = {};
    if (typeof m.modelType === 'string') params.architectureFamily = m.modelType;
    if (archs.length) params.modelArchitecture = archs.join(', ');
    const mods = (parentsOf.get(a.digest) ?? []).map((p) => ({ p, m: assessModification(a.trainingFlops, byDigest.get(p.parent)?.trainingFlops ?? null) }));
    const properties: Property[] = [
      ...prop('kind', a.kind),
      ...prop('format', a.format),
      ...prop('quantization', m.quantization),
      ...prop('training-flops', a.trainingFlops),
      ...prop('signature-status', a.signatureStatus),
      ...prop('signer-method', a.signerMethod),
      ...prop('signer', a.signer),
      ...prop('signer-issuer', a.signerIssuer),
      ...prop('scan-verdict', a.scanVerdict),
      ...prop('scan-findings', a.scanFindings),
      ...prop('admitted-environments', a.admittedEnvs.join(',')),
      ...prop('predecessor', a.predecessorDigest),
      ...mods.flatMap(({ p, m: x }) => prop('eu-ai-act-modification', `${p.parent}: ${x.assessment}${x.ratio !== null ? ` (ratio ${x.ratio.toPrecision(3)})` : ''}`)),
    ];
    return { ...(Object.keys(params).length ? { modelParameters: params } : {}), properties };
  };

  const components: Json[] = [];
  const dependencies: Json[] = [];
  for (const a of inv.artifacts) {
    const h = hex(a.digest);
    const licenses = cdxLicenses(a.license);
    const parents = parentsOf.get(a.digest) ?? [];
    components.push({
      type: 'machine-learning-model',
      'bom-ref': a.digest,
      name: a.name,
      ...(h ? { hashes: [{ alg: 'SHA-256', content: h }] } : {}),
      ...(licenses ? { licenses } : {}),
      ...(parents.length ? { pedigree: { ancestors: parents.map((p) => ancestor(p.parent, p.relation, new Set([a.digest]), 1)) } } : {}),
      modelCard: modelCard(a),
      properties: [...prop('root-digest', a.digest), { name: 'perimeter:root-digest-method', value: 'OMS: sha256 over the sha256 digests of the files, in order' }, ...prop('bytes', a.bytes), ...prop('files', a.files)],
    });
    // An adapter needs its base weights to run: a real dependency, not only pedigree.
    const needs = a.kind === 'adapter' ? parents.map((p) => p.parent).filter((d) => byDigest.has(d)) : [];
    dependencies.push({ ref: a.digest, dependsOn: [...new Set(needs)] });
  }
  for (const r of inv.runtimes) {
    const ref = `runtime:${r.name}`;
    const serves = new Set<string>();
    for (const s of r.serves) {
      if (s.artifactDigest && byDigest.has(s.artifactDigest)) {
        serves.add(s.artifactDigest);
        continue;
      }
      const sref = `${ref}/model:${s.modelId}`;
      if (serves.has(sref)) continue;
      serves.add(sref);
      components.push({
        type: 'machine-learning-model',
        'bom-ref': sref,
        name: s.modelId,
        properties: [...prop('inventory-status', s.status), ...prop('served-digest', s.servedDigest), ...prop('runtime', r.name)],
      });
      dependencies.push({ ref: sref, dependsOn: [] });
    }
    components.push({
      type: 'platform',
      'bom-ref': ref,
      name: r.name,
      properties: [...prop('runtime-kind', r.kind), ...prop('url', r.url), ...prop('last-sync', r.lastSyncAt ? new Date(r.lastSyncAt).toISOString() : undefined), ...prop('last-sync-error', r.lastSyncError)],
    });
    dependencies.push({ ref, dependsOn: [...serves] });
  }
  return {
    $schema: 'http://cyclonedx.org/schema/bom-1.6.schema.json',
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    serialNumber: options.serialNumber ?? `urn:uuid:${randomUUID()}`,
    version: 1,
    metadata: {
      timestamp: (options.now ?? new Date()).toISOString(),
      lifecycles: [{ phase: 'operations' }],
      tools: { components: [{ type: 'application', name: 'perimeter', version: PERIMETER_VERSION }] },
    },
    components,
    dependencies,
  };
}
