/**
 * Matching what a runtime serves to a registered artifact, by content only (never by name):
 *
 * - a weights file's sha256 (an Ollama blob): the artifact whose metadata records that
 *   `file_sha256`, or the artifact whose root digest is the OMS root over that one file (a
 *   single-file model hashed with sha256 has root digest sha256(file digest));
 * - a local path (vLLM root, llama.cpp model_path): hash it as registration does (hashModel) and
 *   look the root digest up. Hashes are cached by a fingerprint of names, sizes and mtimes, so a
 *   periodic sync does not re-read unchanged weights.
 */
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { hashModel } from '../artifact/hash.ts';
import { rootDigestHex } from '../artifact/manifest.ts';
import { walkModel } from '../artifact/walk.ts';
import { asPerimeterError } from '../errors/errors.ts';
import { defaultSignaturePath } from '../signing/model.ts';
import type { Store } from '../store/store.ts';

export interface Match {
  /** What the runtime serves, as a digest: `sha256:<blob hex>` or the root digest of the path. */
  servedDigest?: string;
  /** The registered artifact it is. */
  artifactDigest?: string;
  /** How it matched, for people. */
  how?: string;
  /** Why it could not be identified or matched. */
  problem?: string;
}

export interface HashCache {
  path: string;
  fingerprint: string;
  digest: string;
  fileSha256?: string;
}

/** The OMS root digest of a one-file model whose file has this sha256. */
export const singleFileRootDigest = (fileSha256Hex: string): string => `sha256:${rootDigestHex([{ digest: fileSha256Hex }])}`;

export async function matchFileSha256(store: Store, hex: string): Promise<Match> {
  const servedDigest = `sha256:${hex}`;
  const root = singleFileRootDigest(hex);
  const byRoot = await store.db.selectFrom('artifacts').select('digest').where('digest', '=', root).executeTakeFirst();
  if (byRoot) return { servedDigest, artifactDigest: byRoot.digest, how: 'the file is the whole artifact (OMS root over its sha256)' };
  const rows = await store.db.selectFrom('artifacts').select(['digest', 'metadata']).where('metadata', 'like', `%${hex}%`).execute();
  for (const r of rows) {
    let m: unknown;
    try {
      m = JSON.parse(r.metadata);
    } catch {
      continue;
    }
    const f = (m as { file_sha256?: unknown } | null)?.file_sha256;
    if (f === hex || f === servedDigest) return { servedDigest, artifactDigest: r.digest, how: 'recorded file_sha256' };
  }
  return { servedDigest, problem: `weights file ${servedDigest} matches no registered artifact` };
}

export async function matchPath(store: Store, path: string, previous?: HashCache): Promise<{ match: Match; cache?: HashCache }> {
  let fingerprint: string;
  try {
    fingerprint = fingerprintOf(path);
  } catch (e) {
    const err = asPerimeterError(e);
    return { match: { problem: `cannot read ${path} from here (${err.code}); register it where it is readable, or bind it with perimeter runtime bind` } };
  }
  let cache: HashCache;
  if (previous && previous.path === path && previous.fingerprint === fingerprint) cache = previous;
  else {
    try {
      const r = await hashModel(path, { signaturePath: defaultSignaturePath(path) });
      cache = { path, fingerprint, digest: r.manifest.rootDigest, ...(r.walk.singleFile ? { fileSha256: r.manifest.resources[0]!.digest } : {}) };
    } catch (e) {
      const err = asPerimeterError(e);
      return { match: { problem: `cannot hash ${path}: [${err.code}] ${err.message}` } };
    }
  }
  const known = await store.db.selectFrom('artifacts').select('digest').where('digest', '=', cache.digest).executeTakeFirst();
  if (known) return { match: { servedDigest: cache.digest, artifactDigest: known.digest, how: `files at ${path} hash to it` }, cache };
  if (cache.fileSha256) {
    const byFile = await matchFileSha256(store, cache.fileSha256);
    if (byFile.artifactDigest) return { match: { servedDigest: cache.digest, artifactDigest: byFile.artifactDigest, how: byFile.how! }, cache };
  }
  return { match: { servedDigest: cache.digest, problem: `files at ${path} hash to ${cache.digest}, which matches no registered artifact` }, cache };
}

/** Names, sizes, mtimes and inodes of the files hashModel would read: cheap, and changes when they do. */
function fingerprintOf(path: string): string {
  const walk = walkModel(path, { signaturePath: defaultSignaturePath(path) });
  const h = createHash('sha256');
  for (const f of walk.files) {
    const s = statSync(f.absPath, { bigint: true });
    h.update(`${f.name}\0${s.size}\0${s.mtimeNs}\0${s.ino}\n`);
  }
  return h.digest('hex');
}
