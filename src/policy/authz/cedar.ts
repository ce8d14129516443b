/**
 * The one place that talks to Cedar (@cedar-policy/cedar-wasm, the Node.js build):
 *
 * - `compilePolicySet`: parse each .cedar file, split it into policies with their ids (`@id("...")`
 *   or "<file basename>#<n>", n from 1 in file order), read each one's effect and `@reason`,
 *   validate the whole set against the schema when there is one, and pre-parse it into Cedar's
 *   in-memory store under a set id. Any problem throws PERIM_E_POLICY_LOAD naming file and line;
 *   a failed compile leaves the previously pre-parsed sets untouched.
 * - `evaluate`: one decision with `statefulIsAuthorized` (no re-parsing), from the entity model
 *   documented in docs/policy.md (namespace `Perimeter`).
 */
import { basename } from 'node:path';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import type { AuthorizationAnswer, Context, DetailedError, EntityJson, EntityUidJson, Schema } from '@cedar-policy/cedar-wasm/nodejs';
import { PerimeterError } from '../../errors/errors.ts';
import type { Action, AuthzDecision, AuthzRequest, ModelResource, Principal } from '../../gateway/types.ts';
import { charOffset, lineColAt, splitPolicies } from './source.ts';

export interface PolicyFile {
  readonly path: string;
  readonly text: string;
}

export interface PolicyInfo {
  readonly id: string;
  readonly effect: 'permit' | 'forbid';
  /** The `@reason("...")` annotation, if any. */
  readonly reason: string | undefined;
  readonly file: string;
  /** Line of the policy's first token in its file (1-based). */
  readonly line: number;
  /** The policy's text as pre-parsed, and the line/column where that text starts (to place errors). */
  readonly text: string;
  readonly textLine: number;
  readonly textColumn: number;
}

export interface CompiledSet {
  /** The id the set is pre-parsed under in Cedar's store; empty when there are no policies. */
  readonly setId: string;
  readonly policies: ReadonlyMap<string, PolicyInfo>;
}

export const ENTITY_TYPES = {
  principal: 'Perimeter::Principal',
  group: 'Perimeter::Group',
  action: 'Perimeter::Action',
  model: 'Perimeter::Model',
} as const;

interface Problem {
  file: string;
  line?: number;
  column?: number;
  policy?: string;
  message: string;
}

const formatProblem = (p: Problem): string =>
  `${p.file}${p.line === undefined ? '' : `:${p.line}:${p.column ?? 1}`}${p.policy === undefined ? '' : ` (policy ${p.policy})`}: ${p.message}`;

