/**
 * The OMS manifest: resources (file or shard -> digest), the serialization that produced them,
 * and the root digest, sha256 over the concatenated resource digests in order.
 */
import { createHash } from 'node:crypto';
import { PerimeterError } from '../errors/errors.ts';

export const HASH_ALGORITHMS = ['sha256', 'blake2b', 'blake3'] as const;
export type HashAlgorithm = (typeof HASH_ALGORITHMS)[number];
export type SerializationMethod = 'files' | 'shards';
export const DEFAULT_SHARD_SIZE = 1_000_000_000;
/** Excluded at the model root by default (OMS §6.2). */
export const DEFAULT_GIT_IGNORES = ['.git', '.gitattributes', '.github', '.gitignore'] as const;

export interface Serialization {
  method: SerializationMethod;
  hash_type: HashAlgorithm;
  shard_size?: number;
  allow_symlinks: boolean;
  ignore_paths?: string[];
}

export interface Resource {
  /** Relative POSIX path ("files"), or "path:start:end" ("shards"). */
  name: string;
  algorithm: string;
  digest: string; // lowercase hex
}

export interface Manifest {
  /** Informational: the basename of the model path. */
  modelName: string;
  serialization: Serialization;
  resources: Resource[];
  /** `sha256:<hex>`: the identity of the artifact everywhere in Perimeter. */
  rootDigest: string;
}

/** Compares by Unicode code point, as the OMS spec orders resource names (JS `<` compares UTF-16 units). */
export function compareCodePoints(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done || y.done) return x.done && y.done ? 0 : x.done ? -1 : 1;
    const cx = x.value.codePointAt(0)!;
    const cy = y.value.codePointAt(0)!;
    if (cx !== cy) return cx - cy;
  }
}

/** sha256 over the raw bytes of each resource digest, in the order given. Returns bare hex. */
export function rootDigestHex(resources: readonly Pick<Resource, 'digest'>[]): string {
  const h = createHash('sha256');
  for (const r of resources) h.update(Buffer.from(r.digest, 'hex'));
  return h.digest('hex');
}

export function buildManifest(modelName: string, serialization: Serialization, unsorted: Resource[]): Manifest {
  const resources = [...unsorted].sort((a, b) => compareCodePoints(a.name, b.name));
  return { modelName, serialization, resources, rootDigest: `sha256:${rootDigestHex(resources)}` };
}

export function shardName(path: string, start: number, end: number): string {
  return `${path}:${start}:${end}`;
}

/** Splits "path:start:end" on the last two colons (file names may contain colons). */
export function parseShardName(name: string): { path: string; start: number; end: number } {
  const m = /^(.*):(0|[1-9][0-9]*):(0|[1-9][0-9]*)$/s.exec(name);
  if (!m || m[1] === undefined || m[1] === '') {
    throw new PerimeterError('PERIM_E_RESOURCE_NAME_UNSAFE', `shard resource name "${name}" is not "path:start:end"`);
  }
  const start = Number(m[2]);
  const end = Number(m[3]);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end <= start) {
    throw new PerimeterError('PERIM_E_RESOURCE_NAME_UNSAFE', `shard resource "${name}" has an empty or invalid byte range`);
  }
  return { path: m[1], start, end };
}

/**
 * Refuses names a hostile manifest could use to reach outside the model: absolute paths,
 * "..", backslashes, empty or "." components (except "." alone, which the reference tool wrote
 * for single-file models), NUL and trailing slashes.
 */
export function assertSafeRelativePath(name: string, what = 'resource name'): void {
  const bad = (why: string): never => {
    throw new PerimeterError('PERIM_E_RESOURCE_NAME_UNSAFE', `${what} "${name}" is unsafe: ${why}`);
  };
  if (name === '.') return;
  if (name.length === 0) bad('empty');
  if (name.includes('\\')) bad('contains a backslash');
  if (name.includes('\0')) bad('contains NUL');
  if (name.startsWith('/') || /^[A-Za-z]:\//.test(name)) bad('absolute path');
  for (const part of name.split('/')) {
    if (part === '..') bad('parent traversal');
    if (part === '' || part === '.') bad('not canonical');
  }
}
