/**
 * A guard model behind an OpenAI-compatible /chat/completions endpoint (Ollama, vLLM, llama.cpp):
 *
 * - llama-guard-3: the conversation is sent as user/assistant messages; the model's own chat
 *   template builds the categories prompt (the Llama Guard 3 model card). It answers "safe", or
 *   "unsafe" and a line of categories "S1,S10" (MLCommons hazards S1..S13 plus S14 code
 *   interpreter abuse); the last turn is the one classified.
 * - gpt-oss-safeguard: system message = the policy text (policy_file), user message = the content
 *   (OpenAI cookbook "User guide for gpt-oss-safeguard"); the policy asks for "0"/"1" or a JSON
 *   object {"violation": 0|1, "policy_category": ...}; both are read.
 *
 * Any failure (timeout, network, HTTP status, unparseable reply) is fail-open or fail-closed per
 * `on_error`: open allows with a logged finding, closed throws PERIM_E_GUARD_UNAVAILABLE.
 */
import { readFileSync } from 'node:fs';
import { Pool } from 'undici';
import type { ClassifierConfig } from '../../config/gateway-guards.ts';
import { PerimeterError } from '../../errors/errors.ts';
import type { Guard, GuardFinding, GuardResult } from '../types.ts';

/** Llama Guard 3 hazard categories (model card). */
export const LLAMA_GUARD_3_CATEGORIES: Readonly<Record<string, string>> = Object.freeze({
  S1: 'Violent Crimes', S2: 'Non-Violent Crimes', S3: 'Sex-Related Crimes', S4: 'Child Sexual Exploitation',
  S5: 'Defamation', S6: 'Specialized Advice', S7: 'Privacy', S8: 'Intellectual Property',
  S9: 'Indiscriminate Weapons', S10: 'Hate', S11: 'Suicide & Self-Harm', S12: 'Sexual Content',
  S13: 'Elections', S14: 'Code Interpreter Abuse',
});

export interface ChatTurn {
  readonly role: 'user' | 'assistant';
  readonly content: string;
}

export interface ClassifierCategory {
  readonly code: string;
  readonly name: string;
}

export interface ClassifierResult extends GuardResult {
  readonly categories: readonly ClassifierCategory[];
  /** Why the guard model gave no usable answer (fail-open only). */
  readonly error?: 'timeout' | 'unreachable' | 'http' | 'unparseable';
}

type Verdict = { unsafe: false } | { unsafe: true; categories: ClassifierCategory[] };

/** Largest guard-model answer read (a reasoning model's answer includes its reasoning). */
const MAX_REPLY = 1024 * 1024;

class ReplyError extends Error {
  readonly reason: NonNullable<ClassifierResult['error']>;
  constructor(reason: NonNullable<ClassifierResult['error']>, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.reason = reason;
  }
}

export class ClassifierGuard implements Guard {
  readonly config: ClassifierConfig;
  readonly #pool: Pool;
  readonly #path: string;
  readonly #headers: Record<string, string>;
  readonly #policy: string | undefined;

