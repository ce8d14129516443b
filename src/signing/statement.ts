/**
 * The in-toto statement that OMS signs: building it from a manifest (spec form, reproducible
 * bytes), and reading it back from a verified payload with every check failing closed.
 */
import { PerimeterError, type ErrorCode } from '../errors/errors.ts';
import {
  HASH_ALGORITHMS,
  assertSafeRelativePath,
  parseShardName,
  rootDigestHex,
  type HashAlgorithm,
  type Manifest,
  type Resource,
  type Serialization,
} from '../artifact/manifest.ts';

export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const PREDICATE_TYPE = 'https://model_signing/signature/v1.0';
/** model_signing v0.2.0 wrote this predicate; the files were the subjects. */
export const PREDICATE_TYPE_V01 = 'https://model_signing/Digests/v0.1';
const MAX_RESOURCES = 1_000_000;

/** Serializes the statement. Same manifest in, same bytes out (key order fixed, no whitespace). */
export function statementBytes(manifest: Manifest): Buffer {
  const statement = {
    _type: STATEMENT_TYPE,
    subject: [{ name: manifest.modelName, digest: { sha256: manifest.rootDigest.replace(/^sha256:/, '') } }],
    predicateType: PREDICATE_TYPE,
    predicate: {
      serialization: manifest.serialization,
      resources: manifest.resources.map((r) => ({ name: r.name, algorithm: r.algorithm, digest: r.digest })),
    },
  };
  return Buffer.from(JSON.stringify(statement), 'utf8');
}

/** What a signed statement says the model is. Resources keep the order the bundle lists them in. */
export interface SignedManifest {
  modelName: string;
  serialization: Serialization;
  resources: Resource[];
  /** `sha256:<hex>` from the subject (recomputed for v0.1 statements, which have none). */
  signedRootDigest: string;
  predicateType: string;
}

function fail(code: ErrorCode, message: string): never {
  throw new PerimeterError(code, message);
}
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const HEX = /^[0-9a-f]+$/;
const DIGEST_BYTES: Record<HashAlgorithm, number> = { sha256: 32, blake2b: 64, blake3: 32 };

export function parseStatement(payload: Buffer): SignedManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(payload.toString('utf8'));
  } catch (e) {
    throw new PerimeterError('PERIM_E_STATEMENT_MALFORMED', 'the signed payload is not JSON', { cause: e });
  }
  if (!isObject(doc)) fail('PERIM_E_STATEMENT_MALFORMED', 'the signed payload is not a JSON object');
  if (doc._type !== STATEMENT_TYPE) fail('PERIM_E_STATEMENT_MALFORMED', `statement _type is ${JSON.stringify(doc._type)}, expected ${STATEMENT_TYPE}`);
  if (!Array.isArray(doc.subject) || doc.subject.length === 0) fail('PERIM_E_STATEMENT_MALFORMED', 'statement has no subject');
  if (doc.predicateType === PREDICATE_TYPE_V01) return parseV01(doc.subject);
  if (doc.predicateType !== PREDICATE_TYPE) fail('PERIM_E_PREDICATE_TYPE', `predicateType is ${JSON.stringify(doc.predicateType)}, expected ${PREDICATE_TYPE}`);
  if (doc.subject.length !== 1) fail('PERIM_E_STATEMENT_MALFORMED', `statement has ${doc.subject.length} subjects, expected exactly one`);
  const subject = doc.subject[0] as unknown;
  if (!isObject(subject) || !isObject(subject.digest)) fail('PERIM_E_STATEMENT_MALFORMED', 'statement subject has no digest');
  const root = subject.digest.sha256;
  if (typeof root !== 'string' || root.length !== 64 || !HEX.test(root)) fail('PERIM_E_STATEMENT_MALFORMED', 'statement subject has no sha256 digest');
  const modelName = typeof subject.name === 'string' && subject.name.length > 0 ? subject.name : 'model';
  const predicate = doc.predicate;
  if (!isObject(predicate)) fail('PERIM_E_STATEMENT_MALFORMED', 'statement has no predicate');
  const serialization = parseSerialization(predicate.serialization);
  if (!Array.isArray(predicate.resources)) fail('PERIM_E_STATEMENT_MALFORMED', 'predicate has no resources list');
  if (predicate.resources.length === 0) fail('PERIM_E_RESOURCES_EMPTY', 'predicate lists no resources');
  if (predicate.resources.length > MAX_RESOURCES) fail('PERIM_E_STATEMENT_MALFORMED', `predicate lists more than ${MAX_RESOURCES} resources`);
  const resources = predicate.resources.map((r: unknown) => parseResource(r, serialization));
  checkUniqueNames(resources);
  const computed = rootDigestHex(resources);
  if (computed !== root) {
    fail('PERIM_E_ROOT_DIGEST_MISMATCH', `subject digest ${root} is not the sha256 over the listed resource digests (${computed})`);
  }
  return { modelName, serialization, resources, signedRootDigest: `sha256:${root}`, predicateType: PREDICATE_TYPE };
}

