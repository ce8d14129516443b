/**
 * The Kubernetes ValidatingAdmissionWebhook decision: an admission.k8s.io/v1 AdmissionReview in,
 * an AdmissionReview response out. Pods, and pod templates of workloads (Deployment, ReplicaSet,
 * StatefulSet, DaemonSet, Job, CronJob, ReplicationController), that carry
 *
 *   perimeter.dev/model-digest: sha256:<hex>[,sha256:<hex>...]           (the whole pod)
 *   perimeter.dev/model-digest.<container>: sha256:<hex>                 (one container)
 *
 * are allowed only when every digest is admitted, now, for the environment of the namespace
 * (admission.namespaces, else admission.default_env): the admission pipeline runs and records
 * its decision. The pod cannot choose its environment. Pods without the annotation are
 * "unmanaged": allowed with a warning, or denied where `unannotated_pods: deny`.
 *
 * A malformed review throws PERIM_E_REVIEW_MALFORMED (the server answers 400); an error while
 * deciding denies (fail closed) with the error code in the message. Dry-run requests are decided
 * but not recorded (so the webhook can declare sideEffects: NoneOnDryRun).
 */
import { PerimeterError, asPerimeterError } from '../errors/errors.ts';
import type { LoadedConfig } from '../config/load.ts';
import { environmentOfNamespace, environmentSettings } from '../config/environments.ts';
import { DIGEST } from '../config/schema.ts';
import type { AdmitRequest, Decision } from './admit.ts';

export const DIGEST_ANNOTATION = 'perimeter.dev/model-digest';
const MAX_MESSAGE = 2000;

export interface WebhookDeps {
  config: LoadedConfig;
  /** The admission pipeline (admit() bound to a store, sink and config). */
  admit: (req: AdmitRequest, actor: string) => Promise<Decision>;
}

export interface ReviewResponse {
  apiVersion: 'admission.k8s.io/v1';
  kind: 'AdmissionReview';
  response: {
    uid: string;
    allowed: boolean;
    status?: { code: number; reason?: string; message: string };
    warnings?: string[];
    auditAnnotations?: Record<string, string>;
  };
}

