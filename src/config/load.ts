/**
 * Loading the configuration once at start: find the file (--config, PERIMETER_CONFIG, else the
 * per-user file when it exists), parse YAML, validate with zod (unknown keys rejected, defaults
 * filled), resolve relative paths against the file's folder, load every trust file it names, and
 * deep-freeze the result. Every problem is reported with its path, all at once:
 *
 *   admission.trust.keys[0]: file not found (/etc/perimeter/k.pub)
 *
 * A broken config is an operator's mistake (PERIM_E_CONFIG_FILE, PERIM_E_CONFIG; exit 2), never
 * confused with hostile input.
 */
import { createSecureContext } from 'node:tls';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { PerimeterError } from '../errors/errors.ts';
import { publicKeyFromPem } from '../signing/keys.ts';
import { parseTrustAnchors } from '../signing/certificate-verifier.ts';
import { parseTrustRoot, type TrustRoot } from '../signing/sigstore/trust-root.ts';
import { isPostgresUrl } from '../store/store.ts';
import { configSchema, type ConfigData } from './schema.ts';

export interface ConfigProblem {
  /** Where in the file, e.g. `admission.trust.keys[0]`; `(file)` for the file as a whole. */
  path: string;
  message: string;
}

/** Trust files read and parsed at load time, keyed by absolute path. */
export interface TrustMaterial {
  readonly keys: ReadonlyMap<string, KeyObject>;
  readonly certificates: ReadonlyMap<string, string>;
  readonly trustRoots: ReadonlyMap<string, TrustRoot>;
}

export interface LoadedConfig {
  /** Validated, defaults filled, paths absolute, deep-frozen. */
  readonly data: ConfigData;
  /** The file it came from; undefined when no file was found (all defaults). */
  readonly path: string | undefined;
  readonly material: TrustMaterial;
}

/** $XDG_CONFIG_HOME/perimeter/perimeter.yaml, else ~/.config/perimeter/perimeter.yaml. */
export function defaultConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME && isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : join(homedir(), '.config');
  return join(base, 'perimeter', 'perimeter.yaml');
}

/** --config, else PERIMETER_CONFIG, else the default file when it exists, else none. */
export function resolveConfigPath(flag?: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (flag) return resolve(flag);
  if (env.PERIMETER_CONFIG) return resolve(env.PERIMETER_CONFIG);
  const d = defaultConfigPath(env);
  return existsSync(d) ? d : undefined;
}

/** Loads and validates the config file at `path` (or all defaults when undefined). */
export function loadConfig(path: string | undefined): LoadedConfig {
  if (path === undefined) return parseConfig('', { baseDir: process.cwd(), source: undefined });
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : `cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`;
    throw new PerimeterError('PERIM_E_CONFIG_FILE', `config file ${path} ${why}`, { cause: e, details: { file: path } });
  }
  return parseConfig(text, { baseDir: dirname(resolve(path)), source: resolve(path) });
}

export interface ParseOptions {
  /** Relative paths in the file resolve against this folder. */
  baseDir: string;
  /** For messages and LoadedConfig.path. */
  source: string | undefined;
}

export function parseConfig(text: string, options: ParseOptions): LoadedConfig {
  const where = options.source ?? '(defaults)';
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    throw new PerimeterError('PERIM_E_CONFIG_FILE', `config file ${where} is not valid YAML: ${first.message.split('\n')[0]}`, {
      details: { file: where, line: first.linePos?.[0]?.line },
    });
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 50 }) ?? {};
  } catch (e) {
    throw new PerimeterError('PERIM_E_CONFIG_FILE', `config file ${where} cannot be read as YAML: ${(e as Error).message}`, { cause: e, details: { file: where } });
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) fail(where, parsed.error.issues.flatMap(problemsOf));
  const data = structuredClone(parsed.data);
  resolvePaths(data, options.baseDir);
  const { material, problems } = loadMaterial(data);
  if (problems.length > 0) fail(where, problems);
  return deepFreeze({ data, path: options.source, material });
}

function fail(where: string, problems: ConfigProblem[]): never {
  const list = problems.map((p) => `${p.path}: ${p.message}`);
  throw new PerimeterError('PERIM_E_CONFIG', `config ${where} is invalid:\n  ${list.join('\n  ')}`, { details: { file: where, problems } });
}

/** `admission.trust.keys[0]` from ['admission', 'trust', 'keys', 0]. */
export function formatPath(path: readonly PropertyKey[]): string {
  let s = '';
  for (const k of path) s += typeof k === 'number' ? `[${k}]` : `${s ? '.' : ''}${String(k)}`;
  return s || '(root)';
}