function loadError(problems: Problem[]): PerimeterError {
  const first = problems[0]!;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})` : '';
  return new PerimeterError('PERIM_E_POLICY_LOAD', `${formatProblem(first)}${more}`, {
    details: { file: first.file, line: first.line, column: first.column, policy: first.policy, problems: problems.map(formatProblem) },
  });
}

const describe = (e: DetailedError): string => (e.help ? `${e.message} (${e.help})` : e.message);

/** A problem placed at the first source location of `e`, inside `text` which starts at (line, column) of `file`. */
function placed(file: string, text: string, e: DetailedError, base = { line: 1, column: 1 }, policy?: string): Problem {
  const loc = e.sourceLocations?.[0];
  const p: Problem = { file, message: describe(e) };
  if (policy !== undefined) p.policy = policy;
  if (loc) {
    const at = lineColAt(text, charOffset(text, loc.start));
    p.line = base.line + at.line - 1;
    p.column = at.line === 1 ? base.column + at.column - 1 : at.column;
  }
  return p;
}

function readSchema(file: PolicyFile, problems: Problem[]): Schema | undefined {
  const json = file.path.endsWith('.json') || file.text.trimStart().startsWith('{');
  if (!json) return file.text;
  try {
    return JSON.parse(file.text) as Schema;
  } catch (e) {
    problems.push({ file: file.path, message: `schema is not valid JSON: ${(e as Error).message}` });
    return undefined;
  }
}

/** Parses, names, validates and pre-parses a policy set; throws PERIM_E_POLICY_LOAD with every problem found. */
export function compilePolicySet(setId: string, files: readonly PolicyFile[], schemaFile?: PolicyFile): CompiledSet {
  const problems: Problem[] = [];
  const policies = new Map<string, PolicyInfo>();
  const texts: Record<string, string> = {};
  for (const file of files) {
    const parts = cedar.policySetTextToParts(file.text);
    if (parts.type === 'failure') {
      for (const e of parts.errors) problems.push(placed(file.path, file.text, e));
      continue;
    }
    const chunks = splitPolicies(file.text);
    if (chunks.length !== parts.policies.length + parts.policy_templates.length) {
      problems.push({ file: file.path, message: `cannot split the file into policies (Cedar counts ${parts.policies.length + parts.policy_templates.length}, found ${chunks.length})` });
      continue;
    }
    chunks.forEach((chunk, i) => {
      const at = lineColAt(file.text, chunk.first);
      const base = lineColAt(file.text, chunk.start);
      const json = cedar.policyToJson(chunk.text);
      if (json.type === 'failure') {
        // A template (?principal / ?resource) parses as a set but not as a static policy.
        const template = cedar.templateToJson(chunk.text).type === 'success';
        problems.push({ file: file.path, line: at.line, column: at.column, message: template ? 'policy templates (?principal, ?resource) are not supported; write static policies' : json.errors.map(describe).join('; ') });
        return;
      }
      const annotations = json.json.annotations ?? {};
      const id = annotations.id || `${basename(file.path)}#${i + 1}`;
      const prior = policies.get(id);
      if (prior) {
        problems.push({ file: file.path, line: at.line, column: at.column, message: `duplicate policy id "${id}" (also at ${prior.file}:${prior.line}); give each policy its own @id` });
        return;
      }
      const info: PolicyInfo = { id, effect: json.json.effect, reason: annotations.reason, file: file.path, line: at.line, text: chunk.text, textLine: base.line, textColumn: base.column };
      policies.set(id, info);
      texts[id] = chunk.text;
    });
  }
  if (problems.length) throw loadError(problems);

  if (schemaFile) {
    const schema = readSchema(schemaFile, problems);
    if (schema !== undefined) {
      const v = cedar.validate({ schema, policies: { staticPolicies: texts }, validationSettings: { mode: 'strict' } });
      if (v.type === 'failure') {
        for (const e of v.errors) problems.push(typeof schema === 'string' ? placed(schemaFile.path, schemaFile.text, e) : { file: schemaFile.path, message: describe(e) });
      } else {
        for (const { policyId, error } of v.validationErrors) {
          const info = policies.get(policyId);
          problems.push(info ? placed(info.file, info.text, error, { line: info.textLine, column: info.textColumn }, policyId) : { file: schemaFile.path, policy: policyId, message: describe(error) });
        }
      }
    }
    if (problems.length) throw loadError(problems);
  }

  if (policies.size === 0) return { setId: '', policies };
  const pre = cedar.preparsePolicySet(setId, { staticPolicies: texts });
  if (pre.type === 'failure') throw loadError(pre.errors.map((e) => ({ file: files.map((f) => f.path).join(', '), message: describe(e) })));
  return { setId, policies };
}

// ---- evaluation -------------------------------------------------------------------------------

const ACTIONS: Readonly<Record<Action, EntityUidJson>> = {
  infer: { type: ENTITY_TYPES.action, id: 'infer' },
  embed: { type: ENTITY_TYPES.action, id: 'embed' },
  list: { type: ENTITY_TYPES.action, id: 'list' },
};

// Entities depend only on the (immutable) principal and model objects, never on the policy set.
const principalEntities = new WeakMap<Principal, EntityJson>();
const modelEntities = new WeakMap<ModelResource, EntityJson>();

export function principalEntity(p: Principal): EntityJson {
  let e = principalEntities.get(p);
  if (!e) {
    e = {
      uid: { type: ENTITY_TYPES.principal, id: p.id },
      attrs: { kind: p.kind, org: p.org ?? '', verified: p.verified, attestations: [...p.attestations], groups: [...p.groups] },
      parents: p.groups.map((g) => ({ type: ENTITY_TYPES.group, id: g })),
    };
    principalEntities.set(p, e);
  }
  return e;
}

export function modelEntity(m: ModelResource): EntityJson {
  let e = modelEntities.get(m);
  if (!e) {
    e = {
      uid: { type: ENTITY_TYPES.model, id: m.id },
      attrs: { digest: m.digest ?? '', admitted: m.admitted, license: m.license ?? '', tier: m.tier ?? 0, runtime: m.runtime },
      parents: [],
    };
    modelEntities.set(m, e);
  }
  return e;
}