interface ParsedReview {
  uid: string;
  kind: string;
  operation: string;
  namespace: string | undefined;
  name: string;
  dryRun: boolean;
  /** Pod metadata and spec, or undefined when the object is not a pod-bearing kind. */
  pod: { annotations: Record<string, string>; containers: string[] } | undefined;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const malformed = (why: string): never => {
  throw new PerimeterError('PERIM_E_REVIEW_MALFORMED', `malformed AdmissionReview: ${why}`);
};

const TEMPLATE_PATHS: Record<string, string[]> = {
  Pod: [],
  Deployment: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  Job: ['spec', 'template'],
  ReplicationController: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
};

export function parseReview(body: unknown): ParsedReview {
  if (!isObj(body)) malformed('the body is not a JSON object');
  const b = body as Record<string, unknown>;
  if (b.kind !== 'AdmissionReview') malformed('kind is not AdmissionReview');
  if (b.apiVersion !== 'admission.k8s.io/v1') malformed(`apiVersion ${JSON.stringify(b.apiVersion)} is not admission.k8s.io/v1 (set admissionReviewVersions: ["v1"])`);
  const r = b.request;
  if (!isObj(r)) malformed('request is missing');
  const req = r as Record<string, unknown>;
  if (typeof req.uid !== 'string' || req.uid.length === 0 || req.uid.length > 128) malformed('request.uid is missing');
  if (!isObj(req.kind) || typeof req.kind.kind !== 'string') malformed('request.kind.kind is missing');
  if (typeof req.operation !== 'string') malformed('request.operation is missing');
  if (req.namespace !== undefined && typeof req.namespace !== 'string') malformed('request.namespace is not a string');
  const kind = (req.kind as { kind: string }).kind;
  const operation = req.operation as string;
  const object = req.object;
  let name = typeof req.name === 'string' ? req.name : '';
  let pod: ParsedReview['pod'];
  const path = Object.hasOwn(TEMPLATE_PATHS, kind) ? TEMPLATE_PATHS[kind]! : undefined;
  if (path && (operation === 'CREATE' || operation === 'UPDATE')) {
    if (!isObj(object)) malformed('request.object is missing');
    const meta = (object as Record<string, unknown>).metadata;
    if (!name && isObj(meta)) name = typeof meta.name === 'string' ? meta.name : typeof meta.generateName === 'string' ? `${meta.generateName}*` : '';
    let template: unknown = object;
    for (const k of path) template = isObj(template) ? template[k] : undefined;
    if (!isObj(template)) malformed(`request.object.${path.join('.')} is missing`);
    pod = podOf(template as Record<string, unknown>, path.length ? `request.object.${path.join('.')}` : 'request.object');
  }
  return { uid: req.uid as string, kind, operation, namespace: req.namespace as string | undefined, name, dryRun: req.dryRun === true, pod };
}

function podOf(t: Record<string, unknown>, where: string): { annotations: Record<string, string>; containers: string[] } {
  const annotations: Record<string, string> = {};
  const meta = t.metadata;
  if (meta !== undefined && meta !== null) {
    if (!isObj(meta)) malformed(`${where}.metadata is not an object`);
    const a = (meta as Record<string, unknown>).annotations;
    if (a !== undefined && a !== null) {
      if (!isObj(a)) malformed(`${where}.metadata.annotations is not an object`);
      for (const [k, v] of Object.entries(a as Record<string, unknown>)) {
        if (typeof v !== 'string') malformed(`annotation ${k} is not a string`);
        annotations[k] = v as string;
      }
    }
  }
  if (!isObj(t.spec)) malformed(`${where}.spec is missing`);
  const spec = t.spec as Record<string, unknown>;
  const containers: string[] = [];
  for (const list of ['containers', 'initContainers', 'ephemeralContainers']) {
    const cs = spec[list];
    if (cs === undefined || cs === null) continue;
    if (!Array.isArray(cs)) malformed(`${where}.spec.${list} is not a list`);
    for (const c of cs as unknown[]) {
      if (!isObj(c) || typeof c.name !== 'string') malformed(`a container in ${where}.spec.${list} has no name`);
      containers.push((c as { name: string }).name);
    }
  }
  return { annotations, containers };
}

/** Decides one review. Throws PERIM_E_REVIEW_MALFORMED for a malformed body. */
export async function reviewAdmission(body: unknown, deps: WebhookDeps): Promise<ReviewResponse> {
  const review = parseReview(body);
  const env = environmentOfNamespace(deps.config, review.namespace);
  const reply = (allowed: boolean, message: string, extra: Partial<ReviewResponse['response']> = {}): ReviewResponse => ({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    response: {
      uid: review.uid,
      allowed,
      ...(allowed ? {} : { status: { code: 403, reason: 'Forbidden', message: clip(message) } }),
      ...extra,
      auditAnnotations: { environment: env, decision: allowed ? 'allow' : 'deny', ...extra.auditAnnotations },
    },
  });
  if (!review.pod) return reply(true, `perimeter: ${review.operation} ${review.kind} is not checked`);

  const subject = `${review.kind} ${review.namespace ?? ''}/${review.name}`;
  const wanted = digestsWanted(review.pod);
  if ('error' in wanted) return reply(false, `perimeter: ${subject}: ${wanted.error}`);
  if (wanted.list.length === 0) {
    const settings = environmentSettings(deps.config, env);
    const msg = `perimeter: ${subject} carries no ${DIGEST_ANNOTATION} annotation; it is unmanaged (environment ${env})`;
    if (settings.unannotatedPods === 'deny') return reply(false, `${msg}, and unannotated pods are denied there`);
    return reply(true, msg, { warnings: [msg] });
  }

  const denials: string[] = [];
  const ids: number[] = [];
  for (const { digest, containers } of wanted.list) {
    const who = containers.length ? `container${containers.length > 1 ? 's' : ''} ${containers.join(', ')}` : 'pod';
    try {
      const d = await deps.admit(
        { digest, env, dryRun: review.dryRun, context: { namespace: review.namespace, name: review.name, kind: review.kind, uid: review.uid, containers, source: 'webhook' } },
        `webhook:${review.namespace ?? ''}/${review.name}`,
      );
      ids.push(d.id);
      if (!d.allowed) {
        const failed = d.reasons.filter((r) => r.status === 'fail').map((r) => `${r.check}: ${r.message}`);
        denials.push(`model ${digest} (${who}) is not admitted for environment ${env}: ${failed.join('; ')}`);
      }
    } catch (e) {
      const err = asPerimeterError(e);
      const detail = err.code === 'PERIM_E_INTERNAL' ? 'internal error' : err.message;
      denials.push(`could not decide on model ${digest} (${who}), failing closed: [${err.code}] ${detail}`);
    }
  }
  const audit = { auditAnnotations: { 'decision-ids': ids.join(',') } };
  if (denials.length > 0) return reply(false, `perimeter: ${subject} denied: ${denials.join(' | ')}`, audit);
  return reply(true, `perimeter: ${wanted.list.length} model(s) admitted for environment ${env}`, audit);
}

/** Digest → the containers it was named for (empty: the whole pod). */
function digestsWanted(pod: { annotations: Record<string, string>; containers: string[] }): { list: { digest: string; containers: string[] }[] } | { error: string } {
  const byDigest = new Map<string, string[]>();
  for (const [key, value] of Object.entries(pod.annotations)) {
    let container: string | undefined;
    if (key === DIGEST_ANNOTATION) container = undefined;
    else if (key.startsWith(`${DIGEST_ANNOTATION}.`)) {
      container = key.slice(DIGEST_ANNOTATION.length + 1);
      if (!pod.containers.includes(container)) return { error: `annotation ${key} names container "${container}", which this pod does not have` };
    } else continue;
    const digests = value.split(',').map((s) => s.trim()).filter(Boolean);
    if (digests.length === 0) return { error: `annotation ${key} is empty` };
    for (const d of digests) {
      if (!DIGEST.test(d)) return { error: `annotation ${key} holds "${d.slice(0, 80)}", not a digest (sha256:<64 hex>)` };
      const list = byDigest.get(d) ?? [];
      if (container !== undefined && !list.includes(container)) list.push(container);
      byDigest.set(d, list);
    }
  }
  return { list: [...byDigest].map(([digest, containers]) => ({ digest, containers })) };
}

function clip(s: string): string {
  return s.length > MAX_MESSAGE ? `${s.slice(0, MAX_MESSAGE - 1)}…` : s;
}
