/**
 * The gateway's Authorizer: Cedar policies from files (gateway.policy), default deny, a bounded
 * decision cache, and reloads that never leave a request without a policy set.
 *
 * A reload reads every file, compiles the set into the spare of two pre-parse slots, and only then
 * swaps set, version and slot in one synchronous step (so `authorize`, also synchronous, sees the
 * old set or the new one, never a mix) and clears the cache. A reload that fails keeps the last
 * good set in force and is recorded in `status().lastError`.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { PerimeterError, asPerimeterError } from '../../errors/errors.ts';
import type { GatewayPolicyConfig } from '../../config/gateway-policy.ts';
import type { AuthzDecision, AuthzRequest, Authorizer } from '../../gateway/types.ts';
import { LruCache } from './cache.ts';
import { compilePolicySet, evaluate, requestFacts, type CompiledSet, type PolicyFile } from './cedar.ts';

export interface AuthzLoadProblem {
  readonly code: 'PERIM_E_POLICY_LOAD';
  readonly message: string;
  readonly file?: string;
  readonly line?: number;
  /** Epoch ms of the failed load. */
  readonly at: number;
}

export interface AuthzStatus {
  /** Short SHA-256 of the loaded files' names and texts (and the schema's). */
  readonly version: string;
  /** Number of policies in force. */
  readonly policies: number;
  readonly files: readonly string[];
  readonly schema: string | undefined;
  /** Epoch ms when the set in force was loaded. */
  readonly loadedAt: number;
  /** The last failed reload, if it came after the last successful one. */
  readonly lastError?: AuthzLoadProblem;
  readonly cache: { hits: number; misses: number; size: number; capacity: number };
}

export interface ReloadResult {
  readonly ok: boolean;
  /** A new set was swapped in (false when the files hold exactly the texts already in force). */
  readonly changed: boolean;
  /** The version in force after the reload. */
  readonly version: string;
  /** Why the reload failed (PERIM_E_POLICY_LOAD); the previous set stays in force. */
  readonly error?: PerimeterError;
}

export type AuthzConfig = Pick<GatewayPolicyConfig, 'cedar' | 'schema' | 'cache_size'>;

export interface CedarAuthorizerOptions {
  /** Clock for loadedAt and lastError.at (tests). */
  readonly now?: () => number;
}

let instances = 0;

const EMPTY_SET: CompiledSet = { setId: '', policies: new Map() };

async function readPolicyFile(path: string, what: string): Promise<PolicyFile> {
  try {
    return { path, text: await readFile(path, 'utf8') };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    const why = code === 'ENOENT' ? 'not found' : code === 'EISDIR' ? 'is a folder, not a file' : `cannot be read (${code})`;
    throw new PerimeterError('PERIM_E_POLICY_LOAD', `${path}: ${what} ${why}`, { cause: e, details: { file: path } });
  }
}

/** A string that changes when any file changes (modification time, size, inode) or appears or disappears. */
async function filesSignature(paths: readonly string[]): Promise<string> {
  const parts = await Promise.all(
    paths.map(async (p) => {
      try {
        const s = await stat(p);
        return `${s.mtimeMs}:${s.ctimeMs}:${s.size}:${s.ino}`;
      } catch (e) {
        return `missing:${(e as NodeJS.ErrnoException).code ?? ''}`;
      }
    }),
  );
  return parts.join('|');
}

const field = (s: string): string => `${s.length}:${s}`;

