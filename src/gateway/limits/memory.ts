/**
 * The in-process limiter: one Map per rule from counting subject to a small mutable slot. A check
 * is a loop over the rules, a Map lookup per matching rule, two passes of arithmetic and one
 * result object; nothing else is allocated once a subject has its slot. Idle slots (every clock
 * run out, no tokens used today) are swept at most once a minute.
 */
import type { GatewayLimitRule } from '../../config/gateway-limits.ts';
import type { LimitResult, Principal, RateLimiter } from '../types.ts';
import { ALLOWED, Tally, dayOf, judge, report } from './evaluate.ts';
import { MINUTE, compileRules, ruleMatches, subjectOf, type CompiledRule } from './rules.ts';

interface Slot {
  /** GCRA theoretical arrival time of requests (epoch ms). */
  tat: number;
  /** The same for tokens (runs past now + 1 min while in debt). */
  tokTat: number;
  /** UTC day number `used` counts for. */
  day: number;
  used: number;
}

const ALLOWED_PROMISE: Promise<LimitResult> = Promise.resolve(ALLOWED);

export class MemoryRateLimiter implements RateLimiter {
  readonly rules: readonly CompiledRule[];
  readonly #maps: Map<string, Slot>[];
  readonly #now: () => number;
  readonly #tally = new Tally();
  readonly #matched: number[] = [];
  readonly #slots: Slot[] = [];
  #nextSweep = 0;

  constructor(rules: readonly GatewayLimitRule[], now: () => number = Date.now) {
    this.rules = compileRules(rules);
    this.#maps = this.rules.map(() => new Map());
    this.#now = now;
  }

  check(p: Principal, model: string): Promise<LimitResult> {
    if (this.rules.length === 0) return ALLOWED_PROMISE;
    return Promise.resolve(this.checkSync(p, model));
  }

  /** The same as check, without the promise (for callers that can use it, and for benches). */
  checkSync(p: Principal, model: string): LimitResult {
    const rules = this.rules;
    const now = this.#now();
    const today = dayOf(now);
    const matched = this.#matched;
    const slots = this.#slots;
    let k = 0;
    for (let i = 0; i < rules.length; i++) {
      const r = rules[i]!;
      if (!ruleMatches(r, p, model)) continue;
      const s = this.#slot(i, subjectOf(r, p, model), today);
      matched[k] = i;
      slots[k++] = s;
    }
    if (k === 0) return ALLOWED;
    const t = this.#tally;
    t.clear();
    for (let j = 0; j < k; j++) {
      const s = slots[j]!;
      judge(t, rules[matched[j]!]!, s.tat, s.tokTat, s.used, now);
    }
    const admit = !t.refused;
    for (let j = 0; j < k; j++) {
      const r = rules[matched[j]!]!;
      const s = slots[j]!;
      if (admit && r.rpm) s.tat = (s.tat > now ? s.tat : now) + r.requestInterval;
      report(t, r, s.tat, s.tokTat, s.used, now);
    }
    if (now >= this.#nextSweep) this.#sweep(now, today);
    return t.result();
  }

  charge(p: Principal, model: string, tokens: number): void {
    if (!(tokens > 0) || !Number.isFinite(tokens)) return;
    const rules = this.rules;
    const now = this.#now();
    const today = dayOf(now);
    for (let i = 0; i < rules.length; i++) {
      const r = rules[i]!;
      if ((r.tpm === 0 && r.tpd === 0) || !ruleMatches(r, p, model)) continue;
      const s = this.#slot(i, subjectOf(r, p, model), today);
      if (r.tpm) s.tokTat = (s.tokTat > now ? s.tokTat : now) + tokens * r.tokenInterval;
      if (r.tpd) s.used += tokens;
    }
  }

  /** Slots held (for tests and metrics). */
  size(): number {
    let n = 0;
    for (const m of this.#maps) n += m.size;
    return n;
  }

  #slot(i: number, key: string, today: number): Slot {
    const m = this.#maps[i]!;
    let s = m.get(key);
    if (s === undefined) {
      s = { tat: 0, tokTat: 0, day: today, used: 0 };
      m.set(key, s);
    } else if (s.day !== today) {
      s.day = today;
      s.used = 0;
    }
    return s;
  }

  #sweep(now: number, today: number): void {
    this.#nextSweep = now + MINUTE;
    for (const m of this.#maps) {
      for (const [key, s] of m) if (s.tat <= now && s.tokTat <= now && (s.used === 0 || s.day !== today)) m.delete(key);
    }
  }

  async close(): Promise<void> {}
}
