/**
 * hashModel: walk a model, hash its files (or shards of them) in parallel, return the manifest.
 */
import { PerimeterError } from '../errors/errors.ts';
import { runHashTasks } from './pool.ts';
import type { RangeTask } from './hash-range.ts';
import {
  DEFAULT_SHARD_SIZE,
  HASH_ALGORITHMS,
  buildManifest,
  shardName,
  type HashAlgorithm,
  type Manifest,
  type Resource,
  type Serialization,
  type SerializationMethod,
} from './manifest.ts';
import { walkModel, type ModelFile, type ModelWalk, type WalkOptions } from './walk.ts';

export interface HashOptions extends WalkOptions {
  method?: SerializationMethod;
  hashAlgorithm?: HashAlgorithm;
  shardSize?: number;
  /** Only hash these resource file names (verification with --ignore-unsigned-files). */
  onlyFiles?: ReadonlySet<string>;
  workers?: number;
  /** Hash on the calling thread below this many bytes (default 64 MiB); 0 forces workers. */
  inlineBelowBytes?: number;
  /** Called with (bytesDone, bytesTotal) as hashing proceeds. */
  onProgress?: (done: number, total: number) => void;
}

export interface HashResult {
  manifest: Manifest;
  walk: ModelWalk;
  bytes: number;
}

export function checkHashOptions(o: HashOptions): { method: SerializationMethod; algorithm: HashAlgorithm; shardSize: number } {
  const method = o.method ?? 'files';
  const algorithm = o.hashAlgorithm ?? 'sha256';
  const shardSize = o.shardSize ?? DEFAULT_SHARD_SIZE;
  if (method !== 'files' && method !== 'shards') throw new PerimeterError('PERIM_E_USAGE', `unknown method "${method}" (files or shards)`);
  if (!HASH_ALGORITHMS.includes(algorithm)) throw new PerimeterError('PERIM_E_USAGE', `unknown hash "${algorithm}" (${HASH_ALGORITHMS.join(', ')})`);
  if (!Number.isSafeInteger(shardSize) || shardSize <= 0) throw new PerimeterError('PERIM_E_USAGE', `shard size must be a positive whole number of bytes, got ${shardSize}`);
  return { method, algorithm, shardSize };
}

interface Unit {
  task: RangeTask;
  name: string;
}

function planUnits(files: ModelFile[], method: SerializationMethod, algorithm: HashAlgorithm, shardSize: number): Unit[] {
  const units: Unit[] = [];
  let id = 0;
  for (const f of files) {
    if (method === 'files') {
      units.push({ name: f.name, task: { id: id++, path: f.absPath, start: 0, end: -1, algorithm, expectedSize: f.size } });
      continue;
    }
    // Shards: fixed-size ranges, the last one shorter; empty files have no shard (OMS §6.3.2).
    for (let start = 0; start < f.size; start += shardSize) {
      const end = Math.min(start + shardSize, f.size);
      units.push({ name: shardName(f.name, start, end), task: { id: id++, path: f.absPath, start, end, algorithm, expectedSize: f.size } });
    }
  }
  return units;
}

export async function hashModel(modelPath: string, options: HashOptions = {}): Promise<HashResult> {
  const { method, algorithm, shardSize } = checkHashOptions(options);
  const walk = walkModel(modelPath, options);
  const files = options.onlyFiles ? walk.files.filter((f) => options.onlyFiles!.has(f.name)) : walk.files;
  const units = planUnits(files, method, algorithm, shardSize);
  const total = units.reduce((s, u) => s + (u.task.end < 0 ? u.task.expectedSize : u.task.end - u.task.start), 0);
  let done = 0;
  const digests = await runHashTasks(
    units.map((u) => u.task),
    {
      workers: options.workers,
      inlineBelowBytes: options.inlineBelowBytes,
      onBytes: options.onProgress
        ? (n) => {
            done += n;
            options.onProgress!(done, total);
          }
        : undefined,
    },
  );
  const resources: Resource[] = units.map((u) => ({ name: u.name, algorithm, digest: digests.get(u.task.id)! }));
  const serialization: Serialization = { method, hash_type: algorithm, allow_symlinks: options.allowSymlinks ?? false };
  if (method === 'shards') serialization.shard_size = shardSize;
  if (walk.ignored.length > 0) serialization.ignore_paths = walk.ignored;
  // Key order of `serialization` is fixed by the object literal above, so statements are reproducible.
  const ordered: Serialization = {
    method: serialization.method,
    hash_type: serialization.hash_type,
    ...(serialization.shard_size !== undefined ? { shard_size: serialization.shard_size } : {}),
    allow_symlinks: serialization.allow_symlinks,
    ...(serialization.ignore_paths ? { ignore_paths: serialization.ignore_paths } : {}),
  };
  if (resources.length === 0) {
    throw new PerimeterError('PERIM_E_MODEL_EMPTY', `model ${modelPath} has no bytes to hash (only empty files under the shards method)`);
  }
  return { manifest: buildManifest(walk.modelName, ordered, resources), walk, bytes: total };
}