/** The Cedar request facts derived from the request (also the parts of the cache key that are not plain fields). */
export interface RequestFacts {
  readonly hour: number;
  readonly weekday: number;
  /** The source address with an IPv4-mapped IPv6 prefix removed ("::ffff:10.0.0.1" -> "10.0.0.1"). */
  readonly sourceIp: string;
}

export function requestFacts(r: AuthzRequest): RequestFacts {
  const t = r.context.time;
  const ip = r.context.sourceIp;
  return {
    hour: Math.floor(t / 3_600_000) % 24,
    // 1970-01-01 was a Thursday (4); 0 = Sunday as in Date.getUTCDay().
    weekday: (Math.floor(t / 86_400_000) + 4) % 7,
    sourceIp: ip.length > 7 && ip.charCodeAt(0) === 0x3a && ip.slice(0, 7).toLowerCase() === '::ffff:' && ip.includes('.') ? ip.slice(7) : ip,
  };
}

const NONE: readonly string[] = Object.freeze([]);

const reasonOf = (verb: string, p: PolicyInfo | undefined, id: string): string => (p?.reason ? `${verb} by ${id}: ${p.reason}` : `${verb} by ${id}`);

function errorText(set: CompiledSet, policyId: string, e: DetailedError): string {
  const info = set.policies.get(policyId);
  if (!info) return `${policyId}: ${describe(e)}`;
  const p = placed(info.file, info.text, e, { line: info.textLine, column: info.textColumn }, policyId);
  return `${policyId} (${info.file}:${p.line ?? info.line}): ${describe(e)}`;
}

/** Decides one request against a compiled set. Never throws: anything unexpected is a deny with errors. */
export function evaluate(set: CompiledSet, r: AuthzRequest, facts: RequestFacts, version: string): AuthzDecision {
  const deny = (reasons: readonly string[], policies: readonly string[], errors: readonly string[]): AuthzDecision => ({ allowed: false, reasons, policies, errors, policyVersion: version, cached: false });
  const defaultDeny = `no policy permits ${r.action} on ${r.resource.id} for ${r.principal.id}`;
  if (set.policies.size === 0) return deny([`${defaultDeny}: no policies are loaded, so every request is denied (default deny)`], NONE, NONE);

  const context: Context = {
    hour: facts.hour,
    weekday: facts.weekday,
    source_ip: { __extn: { fn: 'ip', arg: facts.sourceIp } },
    purpose: r.context.purpose ?? '',
  };
  let answer: AuthorizationAnswer;
  try {
    const p = principalEntity(r.principal);
    const m = modelEntity(r.resource);
    answer = cedar.statefulIsAuthorized({ principal: p.uid, action: ACTIONS[r.action], resource: m.uid, context, preparsedPolicySetId: set.setId, entities: [p, m] });
  } catch (e) {
    return deny(['the request could not be evaluated: denied'], NONE, [(e as Error).message ?? String(e)]);
  }
  if (answer.type === 'failure') return deny(['the request could not be evaluated: denied'], NONE, answer.errors.map(describe));

  const { decision, diagnostics } = answer.response;
  const errors = diagnostics.errors.length ? diagnostics.errors.map((x) => errorText(set, x.policyId, x.error)) : NONE;
  const ids = diagnostics.reason;
  if (decision === 'allow') {
    // Cedar skips a policy that errors. A forbid that could not be evaluated might have applied,
    // so it denies (fail closed); a permit that errors simply does not permit.
    const failedForbids = diagnostics.errors.filter((x) => set.policies.get(x.policyId)?.effect !== 'permit').map((x) => x.policyId);
    if (failedForbids.length) return deny(failedForbids.map((id) => `forbid policy ${id} could not be evaluated: denied (fail closed)`), failedForbids, errors);
    return { allowed: true, reasons: ids.map((id) => reasonOf('permitted', set.policies.get(id), id)), policies: ids, errors, policyVersion: version, cached: false };
  }
  if (ids.length) return deny(ids.map((id) => reasonOf('forbidden', set.policies.get(id), id)), ids, errors);
  const reasons = errors.length ? [defaultDeny, `${errors.length} ${errors.length === 1 ? 'policy' : 'policies'} could not be evaluated and did not count`] : [defaultDeny];
  return deny(reasons, NONE, errors);
}
