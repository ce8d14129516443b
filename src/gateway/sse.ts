/**
 * Server-sent events from an upstream's streamed completion, rewritten as they flow: each choice's
 * text goes through its own output filter (the guards, with their hold-back window), the chunk is
 * re-serialized with the text the filter released, and held text is released on the choice's
 * finish_reason or at [DONE]. When a filter blocks, the stream ends with an OpenAI-style error
 * event, which the OpenAI SDKs raise as an APIError, and nothing after it is sent.
 *
 * Pure: bytes in, text out; the caller writes and aborts.
 */
import type { GuardFinding } from './types.ts';

export interface StreamFilter {
  push(delta: string): { emit: string; blocked?: readonly GuardFinding[] | undefined };
  end(): { emit: string; blocked?: readonly GuardFinding[] | undefined };
}

export interface Usage {
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
}

/** Largest single event accepted from an upstream (a chunk is normally well under 1 KiB). */
const MAX_EVENT_CHARS = 1024 * 1024;

interface Choice {
  index?: number;
  text?: string;
  delta?: { content?: string | null; [k: string]: unknown };
  finish_reason?: string | null;
  [k: string]: unknown;
}

export class SseRewriter {
  readonly #decoder = new TextDecoder('utf-8');
  readonly #filters = new Map<number, StreamFilter>();
  readonly #makeFilter: () => StreamFilter;
  #buf = '';
  #done = false;
  /** Chat chunks carry delta.content; legacy completion chunks carry text. */
  #chat = true;
  /** The findings that blocked the stream, once it is blocked. */
  blocked: readonly GuardFinding[] | undefined;
  usage: Usage | undefined;
  /** Characters of model text seen (for a token estimate when no usage comes). */
  textChars = 0;

  readonly #forwardUsage: boolean;

  /** forwardUsage false: usage is read (for token accounting) but not passed on (the client did not ask). */
  constructor(makeFilter: () => StreamFilter, o: { forwardUsage?: boolean } = {}) {
    this.#makeFilter = makeFilter;
    this.#forwardUsage = o.forwardUsage ?? true;
  }

  get finished(): boolean {
    return this.#done;
  }

  /** Feeds upstream bytes; returns the text to send to the client now. */
  feed(chunk: Uint8Array): string {
    if (this.#done) return '';
    this.#buf += this.#decoder.decode(chunk, { stream: true });
    let out = '';
    for (;;) {
      const m = /\r?\n\r?\n/.exec(this.#buf);
      if (!m) break;
      const event = this.#buf.slice(0, m.index);
      this.#buf = this.#buf.slice(m.index + m[0].length);
      out += this.#event(event);
      if (this.#done) return out;
    }
    if (this.#buf.length > MAX_EVENT_CHARS) {
      this.#done = true;
      return out + errorEvent('PERIM_E_UPSTREAM_ERROR', 'the runtime sent an event larger than 1 MiB');
    }
    return out;
  }

  /** The upstream ended: flushes held text and ends the stream. */
  finish(): string {
    if (this.#done) return '';
    let out = this.#buf.trim() ? this.#event(this.#buf) : '';
    this.#buf = '';
    if (this.#done) return out;
    out += this.#flushAll();
    if (this.#done) return out;
    this.#done = true;
    return out + 'data: [DONE]\n\n';
  }

  /** Ends the stream with an error event (kill-switch, upstream failure). */
  fail(code: string, message: string): string {
    if (this.#done) return '';
    this.#done = true;
    return errorEvent(code, message);
  }

  #event(raw: string): string {
    let data = '';
    for (const line of raw.split(/\r?\n/)) {
      if (line.startsWith('data:')) data += (data ? '\n' : '') + line.slice(line[5] === ' ' ? 6 : 5);
    }
    if (!data) return ''; // comments, keep-alives, event names: nothing to forward
    if (data === '[DONE]') {
      const out = this.#flushAll();
      if (this.#done) return out;
      this.#done = true;
      return out + 'data: [DONE]\n\n';
    }
    let obj: { choices?: Choice[]; usage?: Usage | null; error?: unknown };
    try {
      obj = JSON.parse(data);
    } catch {
      this.#done = true;
      return errorEvent('PERIM_E_UPSTREAM_ERROR', 'the runtime sent a malformed stream event');
    }
    if (obj.usage) {
      this.usage = obj.usage;
      if (!this.#forwardUsage) {
        if (Array.isArray(obj.choices) && obj.choices.length === 0) return '';
        delete obj.usage;
      }
    }
    if (obj.error !== undefined || !Array.isArray(obj.choices)) return `data: ${JSON.stringify(obj)}\n\n`;
    for (const c of obj.choices) {
      const idx = typeof c.index === 'number' ? c.index : 0;
      const isChat = c.delta !== undefined;
      this.#chat = isChat;
      const text = isChat ? c.delta?.content : c.text;
      let filter = this.#filters.get(idx);
      if (!filter) this.#filters.set(idx, (filter = this.#makeFilter()));
      let emit = '';
      if (typeof text === 'string' && text.length > 0) {
        this.textChars += text.length;
        const r = filter.push(text);
        if (r.blocked) return this.#block(r.blocked);
        emit = r.emit;
      }
      if (c.finish_reason) {
        const r = filter.end();
        if (r.blocked) return this.#block(r.blocked);
        emit += r.emit;
        this.#filters.delete(idx);
      }
      if (isChat) {
        if (typeof text === 'string' || emit) c.delta!.content = emit;
      } else c.text = emit;
    }
    return `data: ${JSON.stringify(obj)}\n\n`;
  }

  /** Releases every choice's held text in one chunk per choice. */
  #flushAll(): string {
    let out = '';
    for (const [idx, f] of this.#filters) {
      const r = f.end();
      if (r.blocked) return out + this.#block(r.blocked);
      if (!r.emit) continue;
      const choice = this.#chat ? { index: idx, delta: { content: r.emit }, finish_reason: null } : { index: idx, text: r.emit, finish_reason: null };
      out += `data: ${JSON.stringify({ object: this.#chat ? 'chat.completion.chunk' : 'text_completion', choices: [choice] })}\n\n`;
    }
    this.#filters.clear();
    return out;
  }

  #block(findings: readonly GuardFinding[]): string {
    this.blocked = findings;
    this.#done = true;
    return errorEvent('PERIM_E_GUARD_BLOCKED', `the response was stopped by an output guard (${ruleList(findings)})`);
  }
}

/** The distinct rule ids of some findings, for messages ("secret.aws-access-key, pii.email"). */
export function ruleList(findings: readonly GuardFinding[]): string {
  return [...new Set(findings.map((f) => f.rule))].join(', ');
}

export function errorEvent(code: string, message: string): string {
  return `data: ${JSON.stringify({ error: { message, type: 'api_error', param: null, code } })}\n\n`;
}
