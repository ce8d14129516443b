/**
 * The routing table: which runtime serves each model id clients may name, and whether what it
 * serves is an admitted artifact. Built from the inventory (runtimes, served models from discovery
 * or bindings, artifacts, admission decisions) and swapped whole on refresh, so the hot path reads
 * one Map and never the store.
 *
 * A served model is admitted when the runtime's served model matches a registered artifact (no
 * unknown_model or mismatch finding) and the latest admission decision for that digest in the
 * runtime's environment (else the gateway's) is an allow. Admission is re-read at every refresh,
 * so a new deny takes effect without a runtime sync.
 */
import type { Store } from '../store/store.ts';
import type { RuntimeKind } from '../registry/runtimes.ts';

export interface Route {
  /** The id clients name in `model`. */
  readonly model: string;
  readonly runtime: string;
  readonly kind: RuntimeKind;
  /** The runtime's base URL (without /v1). */
  readonly url: string;
  /** The environment admission is checked in. */
  readonly env: string;
  readonly digest: string | null;
  readonly admitted: boolean;
  /** Why it is not admitted (for the 403 and the audit log). */
  readonly reason: string | null;
  readonly license: string | null;
  readonly tier: number | null;
}

export interface RouteSnapshot {
  /** model id -> routes, admitted ones first. */
  readonly byModel: ReadonlyMap<string, readonly Route[]>;
  readonly loadedAt: number;
}

const UNUSABLE = new Set(['unknown_model', 'mismatch']);

/** Reads the whole table (a few queries, whatever the size). */
export async function loadRoutes(store: Store, defaultEnv: string): Promise<RouteSnapshot> {
  const db = store.db;
  const [runtimes, served] = await Promise.all([
    db.selectFrom('runtimes').select(['name', 'kind', 'url', 'env']).execute(),
    db.selectFrom('served_models').select(['runtime', 'model_id', 'artifact_digest', 'finding', 'source']).execute(),
  ]);
  const digests = [...new Set(served.map((s) => s.artifact_digest).filter((d): d is string => d !== null))];
  const artifacts = new Map<string, { license: string | null; tier: number | null }>();
  const latest = new Map<string, boolean>(); // `${digest} ${env}` -> allowed
  for (let i = 0; i < digests.length; i += 500) {
    const chunk = digests.slice(i, i + 500);
    const [arts, decisions] = await Promise.all([
      db.selectFrom('artifacts').select(['digest', 'license', 'tier']).where('digest', 'in', chunk).execute(),
      db
        .selectFrom('admissions')
        .select(['digest', 'env', 'allowed'])
        .where('digest', 'in', chunk)
        .orderBy('decided_at', 'desc')
        .orderBy('id', 'desc')
        .execute(),
    ]);
    for (const a of arts) artifacts.set(a.digest, { license: a.license, tier: a.tier });
    for (const d of decisions) {
      const k = `${d.digest} ${d.env}`;
      if (!latest.has(k)) latest.set(k, d.allowed === 1);
    }
  }
  const rts = new Map(runtimes.map((r) => [r.name, r]));
  const byModel = new Map<string, Route[]>();
  for (const s of served) {
    const rt = rts.get(s.runtime);
    if (!rt) continue;
    const env = rt.env ?? defaultEnv;
    const digest = s.artifact_digest;
    const art = digest ? artifacts.get(digest) : undefined;
    let reason: string | null = null;
    if (s.finding === 'mismatch') reason = `${s.model_id} on ${rt.name} serves other weights than its binding says (mismatch): sync the runtime or fix the binding`;
    else if (s.finding && UNUSABLE.has(s.finding)) reason = `${s.model_id} on ${rt.name} is not a registered artifact: register it, admit it, and bind it (perimeter runtime bind ${rt.name} ${s.model_id} DIGEST)`;
    else if (!digest || !art) reason = `${s.model_id} on ${rt.name} is not bound to a registered artifact (perimeter runtime bind)`;
    else if (latest.get(`${digest} ${env}`) !== true) reason = `${digest} (${s.model_id} on ${rt.name}) is not admitted for environment ${env}`;
    const route: Route = {
      model: s.model_id,
      runtime: rt.name,
      kind: rt.kind as RuntimeKind,
      url: rt.url,
      env,
      digest,
      admitted: reason === null,
      reason,
      license: art?.license ?? null,
      tier: art?.tier ?? null,
    };
    const list = byModel.get(s.model_id);
    if (list) list.push(route);
    else byModel.set(s.model_id, [route]);
  }
  for (const list of byModel.values()) list.sort((a, b) => Number(b.admitted) - Number(a.admitted) || a.runtime.localeCompare(b.runtime));
  return { byModel, loadedAt: Date.now() };
}

/** Picks among the routes of one model: admitted ones in turn (round robin), else the first (for its reason). */
export class RouteTable {
  #snapshot: RouteSnapshot;
  #turn = 0;

  constructor(snapshot: RouteSnapshot = { byModel: new Map(), loadedAt: 0 }) {
    this.#snapshot = snapshot;
  }

  replace(snapshot: RouteSnapshot): void {
    this.#snapshot = snapshot;
  }

  get loadedAt(): number {
    return this.#snapshot.loadedAt;
  }

  pick(model: string): Route | undefined {
    const list = this.#snapshot.byModel.get(model);
    if (!list || list.length === 0) return undefined;
    if (list.length === 1 || !list[1]!.admitted) return list[0];
    let n = 0;
    while (n < list.length && list[n]!.admitted) n++;
    return list[this.#turn++ % n];
  }

  /** One route per model id (the preferred one), sorted by id. */
  models(): Route[] {
    return [...this.#snapshot.byModel.values()].map((l) => l[0]!).sort((a, b) => a.model.localeCompare(b.model));
  }
}