function parseSerialization(s: unknown): Serialization {
  if (!isObject(s)) fail('PERIM_E_STATEMENT_MALFORMED', 'predicate has no serialization');
  const { method, hash_type } = s;
  if (method !== 'files' && method !== 'shards') fail('PERIM_E_SERIALIZATION_UNSUPPORTED', `serialization method ${JSON.stringify(method)} is not files or shards`);
  if (typeof hash_type !== 'string' || !(HASH_ALGORITHMS as readonly string[]).includes(hash_type)) {
    fail('PERIM_E_SERIALIZATION_UNSUPPORTED', `hash_type ${JSON.stringify(hash_type)} is not one of ${HASH_ALGORITHMS.join(', ')}`);
  }
  // The reference tool once wrote booleans as strings; accept "true"/"false" too.
  const allow = s.allow_symlinks === true || s.allow_symlinks === 'true' ? true : s.allow_symlinks === false || s.allow_symlinks === 'false' ? false : undefined;
  if (allow === undefined) fail('PERIM_E_STATEMENT_MALFORMED', 'serialization.allow_symlinks is not a boolean');
  const out: Serialization = { method, hash_type: hash_type as HashAlgorithm, allow_symlinks: allow };
  if (method === 'shards') {
    // Older reference releases wrote shard_size as a float (1000000000.0); JSON reads that as a number.
    const size = s.shard_size;
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size <= 0) fail('PERIM_E_STATEMENT_MALFORMED', 'serialization.shard_size is not a positive whole number');
    out.shard_size = size;
  }
  if (s.ignore_paths !== undefined) {
    if (!Array.isArray(s.ignore_paths) || s.ignore_paths.some((p) => typeof p !== 'string')) fail('PERIM_E_STATEMENT_MALFORMED', 'serialization.ignore_paths is not a list of strings');
    out.ignore_paths = s.ignore_paths as string[];
  }
  return out;
}

function parseResource(r: unknown, ser: Serialization): Resource {
  if (!isObject(r) || typeof r.name !== 'string' || typeof r.digest !== 'string' || typeof r.algorithm !== 'string') {
    fail('PERIM_E_STATEMENT_MALFORMED', 'a resource lacks name, digest or algorithm');
  }
  const { name, digest, algorithm } = r;
  // Spec: algorithm equals hash_type. Reference shards: "<hash>-sharded-<shard_size>".
  const okAlgorithm = algorithm === ser.hash_type || (ser.method === 'shards' && algorithm === `${ser.hash_type}-sharded-${ser.shard_size}`);
  if (!okAlgorithm) fail('PERIM_E_STATEMENT_MALFORMED', `resource ${name} uses algorithm ${algorithm}, but serialization says ${ser.hash_type}`);
  if (!HEX.test(digest) || digest.length !== DIGEST_BYTES[ser.hash_type] * 2) fail('PERIM_E_STATEMENT_MALFORMED', `resource ${name} has a malformed ${ser.hash_type} digest`);
  if (ser.method === 'shards') assertSafeRelativePath(parseShardName(name).path);
  else assertSafeRelativePath(name);
  return { name, digest, algorithm };
}

function checkUniqueNames(resources: Resource[]): void {
  const seen = new Set<string>();
  for (const r of resources) {
    if (seen.has(r.name)) fail('PERIM_E_STATEMENT_MALFORMED', `resource ${r.name} is listed twice`);
    seen.add(r.name);
  }
}

function parseV01(subjects: unknown[]): SignedManifest {
  const serialization: Serialization = { method: 'files', hash_type: 'sha256', allow_symlinks: false };
  const resources = subjects.map((s): Resource => {
    if (!isObject(s) || typeof s.name !== 'string' || !isObject(s.digest) || typeof s.digest.sha256 !== 'string') {
      fail('PERIM_E_STATEMENT_MALFORMED', 'a v0.1 subject lacks name or sha256 digest');
    }
    return parseResource({ name: s.name, digest: s.digest.sha256, algorithm: 'sha256' }, serialization);
  });
  checkUniqueNames(resources);
  return { modelName: 'model', serialization, resources, signedRootDigest: `sha256:${rootDigestHex(resources)}`, predicateType: PREDICATE_TYPE_V01 };
}
