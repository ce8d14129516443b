/**
 * The arithmetic of the three limits, shared by the in-process and Redis limiters (the Lua script
 * in redis-script.ts repeats it line for line, so both decide alike):
 *
 * - requests_per_minute R: GCRA. A key stores its theoretical arrival time `tat`; each request
 *   moves it by T = 60 s / R; a request is admitted while tat - now + T <= 60 s, so a full burst of
 *   R passes at once and then one every T.
 * - tokens_per_minute K: the same clock, moved by tokens × 60 s / K when a response is charged
 *   (it may run past the window: debt); `check` refuses while tat - now > 60 s.
 * - tokens_per_day D: tokens used in the current UTC day; refused once used >= D.
 *
 * A check first asks every matching rule whether it refuses (pass 1, no change), then consumes
 * from all of them or none, then reports the tightest rule in OpenAI's x-ratelimit-* headers.
 */
import type { LimitResult } from '../types.ts';
import { DAY, MINUTE, nextUtcMidnight, type CompiledRule } from './rules.ts';

/** Float slack, ms (and in remaining-count divisions). */
export const EPS = 1e-6;

/** Go-style durations as OpenAI sends them: "20ms", "1s", "1.5s", "6m0s", "1h2m3s". */
export function formatDuration(ms: number): string {
  if (!(ms > 0)) return '0s';
  if (ms < 1000) return `${Math.ceil(ms)}ms`;
  const totalMs = Math.ceil(ms);
  const h = Math.floor(totalMs / 3_600_000);
  const m = Math.floor((totalMs % 3_600_000) / 60_000);
  const s = (totalMs % 60_000) / 1000;
  const sec = `${s % 1 === 0 ? s : s.toFixed(3).replace(/0+$/, '')}s`;
  if (h > 0) return `${h}h${m}m${sec}`;
  if (m > 0) return `${m}m${sec}`;
  return sec;
}

export const ALLOWED: LimitResult = Object.freeze({ allowed: true, retryAfterMs: 0, headers: Object.freeze({}) });

type Code = 'PERIM_E_RATE_LIMITED' | 'PERIM_E_BUDGET_EXHAUSTED';

/** Collects one check's outcome; reused (checks run synchronously between awaits). */
export class Tally {
  refused = false;
  code: Code = 'PERIM_E_RATE_LIMITED';
  limit = '';
  retry = 0;
  reqLimit = 0;
  reqRemaining = -1;
  reqReset = 0;
  tokLimit = 0;
  tokRemaining = -1;
  tokReset = 0;

  clear(): void {
    this.refused = false;
    this.retry = 0;
    this.reqRemaining = -1;
    this.tokRemaining = -1;
  }

  /** Keeps the refusal that lasts longest: a retry must wait for every refusing rule. */
  refuse(code: Code, limit: string, retryMs: number): void {
    if (!this.refused || retryMs > this.retry) {
      this.code = code;
      this.limit = limit;
      this.retry = retryMs;
    }
    this.refused = true;
  }

  requests(limit: number, remaining: number, resetMs: number): void {
    if (this.reqRemaining < 0 || remaining < this.reqRemaining) {
      this.reqLimit = limit;
      this.reqRemaining = remaining;
      this.reqReset = resetMs;
    }
  }

  tokens(limit: number, remaining: number, resetMs: number): void {
    if (this.tokRemaining < 0 || remaining < this.tokRemaining) {
      this.tokLimit = limit;
      this.tokRemaining = remaining;
      this.tokReset = resetMs;
    }
  }

  result(): LimitResult {
    const headers: Record<string, string> = {};
    if (this.reqRemaining >= 0) {
      headers['x-ratelimit-limit-requests'] = String(this.reqLimit);
      headers['x-ratelimit-remaining-requests'] = String(this.reqRemaining);
      headers['x-ratelimit-reset-requests'] = formatDuration(this.reqReset);
    }
    if (this.tokRemaining >= 0) {
      headers['x-ratelimit-limit-tokens'] = String(this.tokLimit);
      headers['x-ratelimit-remaining-tokens'] = String(this.tokRemaining);
      headers['x-ratelimit-reset-tokens'] = formatDuration(this.tokReset);
    }
    if (!this.refused) return { allowed: true, retryAfterMs: 0, headers };
    return { allowed: false, code: this.code, limit: this.limit, retryAfterMs: Math.max(1, Math.ceil(this.retry)), headers };
  }
}

/** Pass 1: does this rule refuse the request, given its state before it? Records why in the tally. */
export function judge(t: Tally, r: CompiledRule, tat: number, tokTat: number, used: number, now: number): void {
  if (r.rpm) {
    const occupied = tat > now ? tat - now : 0;
    if (occupied + r.requestInterval > MINUTE + EPS) t.refuse('PERIM_E_RATE_LIMITED', 'requests_per_minute', occupied + r.requestInterval - MINUTE);
  }
  if (r.tpm) {
    const occupied = tokTat > now ? tokTat - now : 0;
    if (occupied > MINUTE + EPS) t.refuse('PERIM_E_RATE_LIMITED', 'tokens_per_minute', occupied - MINUTE);
  }
  if (r.tpd && used >= r.tpd) t.refuse('PERIM_E_BUDGET_EXHAUSTED', 'tokens_per_day', nextUtcMidnight(now) - now);
}

/** Pass 2: the rule's headers, given its state after the decision (tat moved when admitted). */
export function report(t: Tally, r: CompiledRule, tat: number, tokTat: number, used: number, now: number): void {
  if (r.rpm) {
    const occupied = tat > now ? tat - now : 0;
    const left = Math.floor((MINUTE - occupied) / r.requestInterval + EPS);
    t.requests(r.rpm, left > 0 ? left : 0, occupied);
  }
  if (r.tpm) {
    const occupied = tokTat > now ? tokTat - now : 0;
    const left = Math.floor((MINUTE - occupied) / r.tokenInterval + EPS);
    t.tokens(r.tpm, left > 0 ? left : 0, occupied);
  }
  if (r.tpd) t.tokens(r.tpd, used < r.tpd ? r.tpd - used : 0, nextUtcMidnight(now) - now);
}

/** The UTC day number of an epoch ms time. */
export const dayOf = (now: number): number => Math.floor(now / DAY);
