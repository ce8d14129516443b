/**
 * Findings about a served model: what the inventory cannot vouch for.
 *
 * - unknown_model: the runtime serves something that matches no registered artifact (or that
 *   cannot be identified at all: bind it to a digest);
 * - mismatch: a binding says one artifact, discovery shows another;
 * - not_admitted: the artifact is registered but its latest admission decision in the runtime's
 *   environment (any environment when the runtime has none) is not an allow.
 */
import type { Store } from '../store/store.ts';
import { admittedIn } from '../policy/decisions.ts';

export const FINDING_CODES = ['unknown_model', 'mismatch', 'not_admitted'] as const;
export type FindingCode = (typeof FINDING_CODES)[number];

export interface Finding {
  code: FindingCode;
  message: string;
}

export interface Evidence {
  /** The artifact the served model is, if matched or bound. */
  artifactDigest?: string;
  /** Why it is not (from matching). */
  problem?: string;
  /** Adapters applied on top (Ollama ADAPTER): each must be known and admitted too. */
  adapters?: { artifactDigest?: string; problem?: string }[];
  /** A binding's digest, when discovery also identified the model. */
  boundDigest?: string;
}

export async function evaluate(store: Store, runtimeEnv: string | null, modelId: string, e: Evidence): Promise<Finding | null> {
  if (e.boundDigest && e.artifactDigest && e.boundDigest !== e.artifactDigest) {
    return { code: 'mismatch', message: `${modelId} is bound to ${e.boundDigest} but the runtime serves ${e.artifactDigest}` };
  }
  const digest = e.boundDigest ?? e.artifactDigest;
  if (!digest) return { code: 'unknown_model', message: `${modelId}: ${e.problem ?? 'not identified'}` };
  const known = await store.db.selectFrom('artifacts').select('digest').where('digest', '=', digest).executeTakeFirst();
  if (!known) return { code: 'unknown_model', message: `${modelId}: ${digest} is not a registered artifact` };
  for (const a of e.adapters ?? []) {
    if (!a.artifactDigest) return { code: 'unknown_model', message: `${modelId}: adapter ${a.problem ?? 'not identified'}` };
  }
  for (const d of [digest, ...(e.adapters ?? []).map((a) => a.artifactDigest!)]) {
    const envs = await admittedIn(store, d, runtimeEnv);
    if (envs.length === 0) {
      const where = runtimeEnv === null ? 'in any environment' : `for environment ${runtimeEnv}`;
      return { code: 'not_admitted', message: `${modelId}: ${d === digest ? '' : 'adapter '}${d} is not admitted ${where}` };
    }
  }
  return null;
}