  constructor(config: ClassifierConfig, o: { policy?: string; apiKey?: string } = {}) {
    this.config = config;
    const url = new URL(config.url);
    this.#pool = new Pool(url.origin, { connections: 16, connectTimeout: config.timeout_ms });
    this.#path = `${url.pathname.replace(/\/+$/, '')}/chat/completions`;
    this.#headers = { 'content-type': 'application/json', accept: 'application/json' };
    const key = o.apiKey ?? (config.api_key_env ? process.env[config.api_key_env] : undefined);
    if (config.api_key_env && !key) throw new PerimeterError('PERIM_E_CONFIG', `gateway.guards.classifier.api_key_env: ${config.api_key_env} is not set`);
    if (key) this.#headers.authorization = `Bearer ${key}`;
    if (config.format === 'gpt-oss-safeguard') {
      if (o.policy !== undefined) this.#policy = o.policy;
      else if (config.policy_file) {
        try {
          this.#policy = readFileSync(config.policy_file, 'utf8');
        } catch (e) {
          throw new PerimeterError('PERIM_E_CONFIG', `gateway.guards.classifier.policy_file: cannot read ${config.policy_file}`, { cause: e });
        }
      }
      if (!this.#policy?.trim()) throw new PerimeterError('PERIM_E_CONFIG', 'gateway.guards.classifier: gpt-oss-safeguard needs a policy_file with the policy text');
    }
  }

  /** Whether the classifier checks that side. */
  appliesTo(where: 'input' | 'output'): boolean {
    return this.config.apply_to === 'both' || this.config.apply_to === where;
  }

  /** Classifies one text: input as a user turn; output as the assistant's answer to `prompt`. */
  inspect(text: string, where: 'input' | 'output', prompt?: string): Promise<ClassifierResult> {
    const turns: ChatTurn[] = where === 'input' ? [{ role: 'user', content: text }] : [{ role: 'user', content: prompt ?? '' }, { role: 'assistant', content: text }];
    return this.classify(turns, text);
  }

  /** Classifies a conversation (the last turn is the one judged). `text` is returned as the result's text. */
  async classify(turns: readonly ChatTurn[], text = turns.at(-1)?.content ?? ''): Promise<ClassifierResult> {
    try {
      const verdict = await this.#ask(turns);
      if (!verdict.unsafe) return { verdict: 'allow', text, findings: [], categories: [] };
      const findings: GuardFinding[] = (verdict.categories.length > 0 ? verdict.categories : [{ code: 'unsafe', name: 'unsafe' }]).map((c) => ({ rule: `classifier.${c.code}`, kind: 'classifier', action: 'block' }));
      return { verdict: 'block', text, findings, categories: verdict.categories };
    } catch (e) {
      const reason = e instanceof ReplyError ? e.reason : 'unreachable';
      if (this.config.on_error === 'open') {
        return { verdict: 'allow', text, findings: [{ rule: 'classifier.unavailable', kind: 'classifier', action: 'log' }], categories: [], error: reason };
      }
      throw new PerimeterError('PERIM_E_GUARD_UNAVAILABLE', `the classifier guard (${this.config.model}) gave no usable answer: ${reason}`, { cause: e, details: { model: this.config.model, reason } });
    }
  }

  close(): Promise<void> {
    return this.#pool.close();
  }

  async #ask(turns: readonly ChatTurn[]): Promise<Verdict> {
    const c = this.config;
    const messages =
      c.format === 'llama-guard-3'
        ? llamaGuardMessages(turns)
        : [
            { role: 'system', content: this.#policy! },
            { role: 'user', content: turns.length === 1 ? turns[0]!.content : turns.map((t) => `${t.role}: ${t.content}`).join('\n\n') },
          ];
    const body = JSON.stringify({ model: c.model, messages, temperature: 0, stream: false, ...(c.format === 'llama-guard-3' ? { max_tokens: 32 } : {}) });
    const signal = AbortSignal.timeout(c.timeout_ms);
    let raw: string;
    try {
      const res = await this.#pool.request({ path: this.#path, method: 'POST', headers: this.#headers, body, signal, headersTimeout: c.timeout_ms, bodyTimeout: c.timeout_ms });
      if (res.statusCode < 200 || res.statusCode >= 300) {
        await res.body.dump().catch(() => undefined);
        throw new ReplyError('http', `HTTP ${res.statusCode}`);
      }
      raw = await readCapped(res.body, MAX_REPLY);
    } catch (e) {
      if (e instanceof ReplyError) throw e;
      const timeout = signal.aborted || (e as { name?: string }).name === 'TimeoutError' || /timeout/i.test((e as { code?: string }).code ?? '');
      throw new ReplyError(timeout ? 'timeout' : 'unreachable', timeout ? `no answer within ${c.timeout_ms} ms` : 'the guard endpoint could not be reached', e);
    }
    let content: unknown;
    try {
      content = (JSON.parse(raw) as { choices?: { message?: { content?: unknown } }[] }).choices?.[0]?.message?.content;
    } catch (e) {
      throw new ReplyError('unparseable', 'the answer is not JSON', e);
    }
    if (typeof content !== 'string') throw new ReplyError('unparseable', 'the answer has no message content');
    const v = c.format === 'llama-guard-3' ? parseLlamaGuard(content) : parseSafeguard(content);
    if (!v) throw new ReplyError('unparseable', 'the guard model answered something that is neither safe nor unsafe');
    return v;
  }
}

/** Alternating user/assistant turns starting with a user turn (what the Llama Guard template accepts). */
function llamaGuardMessages(turns: readonly ChatTurn[]): ChatTurn[] {
  const out: { role: 'user' | 'assistant'; content: string }[] = [];
  for (const t of turns) {
    const last = out.at(-1);
    if (last && last.role === t.role) last.content += `\n\n${t.content}`;
    else if (out.length === 0 && t.role === 'assistant') out.push({ role: 'user', content: '' }, { role: 'assistant', content: t.content });
    else out.push({ role: t.role, content: t.content });
  }
  return out.length > 0 ? out : [{ role: 'user', content: '' }];
}

async function readCapped(body: AsyncIterable<Buffer>, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > max) throw new ReplyError('unparseable', `the answer is larger than ${max} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** "safe", or "unsafe" then a line of categories "S1,S10"; anything else is undefined. */
export function parseLlamaGuard(content: string): Verdict | undefined {
  const lines = content.trim().split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
  const head = lines[0]?.toLowerCase();
  if (head === 'safe') return { unsafe: false };
  if (head !== 'unsafe') return undefined;
  const categories: ClassifierCategory[] = [];
  for (const code of (lines[1] ?? '').split(',').map((s) => s.trim().toUpperCase()).filter((s) => s.length > 0)) {
    if (!/^S\d{1,2}$/.test(code)) return undefined;
    categories.push({ code, name: LLAMA_GUARD_3_CATEGORIES[code] ?? 'Unknown category' });
  }
  return { unsafe: true, categories };
}

/** "0"/"1" first, or a JSON object with "violation" 0/1 (and "policy_category"); anything else is undefined. */
export function parseSafeguard(content: string): Verdict | undefined {
  let t = content;
  // Harmony markup passed through by a server that does not parse it: keep the final channel.
  const final = t.lastIndexOf('<|channel|>final');
  if (final >= 0) {
    const msg = t.indexOf('<|message|>', final);
    if (msg < 0) return undefined;
    t = t.slice(msg + 11).replace(/<\|(?:return|end)\|>[\s\S]*$/, '');
  }
  t = t.trim().replace(/^```(?:json)?\s*([\s\S]*?)\s*```$/, '$1').trim();
  if (t.startsWith('{')) {
    let obj: unknown;
    try {
      obj = JSON.parse(t);
    } catch {
      return undefined;
    }
    if (typeof obj !== 'object' || obj === null) return undefined;
    const { violation, policy_category: cat } = obj as { violation?: unknown; policy_category?: unknown };
    const v = violation === 1 || violation === '1' || violation === true ? 1 : violation === 0 || violation === '0' || violation === false ? 0 : undefined;
    if (v === undefined) return undefined;
    if (v === 0) return { unsafe: false };
    const code = typeof cat === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(cat) ? cat : 'violation';
    return { unsafe: true, categories: [{ code, name: typeof cat === 'string' ? cat : 'policy violation' }] };
  }
  const m = /^([01])(?![\w.])/.exec(t);
  if (!m) return undefined;
  return m[1] === '1' ? { unsafe: true, categories: [{ code: 'violation', name: 'policy violation' }] } : { unsafe: false };
}