export class CedarAuthorizer implements Authorizer {
  readonly #config: AuthzConfig;
  readonly #now: () => number;
  readonly #cache: LruCache<AuthzDecision>;
  readonly #cacheOn: boolean;
  readonly #setBase = `perimeter-authz-${process.pid}-${++instances}`;
  #slot = 0;
  #set: CompiledSet = EMPTY_SET;
  #version = '';
  #loadedAt = 0;
  #lastError: AuthzLoadProblem | undefined;
  /** The files' signature when they were last read (successfully or not): the watch reloads when it changes. */
  #seen = '';
  #queue: Promise<unknown> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  private constructor(config: AuthzConfig, options: CedarAuthorizerOptions) {
    this.#config = config;
    this.#now = options.now ?? Date.now;
    this.#cache = new LruCache(config.cache_size);
    this.#cacheOn = config.cache_size > 0;
  }

  /** Loads the policy set; a set that cannot be read, parsed or validated throws PERIM_E_POLICY_LOAD. */
  static async open(config: AuthzConfig, options: CedarAuthorizerOptions = {}): Promise<CedarAuthorizer> {
    const a = new CedarAuthorizer(config, options);
    const r = await a.reload();
    if (!r.ok) throw r.error!;
    return a;
  }

  authorize(r: AuthzRequest): AuthzDecision {
    const facts = requestFacts(r);
    // Without a fingerprint two principals could share a key: decide without the cache.
    if (!this.#cacheOn || !r.principal.fingerprint) return evaluate(this.#set, r, facts, this.#version);
    const m = r.resource;
    const key =
      `${field(r.principal.fingerprint)}${r.action}|${field(m.id)}${field(m.digest ?? '')}${m.admitted ? 1 : 0}|${field(m.license ?? '')}${m.tier ?? 0}|` +
      `${field(m.runtime)}${field(facts.sourceIp)}${field(r.context.purpose ?? '')}${facts.hour}|${facts.weekday}|${this.#version}`;
    const hit = this.#cache.get(key);
    if (hit) return hit;
    const d = evaluate(this.#set, r, facts, this.#version);
    Object.freeze(d.reasons);
    Object.freeze(d.policies);
    Object.freeze(d.errors);
    this.#cache.set(key, Object.freeze({ ...d, cached: true }));
    return d;
  }

  /**
   * Re-reads the files and swaps in the new set when it compiles; never throws. Reloads run one
   * at a time: one asked for while another runs starts after it (and reads the files again).
   */
  reload(): Promise<ReloadResult> {
    const run = this.#queue.then(() => this.#load());
    this.#queue = run;
    return run;
  }

  /** Polls the files' modification times and sizes every `intervalSeconds` and reloads when they change (0: no polling). */
  watch(intervalSeconds: number, onResult?: (r: ReloadResult) => void): void {
    this.#stopWatch();
    if (!(intervalSeconds > 0) || this.#closed) return;
    let busy = false;
    this.#timer = setInterval(() => {
      if (busy) return;
      busy = true;
      this.#poll()
        .then((r) => {
          if (r && onResult) onResult(r);
        })
        .catch(() => {
          // onResult threw: nothing to do here, the reload itself is recorded in status().
        })
        .finally(() => {
          busy = false;
        });
    }, intervalSeconds * 1000);
    this.#timer.unref();
  }

  /** Stops the watch. Decisions keep being answered from the set in force. */
  close(): void {
    this.#closed = true;
    this.#stopWatch();
  }

  status(): AuthzStatus {
    const s: AuthzStatus = {
      version: this.#version,
      policies: this.#set.policies.size,
      files: this.#config.cedar,
      schema: this.#config.schema,
      loadedAt: this.#loadedAt,
      cache: this.#cache.stats(),
    };
    return this.#lastError ? { ...s, lastError: this.#lastError } : s;
  }

  #paths(): string[] {
    return this.#config.schema ? [...this.#config.cedar, this.#config.schema] : [...this.#config.cedar];
  }

  #stopWatch(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #poll(): Promise<ReloadResult | undefined> {
    if (this.#closed) return undefined;
    const sig = await filesSignature(this.#paths());
    if (sig === this.#seen || this.#closed) return undefined;
    return this.reload();
  }

  async #load(): Promise<ReloadResult> {
    // The signature is taken before reading: a change during the read shows up at the next poll.
    const signature = await filesSignature(this.#paths());
    this.#seen = signature;
    let files: PolicyFile[];
    let schema: PolicyFile | undefined;
    try {
      files = await Promise.all(this.#config.cedar.map((p) => readPolicyFile(p, 'policy file')));
      schema = this.#config.schema ? await readPolicyFile(this.#config.schema, 'schema file') : undefined;
    } catch (e) {
      return this.#failed(e);
    }
    const hash = createHash('sha256');
    for (const f of schema ? [...files, schema] : files) hash.update(`${f.path.length}:${f.path}${f.text.length}:${f.text}`);
    const version = hash.digest('hex').slice(0, 12);
    if (version === this.#version) {
      this.#lastError = undefined;
      return { ok: true, changed: false, version };
    }
    const slot = this.#slot ^ 1;
    let set: CompiledSet;
    try {
      set = compilePolicySet(`${this.#setBase}-${slot}`, files, schema);
    } catch (e) {
      return this.#failed(e);
    }
    // The swap: synchronous, so no decision sees half of it.
    this.#set = set;
    this.#version = version;
    this.#slot = slot;
    this.#loadedAt = this.#now();
    this.#lastError = undefined;
    this.#cache.clear();
    return { ok: true, changed: true, version };
  }

  #failed(e: unknown): ReloadResult {
    const err = e instanceof PerimeterError && e.code === 'PERIM_E_POLICY_LOAD' ? e : new PerimeterError('PERIM_E_POLICY_LOAD', asPerimeterError(e).message, { cause: e });
    const d = err.details ?? {};
    const problem: AuthzLoadProblem = { code: 'PERIM_E_POLICY_LOAD', message: err.message, at: this.#now() };
    this.#lastError = {
      ...problem,
      ...(typeof d.file === 'string' ? { file: d.file } : {}),
      ...(typeof d.line === 'number' ? { line: d.line } : {}),
    };
    return { ok: false, changed: false, version: this.#version, error: err };
  }
}