function problemsOf(issue: z.core.$ZodIssue): ConfigProblem[] {
  if (issue.code === 'unrecognized_keys') return issue.keys.map((k) => ({ path: formatPath([...issue.path, k]), message: 'unknown key' }));
  return [{ path: formatPath(issue.path), message: issue.message }];
}

const abs = (baseDir: string, p: string): string => (isAbsolute(p) ? p : resolve(baseDir, p));

function resolvePaths(d: ConfigData, baseDir: string): void {
  const trusts = [d.admission.trust, ...Object.values(d.admission.environments).map((e) => e.trust)];
  for (const t of trusts) {
    if (!t) continue;
    if (t.keys) t.keys = t.keys.map((p) => abs(baseDir, p));
    if (t.certificates) t.certificates = t.certificates.map((p) => abs(baseDir, p));
    if (t.sigstore) t.sigstore = t.sigstore.map((s) => (s.trust_root ? { ...s, trust_root: abs(baseDir, s.trust_root) } : s));
  }
  if (d.server.tls) d.server.tls = { cert: abs(baseDir, d.server.tls.cert), key: abs(baseDir, d.server.tls.key) };
  if (d.store.url && !isPostgresUrl(d.store.url)) d.store.url = abs(baseDir, d.store.url);
  const g = d.gateway;
  g.policy.cedar = g.policy.cedar.map((p) => abs(baseDir, p));
  if (g.policy.schema) g.policy.schema = abs(baseDir, g.policy.schema);
  g.identity.jwt = g.identity.jwt.map((j) => (j.jwks_file ? { ...j, jwks_file: abs(baseDir, j.jwks_file) } : j));
  if (g.guards.classifier?.policy_file) g.guards.classifier = { ...g.guards.classifier, policy_file: abs(baseDir, g.guards.classifier.policy_file) };
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `file not found (${path})` : code === 'EISDIR' ? `is a folder, not a file (${path})` : `cannot be read: ${code ?? 'error'} (${path})`);
  }
}

/** Reads every trust file the config names; collects one problem per bad file. */
function loadMaterial(d: ConfigData): { material: TrustMaterial; problems: ConfigProblem[] } {
  const keys = new Map<string, KeyObject>();
  const certificates = new Map<string, string>();
  const trustRoots = new Map<string, TrustRoot>();
  const problems: ConfigProblem[] = [];
  const attempt = (path: string, f: () => void): void => {
    try {
      f();
    } catch (e) {
      problems.push({ path, message: (e as Error).message });
    }
  };
  const scopes: [string, ConfigData['admission']['environments'][string]['trust']][] = [
    ['admission.trust', d.admission.trust],
    ...Object.entries(d.admission.environments).map(([env, o]): [string, typeof o.trust] => [`admission.environments.${env}.trust`, o.trust]),
  ];
  for (const [scope, t] of scopes) {
    t?.keys?.forEach((p, i) =>
      attempt(`${scope}.keys[${i}]`, () => {
        if (!keys.has(p)) keys.set(p, publicKeyFromPem(readText(p), `the key file (${p})`));
      }),
    );
    t?.certificates?.forEach((p, i) =>
      attempt(`${scope}.certificates[${i}]`, () => {
        const pem = readText(p);
        parseTrustAnchors([pem]);
        certificates.set(p, pem);
      }),
    );
    t?.sigstore?.forEach((s, i) => {
      if (s.trust_root) {
        const p = s.trust_root;
        attempt(`${scope}.sigstore[${i}].trust_root`, () => {
          if (!trustRoots.has(p)) trustRoots.set(p, parseTrustRoot(readText(p)));
        });
      }
    });
  }
  const tls = d.server.tls;
  if (tls) {
    let cert: string | undefined;
    let key: string | undefined;
    attempt('server.tls.cert', () => void (cert = readText(tls.cert)));
    attempt('server.tls.key', () => void (key = readText(tls.key)));
    if (cert !== undefined && key !== undefined) attempt('server.tls', () => checkTlsPair(cert!, key!));
  }
  return { material: { keys, certificates, trustRoots }, problems };
}

/** Throws with a readable message unless the PEM certificate and private key make a TLS identity. */
export function checkTlsPair(cert: string | Buffer, key: string | Buffer): void {
  try {
    createSecureContext({ cert, key });
  } catch (e) {
    throw new Error(`the TLS certificate and key cannot be used together: ${(e as Error).message}`);
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    if (value instanceof Map) {
      Object.freeze(value);
      return value;
    }
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
