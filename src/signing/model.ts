/**
 * signModel and verifyModel: the library API the CLI, the registry and admission call.
 *
 * Verification is a fail-closed pipeline; each step throws a coded PerimeterError:
 *   read bundle -> check signer (Verifier) -> read statement -> hash the local model the way the
 *   statement says -> compare every resource.
 */
import { lstatSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { PerimeterError, isPerimeterError } from '../errors/errors.ts';
import { hashModel, type HashOptions } from '../artifact/hash.ts';
import { DEFAULT_GIT_IGNORES, parseShardName, type Manifest, type Resource, type Serialization } from '../artifact/manifest.ts';
import { MAX_BUNDLE_BYTES, parseBundle, type Bundle } from './bundle.ts';
import { parseStatement, statementBytes, type SignedManifest } from './statement.ts';
import type { SignerIdentity, Signer, Verifier } from './verifier.ts';

/** model.sig inside a model folder; <file>.sig beside a single-file model. */
export function defaultSignaturePath(modelPath: string): string {
  const abs = resolve(modelPath);
  let isDir = false;
  try {
    isDir = statSync(abs).isDirectory();
  } catch {
    isDir = false;
  }
  return isDir ? join(abs, 'model.sig') : join(dirname(abs), `${basename(abs)}.sig`);
}

export interface SignOptions extends HashOptions {
  /** Where to write the bundle; default defaultSignaturePath(modelPath). */
  signaturePath?: string;
  /** Build the bundle but do not write it. */
  dryRun?: boolean;
}

export interface SignResult {
  bundle: Bundle;
  manifest: Manifest;
  statement: Buffer;
  signaturePath: string;
  bytes: number;
}

export async function signModel(modelPath: string, signer: Signer, options: SignOptions = {}): Promise<SignResult> {
  const signaturePath = resolve(options.signaturePath ?? defaultSignaturePath(modelPath));
  const { manifest, bytes } = await hashModel(modelPath, { ...options, signaturePath });
  const statement = statementBytes(manifest);
  const bundle = await signer.sign(statement);
  if (!options.dryRun) {
    try {
      writeFileSync(signaturePath, JSON.stringify(bundle, null, 2) + '\n');
    } catch (e) {
      throw new PerimeterError('PERIM_E_IO', `cannot write signature ${signaturePath}`, { cause: e });
    }
  }
  return { bundle, manifest, statement, signaturePath, bytes };
}

export interface VerifyOptions {
  signaturePath?: string;
  /** Extra paths to leave out, relative to the model root (the CLI resolves its own form). */
  ignorePaths?: readonly string[];
  ignoreGitPaths?: boolean;
  /** Do not fail on files the signature does not list. */
  ignoreUnsignedFiles?: boolean;
  workers?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface VerifyResult {
  /** Canonical root digest of the verified files (spec order): Perimeter's artifact identity. */
  rootDigest: string;
  /** The root digest the signer signed (bundle order; differs only for old reference bundles). */
  signedRootDigest: string;
  signer: SignerIdentity;
  serialization: Serialization;
  resources: number;
  bytes: number;
  checks: string[];
}

export function readBundleFile(path: string): Bundle {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (e) {
    throw new PerimeterError('PERIM_E_IO', `cannot read signature ${path}`, { cause: e });
  }
  if (size > MAX_BUNDLE_BYTES) throw new PerimeterError('PERIM_E_BUNDLE_MALFORMED', `signature ${path} is larger than ${MAX_BUNDLE_BYTES} bytes`);
  return parseBundle(readFileSync(path));
}

export async function verifyModel(modelPath: string, verifier: Verifier, options: VerifyOptions = {}): Promise<VerifyResult> {
  const signaturePath = resolve(options.signaturePath ?? defaultSignaturePath(modelPath));
  const bundle = readBundleFile(signaturePath);
  const verified = await verifier.verify(bundle);
  const signed = parseStatement(verified.payload);
  const checks = [...verified.signer.checks, `statement is a well-formed OMS ${signed.predicateType === 'https://model_signing/signature/v1.0' ? 'v1.0' : 'v0.1 (legacy)'} statement; subject digest matches its ${signed.resources.length} resources`];
  const expected = expectedResources(modelPath, signed);
  const ser = signed.serialization;
  const onlyFiles = options.ignoreUnsignedFiles ? new Set([...expected.keys()].map((n) => (ser.method === 'shards' ? parseShardName(n).path : n))) : undefined;
  let actual: Manifest | undefined;
  let bytes = 0;
  try {
    const r = await hashModel(modelPath, {
      method: ser.method,
      hashAlgorithm: ser.hash_type,
      shardSize: ser.shard_size,
      allowSymlinks: ser.allow_symlinks,
      ignorePaths: [...(ser.ignore_paths ?? []), ...(options.ignorePaths ?? [])],
      // A signer who signed files under .git etc. (--no-ignore-git-paths) expects them checked.
      ignoreGitPaths: options.ignoreGitPaths ?? !signsGitPaths(expected.keys(), ser),
      signaturePath,
      onlyFiles,
      workers: options.workers,
      onProgress: options.onProgress,
    });
    actual = r.manifest;
    bytes = r.bytes;
  } catch (e) {
    if (!isPerimeterError(e, 'PERIM_E_MODEL_EMPTY')) throw e;
  }
  compareManifests(expected, actual?.resources ?? []);
  checks.push(`${expected.size} ${ser.method === 'shards' ? 'shards' : 'files'} (${bytes} bytes, ${ser.hash_type}) match the signed manifest${options.ignoreUnsignedFiles ? '; unsigned files ignored' : '; no unsigned files'}`);
  return {
    rootDigest: actual!.rootDigest,
    signedRootDigest: signed.signedRootDigest,
    signer: verified.signer,
    serialization: ser,
    resources: expected.size,
    bytes,
    checks,
  };
}

/** name -> digest; the reference tool named a single-file model ".", the spec uses its basename. */
function expectedResources(modelPath: string, signed: SignedManifest): Map<string, string> {
  let single = false;
  try {
    single = !lstatSync(modelPath).isDirectory() && !statSync(modelPath).isDirectory();
  } catch {
    single = false;
  }
  const base = basename(resolve(modelPath));
  const map = new Map<string, string>();
  for (const r of signed.resources) {
    let name = r.name;
    if (single) {
      if (signed.serialization.method === 'shards') {
        const s = parseShardName(name);
        if (s.path === '.') name = `${base}:${s.start}:${s.end}`;
      } else if (name === '.') name = base;
    }
    map.set(name, r.digest);
  }
  return map;
}

function compareManifests(expected: Map<string, string>, actual: Resource[]): void {
  const changed: string[] = [];
  const extra: string[] = [];
  const seen = new Set<string>();
  for (const r of actual) {
    seen.add(r.name);
    const want = expected.get(r.name);
    if (want === undefined) extra.push(r.name);
    else if (want !== r.digest) changed.push(r.name);
  }
  const missing = [...expected.keys()].filter((n) => !seen.has(n));
  if (changed.length + extra.length + missing.length === 0) return;
  const list = (label: string, xs: string[]): string => (xs.length ? `${label}: ${xs.slice(0, 5).join(', ')}${xs.length > 5 ? ` (+${xs.length - 5} more)` : ''}` : '');
  const reason = [list('changed', changed), list('missing', missing), list('unsigned extra', extra)].filter(Boolean).join('; ');
  throw new PerimeterError('PERIM_E_MODEL_MISMATCH', `model does not match its signature: ${reason}`, { details: { changed, missing, extra } });
}

function signsGitPaths(names: Iterable<string>, ser: Serialization): boolean {
  const git = new Set<string>(DEFAULT_GIT_IGNORES);
  for (const n of names) {
    const path = ser.method === 'shards' ? parseShardName(n).path : n;
    if (git.has(path.split('/')[0]!)) return true;
  }
  return false;
}
