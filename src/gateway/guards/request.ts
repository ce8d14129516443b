/**
 * Input guards over OpenAI-style request bodies: every text the client sends is inspected
 * (chat message contents, string or text parts, and tool-call arguments; completion prompts;
 * embedding inputs). Redactions produce a new body, copied only along the changed path; the
 * same object comes back when nothing changed. System and developer messages are the operator's
 * own words: secrets and PII are checked there too, the injection heuristics are not.
 */
import type { GuardFinding } from '../types.ts';
import type { ChatTurn, ClassifierGuard, ClassifierResult } from './classifier.ts';
import type { GuardSet } from './guard-set.ts';

export type Endpoint = 'chat' | 'completions' | 'embeddings';

/** A finding with where in the body it was: e.g. "messages[2].content[0].text". */
export interface RequestFinding extends GuardFinding {
  readonly path: string;
}

export interface GuardedRequest {
  /** The body to send upstream: a new object when anything was redacted, else the same object. */
  readonly body: Record<string, unknown>;
  readonly changed: boolean;
  readonly findings: RequestFinding[];
  readonly blocked: boolean;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Tool-call arguments nest at most this deep before the rest is inspected as text. */
const MAX_JSON_DEPTH = 32;

class Inspection {
  readonly findings: RequestFinding[] = [];
  blocked = false;
  readonly set: GuardSet;
  constructor(set: GuardSet) {
    this.set = set;
  }

  /** Inspects one text; returns the text to use (redacted or the same string). */
  text(text: string, path: string, injection = true): string {
    if (text.length === 0) return text;
    const r = this.set.inspect(text, 'input', { injection });
    for (const f of r.findings) this.findings.push({ ...f, path });
    if (r.verdict === 'block') this.blocked = true;
    return r.text;
  }

  /** A string array or a string; the same value when unchanged. */
  stringOrList(v: unknown, path: string): unknown {
    if (typeof v === 'string') return this.text(v, path);
    if (!Array.isArray(v)) return v;
    let out: unknown[] | undefined;
    v.forEach((s, i) => {
      if (typeof s !== 'string') return;
      const r = this.text(s, `${path}[${i}]`);
      if (r !== s) (out ??= [...v])[i] = r;
    });
    return out ?? v;
  }

  /** Tool-call arguments: a JSON text whose string values are inspected one by one. */
  args(text: string, path: string): string {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return this.text(text, path);
    }
    const out = this.json(parsed, path, 0);
    return out === parsed ? text : JSON.stringify(out);
  }

  json(v: unknown, path: string, depth: number): unknown {
    if (typeof v === 'string') return this.text(v, path);
    if (depth >= MAX_JSON_DEPTH && typeof v === 'object' && v !== null) {
      // Too deep to walk: inspect the subtree as text; a redaction replaces it whole.
      const s = JSON.stringify(v);
      return this.text(s, path) === s ? v : '[REDACTED]';
    }
    if (Array.isArray(v)) {
      let out: unknown[] | undefined;
      v.forEach((x, i) => {
        const r = this.json(x, `${path}[${i}]`, depth + 1);
        if (r !== x) (out ??= [...v])[i] = r;
      });
      return out ?? v;
    }
    if (isObj(v)) {
      let out: Obj | undefined;
      for (const [k, x] of Object.entries(v)) {
        const r = this.json(x, `${path}.${k}`, depth + 1);
        if (r !== x) (out ??= { ...v })[k] = r;
      }
      return out ?? v;
    }
    return v;
  }

  result(body: Obj, out: Obj | undefined): GuardedRequest {
    return { body: out ?? body, changed: out !== undefined, findings: this.findings, blocked: this.blocked };
  }
}

