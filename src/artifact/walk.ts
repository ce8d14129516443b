/**
 * The OMS model walk (spec §6.1-6.2): every regular file under the model root, named by its
 * POSIX path relative to the root, minus the default git entries at the root, the user's ignore
 * paths (exact relative paths and their subtrees) and the signature file. Symlinks are refused
 * unless allowed; even then a link that leaves the root or loops is an error.
 */
import { lstatSync, readdirSync, realpathSync, statSync, type Stats } from 'node:fs';
import { basename, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { PerimeterError } from '../errors/errors.ts';
import { DEFAULT_GIT_IGNORES, assertSafeRelativePath, compareCodePoints } from './manifest.ts';

export interface WalkOptions {
  /** Paths relative to the model root (POSIX) to leave out, with their subtrees. */
  ignorePaths?: readonly string[];
  /** Leave out .git, .gitattributes, .github, .gitignore at the root (default true). */
  ignoreGitPaths?: boolean;
  allowSymlinks?: boolean;
  /** The signature file; left out when it lies inside the model. */
  signaturePath?: string;
  /** Limit on the number of files, against hostile trees (default 1,000,000). */
  maxFiles?: number;
}

export interface ModelFile {
  /** Relative POSIX path; for a single-file model, its basename. */
  name: string;
  /** Absolute path to read (the symlink's target when symlinks are allowed). */
  absPath: string;
  size: number;
}

export interface ModelWalk {
  root: string;
  modelName: string;
  singleFile: boolean;
  files: ModelFile[];
  /** Relative ignore entries that were applied (defaults, user, signature), sorted. */
  ignored: string[];
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function walkModel(modelPath: string, options: WalkOptions = {}): ModelWalk {
  const root = resolve(modelPath);
  const allowSymlinks = options.allowSymlinks ?? false;
  const maxFiles = options.maxFiles ?? 1_000_000;
  let top: Stats;
  try {
    top = lstatSync(root);
  } catch (e) {
    throw new PerimeterError('PERIM_E_MODEL_NOT_FOUND', `model path ${modelPath} does not exist or cannot be read`, { cause: e });
  }
  const modelName = basename(root);
  if (top.isSymbolicLink() && !allowSymlinks) {
    throw new PerimeterError('PERIM_E_SYMLINK_REFUSED', `model path ${modelPath} is a symbolic link (use --allow-symlinks)`);
  }
  const st = top.isSymbolicLink() ? statSync(root) : top;
  if (st.isFile()) {
    return { root, modelName, singleFile: true, files: [{ name: modelName, absPath: root, size: st.size }], ignored: [] };
  }
  if (!st.isDirectory()) {
    throw new PerimeterError('PERIM_E_SPECIAL_FILE', `model path ${modelPath} is neither a file nor a folder`);
  }

  const ignored = new Set<string>();
  if (options.ignoreGitPaths ?? true) for (const g of DEFAULT_GIT_IGNORES) ignored.add(g);
  for (const p of options.ignorePaths ?? []) {
    const norm = normalizeIgnorePath(p);
    if (norm !== undefined) ignored.add(norm);
  }
  if (options.signaturePath !== undefined) {
    const rel = relative(root, resolve(options.signaturePath));
    if (rel !== '' && !rel.startsWith('..') && !isAbsolute(rel)) ignored.add(rel.split(sep).join('/'));
  }
  const isIgnored = (rel: string): boolean => {
    for (const i of ignored) if (rel === i || rel.startsWith(i + '/')) return true;
    return false;
  };

  const realRoot = realpathSync(root);
  const files: ModelFile[] = [];
  // Depth-first, with the chain of real directory paths above us to catch symlink cycles.
  const visit = (dirAbs: string, dirRel: string, ancestors: Set<string>): void => {
    let names: Buffer[];
    try {
      names = readdirSync(dirAbs, { encoding: 'buffer' });
    } catch (e) {
      throw new PerimeterError('PERIM_E_IO', `cannot list ${dirAbs}`, { cause: e });
    }
    for (const raw of names) {
      let name: string;
      try {
        name = utf8.decode(raw);
      } catch (e) {
        throw new PerimeterError('PERIM_E_PATH_ENCODING', `a file name in ${dirAbs || '.'} is not valid UTF-8`, { cause: e });
      }
      const rel = dirRel === '' ? name : `${dirRel}/${name}`;
      if (isIgnored(rel)) continue;
      const abs = join(dirAbs, name);
      let s = lstatSync(abs);
      let target = abs;
      if (s.isSymbolicLink()) {
        if (!allowSymlinks) {
          throw new PerimeterError('PERIM_E_SYMLINK_REFUSED', `${rel} is a symbolic link (use --allow-symlinks to follow links inside the model)`, { details: { path: rel } });
        }
        try {
          target = realpathSync(abs);
        } catch (e) {
          const loop = (e as NodeJS.ErrnoException).code === 'ELOOP';
          throw new PerimeterError(loop ? 'PERIM_E_SYMLINK_CYCLE' : 'PERIM_E_IO', `${rel} is a ${loop ? 'looping' : 'dangling'} symbolic link`, { cause: e, details: { path: rel } });
        }
        if (target !== realRoot && !target.startsWith(realRoot + sep)) {
          throw new PerimeterError('PERIM_E_SYMLINK_ESCAPES', `${rel} links outside the model root`, { details: { path: rel } });
        }
        s = statSync(target);
      }
      if (s.isDirectory()) {
        const real = realpathSync(target);
        if (ancestors.has(real)) {
          throw new PerimeterError('PERIM_E_SYMLINK_CYCLE', `${rel} links back to a folder above it`, { details: { path: rel } });
        }
        const next = new Set(ancestors).add(real);
        visit(target, rel, next);
      } else if (s.isFile()) {
        if (files.length >= maxFiles) {
          throw new PerimeterError('PERIM_E_IO', `the model has more than ${maxFiles} files`);
        }
        files.push({ name: rel, absPath: target, size: s.size });
      } else {
        throw new PerimeterError('PERIM_E_SPECIAL_FILE', `${rel} is not a regular file (device, socket or FIFO)`, { details: { path: rel } });
      }
    }
  };
  visit(root, '', new Set([realRoot]));
  if (files.length === 0) {
    throw new PerimeterError('PERIM_E_MODEL_EMPTY', `model ${modelPath} has no files to hash after exclusions`);
  }
  files.sort((a, b) => compareCodePoints(a.name, b.name));
  return { root, modelName, singleFile: false, files, ignored: [...ignored].sort(compareCodePoints) };
}

/** Canonicalizes a model-relative ignore entry; undefined for entries that name the root itself. */
export function normalizeIgnorePath(p: string): string | undefined {
  const parts = p.split('/').filter((x) => x !== '' && x !== '.');
  if (parts.length === 0) return undefined;
  const norm = parts.join('/');
  assertSafeRelativePath(norm, 'ignore path');
  return norm;
}

/**
 * Ignore paths as the reference CLI takes them: absolute, or relative to the current folder.
 * Returns them relative to the model root; paths outside the model are dropped.
 */
export function resolveCliIgnorePaths(modelPath: string, paths: readonly string[], cwd = process.cwd()): string[] {
  let root: string;
  try {
    root = realpathSync(resolve(cwd, modelPath));
  } catch {
    root = resolve(cwd, modelPath);
  }
  const out: string[] = [];
  for (const p of paths) {
    let abs = resolve(cwd, p);
    try {
      abs = realpathSync(abs);
    } catch {
      // A path that does not exist yet is still a valid thing to ignore.
    }
    const rel = relative(root, abs);
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) continue;
    out.push(rel.split(sep).join('/'));
  }
  return out;
}