/** /v1/chat/completions: messages[].content (string or text parts) and tool_calls[].function.arguments. */
export function guardChatRequest(body: Record<string, unknown>, set: GuardSet): GuardedRequest {
  const ins = new Inspection(set);
  const msgs = body.messages;
  if (!Array.isArray(msgs)) return ins.result(body, undefined);
  let outMsgs: unknown[] | undefined;
  msgs.forEach((m, i) => {
    if (!isObj(m)) return;
    const injection = m.role !== 'system' && m.role !== 'developer';
    let nm: Obj | undefined;
    const c = m.content;
    if (typeof c === 'string') {
      const r = ins.text(c, `messages[${i}].content`, injection);
      if (r !== c) (nm ??= { ...m }).content = r;
    } else if (Array.isArray(c)) {
      let nc: unknown[] | undefined;
      c.forEach((p, j) => {
        if (!isObj(p) || p.type !== 'text' || typeof p.text !== 'string') return;
        const r = ins.text(p.text, `messages[${i}].content[${j}].text`, injection);
        if (r !== p.text) (nc ??= [...c])[j] = { ...p, text: r };
      });
      if (nc) (nm ??= { ...m }).content = nc;
    }
    if (Array.isArray(m.tool_calls)) {
      const calls = m.tool_calls;
      let nt: unknown[] | undefined;
      calls.forEach((tc, j) => {
        const fn = isObj(tc) ? tc.function : undefined;
        if (!isObj(tc) || !isObj(fn) || typeof fn.arguments !== 'string') return;
        const r = ins.args(fn.arguments, `messages[${i}].tool_calls[${j}].function.arguments`);
        if (r !== fn.arguments) (nt ??= [...calls])[j] = { ...tc, function: { ...fn, arguments: r } };
      });
      if (nt) (nm ??= { ...m }).tool_calls = nt;
    }
    if (nm) (outMsgs ??= [...msgs])[i] = nm;
  });
  return ins.result(body, outMsgs ? { ...body, messages: outMsgs } : undefined);
}

/** /v1/completions: prompt as a string or a list of strings (token arrays are left alone). */
export function guardCompletionRequest(body: Record<string, unknown>, set: GuardSet): GuardedRequest {
  const ins = new Inspection(set);
  const p = ins.stringOrList(body.prompt, 'prompt');
  return ins.result(body, p !== body.prompt ? { ...body, prompt: p } : undefined);
}

/** /v1/embeddings: input as a string or a list of strings (token arrays are left alone). */
export function guardEmbeddingRequest(body: Record<string, unknown>, set: GuardSet): GuardedRequest {
  const ins = new Inspection(set);
  const v = ins.stringOrList(body.input, 'input');
  return ins.result(body, v !== body.input ? { ...body, input: v } : undefined);
}

export function guardRequestBody(endpoint: Endpoint, body: Record<string, unknown>, set: GuardSet): GuardedRequest {
  return endpoint === 'chat' ? guardChatRequest(body, set) : endpoint === 'completions' ? guardCompletionRequest(body, set) : guardEmbeddingRequest(body, set);
}

/** The conversation a classifier judges: user, tool and assistant turns (system prompts left out). */
export function conversationOf(endpoint: Endpoint, body: Record<string, unknown>): ChatTurn[] {
  const texts = (v: unknown): string => (typeof v === 'string' ? v : Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string').join('\n\n') : '');
  if (endpoint === 'completions') return [{ role: 'user', content: texts(body.prompt) }];
  if (endpoint === 'embeddings') return [{ role: 'user', content: texts(body.input) }];
  const turns: ChatTurn[] = [];
  for (const m of Array.isArray(body.messages) ? body.messages : []) {
    if (!isObj(m) || m.role === 'system' || m.role === 'developer') continue;
    const c = m.content;
    const content = typeof c === 'string' ? c : Array.isArray(c) ? c.filter((p): p is Obj => isObj(p) && p.type === 'text' && typeof p.text === 'string').map((p) => p.text as string).join('\n') : '';
    turns.push({ role: m.role === 'assistant' ? 'assistant' : 'user', content });
  }
  return turns;
}

/** Runs the classifier over a request's conversation, when it applies to the input side. */
export async function classifyRequest(endpoint: Endpoint, body: Record<string, unknown>, classifier: ClassifierGuard): Promise<ClassifierResult | undefined> {
  if (!classifier.appliesTo('input')) return undefined;
  const turns = conversationOf(endpoint, body);
  if (turns.length === 0 || turns.every((t) => t.content.length === 0)) return undefined;
  return classifier.classify(turns);
}
