/**
 * The rules of one side (input or output) compiled together: a one-pass character scan finds
 * which rules' triggers occur (most texts: none, and the scan is all it costs), then only those
 * rules run; their matches are merged, given the configured action, and applied (redaction
 * spans replaced by "[REDACTED:<rule>]", overlapping spans merged under the first one's rule).
 */
import type { GuardAction, GuardFinding } from '../types.ts';
import type { RawMatch, Rule } from './rule.ts';

export interface ActiveRule {
  readonly rule: Rule;
  /** For injection rules: the action once the score reaches 1 ('block' or 'log'). */
  readonly action: GuardAction;
}

/** Where a literal must start to count: anywhere, at a word start, or at a line start. */
const ANY = 0;
const WORD = 1;
const LINE = 2;

interface Literal {
  readonly text: string;
  readonly ci: boolean;
  readonly at: typeof ANY | typeof WORD | typeof LINE;
  readonly rules: readonly number[];
}

/** What applying a set of matches to a text segment gave. */
export interface Applied {
  /** The segment with redactions applied. */
  readonly text: string;
  readonly findings: GuardFinding[];
  readonly blocking: GuardFinding[];
  readonly redacted: boolean;
  /** Injection score after these matches. */
  readonly score: number;
}

const NO_MATCHES: RawMatch[] = [];
const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isUpper = (c: number): boolean => c >= 65 && c <= 90;
/** Separators allowed inside a number run (phone, card, id): space - . ( ) / */
const isNumSep = (c: number): boolean => c === 32 || c === 45 || c === 46 || c === 40 || c === 41 || c === 47;

export class Scanner {
  readonly rules: readonly Rule[];
  readonly actions: readonly GuardAction[];
  /** Characters a stream must hold back so a released character can no longer be part of a match. */
  readonly holdback: number;
  /** Characters of released text kept as look-behind context. */
  readonly context: number;
  /** Literals of 3+ characters by a 15-bit key of their first three (5 low bits of each, case folded). */
  readonly #tri: (Literal[] | undefined)[] = new Array(1 << 15);
  readonly #triMask = new Uint8Array(1 << 15);
  /** Literals of 1 or 2 characters by their first character. */
  readonly #short: (Literal[] | undefined)[] = new Array(128);
  /** ASCII characters that start something checked one by one: short literals, digits, capitals. */
  readonly #rare = new Uint8Array(128);
  readonly #digits7: number[] = [];
  readonly #upper2: number[] = [];
  readonly #tag: number[] = [];
  readonly #bidi: number[] = [];
  readonly #hit: Uint32Array;
  #gen = 0;

  constructor(active: readonly ActiveRule[]) {
    this.rules = active.map((a) => a.rule);
    this.actions = active.map((a) => a.action);
    this.#hit = new Uint32Array(active.length);
    this.holdback = this.rules.reduce((m, r) => Math.max(m, r.span + r.ahead), 0);
    this.context = this.rules.reduce((m, r) => Math.max(m, r.behind), 0);
    const lits = new Map<string, number[]>();
    this.rules.forEach((r, i) => {
      for (const t of r.triggers.cs ?? []) push(lits, `s${t}`, i);
      for (const t of r.triggers.ci ?? []) push(lits, `i${t.toLowerCase()}`, i);
      for (const t of r.triggers.ciWord ?? []) push(lits, `w${t.toLowerCase()}`, i);
      for (const t of r.triggers.ciLine ?? []) push(lits, `l${t.toLowerCase()}`, i);
      for (const s of r.triggers.special ?? []) (s === 'digits7' ? this.#digits7 : s === 'upper2digit2' ? this.#upper2 : s === 'tag' ? this.#tag : this.#bidi).push(i);
    });
    const variants = (c: number, ci: boolean): number[] => (ci && c >= 97 && c <= 122 ? [c, c - 32] : [c]);
    for (const [key, rules] of lits) {
      const lit: Literal = { text: key.slice(1), ci: key[0] !== 's', at: key[0] === 'w' ? WORD : key[0] === 'l' ? LINE : ANY, rules };
      const t = lit.text;
      if (t.length === 0 || /[^\x00-\x7f]/.test(t)) throw new Error(`trigger literals are ASCII: ${t}`);
      if (t.length < 3) {
        for (const f of variants(t.charCodeAt(0), lit.ci)) {
          (this.#short[f] ??= []).push(lit);
          this.#rare[f] = 1;
        }
        continue;
      }
      const k = (fold(t.charCodeAt(0)) << 10) | (fold(t.charCodeAt(1)) << 5) | fold(t.charCodeAt(2));
      (this.#tri[k] ??= []).push(lit);
      this.#triMask[k] = 1;
    }
    if (this.#digits7.length > 0) for (let c = 48; c <= 57; c++) this.#rare[c] = 1;
    if (this.#upper2.length > 0) for (let c = 65; c <= 90; c++) this.#rare[c] = 1;
  }

  get empty(): boolean {
    return this.rules.length === 0;
  }

  /**
   * Marks the rules whose triggers occur anywhere in `text`; false when none does. One pass over
   * the characters: a rolling key of the last three characters is looked up in a bit table, and
   * literals are compared only where their first three characters (case folded) occur.
   */
  prefilter(text: string): boolean {
    const hit = this.#hit;
    // A generation number marks this call's hits without clearing the array; it wraps at 2^32.
    let gen = (this.#gen + 1) >>> 0;
    if (gen === 0) {
      hit.fill(0);
      gen = 1;
    }
    this.#gen = gen;
    const tri = this.#tri;
    const triMask = this.#triMask;
    const rare = this.#rare;
    const wantWide = this.#tag.length > 0 || this.#bidi.length > 0;
    let any = false;
    let key = 0;
    let runEnd = 0;
    const n = text.length;
    for (let i = 0; i < n; i++) {
      const c = text.charCodeAt(i);
      key = ((key << 5) | fold(c)) & 0x7fff;
      if (triMask[key] === 1 && i >= 2) {
        for (const lit of tri[key]!) {
          if (literalAt(text, i - 2, lit)) {
            for (const r of lit.rules) hit[r] = gen;
            any = true;
          }
        }
      }
      if (c < 128) {
        if (rare[c] === 1) {
          if (this.#rareAt(text, i, c, gen, runEnd)) any = true;
          if (isDigit(c) && i >= runEnd) runEnd = numberRunEnd(text, i);
        }
      } else if (wantWide) {
        if (c === 0xdb40) {
          for (const r of this.#tag) hit[r] = gen;
          any = this.#tag.length > 0 || any;
        } else if ((c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069)) {
          for (const r of this.#bidi) hit[r] = gen;
          any = this.#bidi.length > 0 || any;
        }
      }
    }
    return any;
  }

  /** Short literals, number runs and capital-letter shapes starting at i; true when something hit. */
  #rareAt(text: string, i: number, c: number, gen: number, runEnd: number): boolean {
    const hit = this.#hit;
    let any = false;
    const short = this.#short[c];
    if (short !== undefined) {
      for (const lit of short) {
        if (literalAt(text, i, lit)) {
          for (const r of lit.rules) hit[r] = gen;
          any = true;
        }
      }
    }
    if (isDigit(c)) {
      if (this.#digits7.length > 0 && i >= runEnd && numberRunDigits(text, i) >= 7) {
        for (const r of this.#digits7) hit[r] = gen;
        any = true;
      }
    } else if (this.#upper2.length > 0 && isUpper(c) && i + 3 < text.length && isUpper(text.charCodeAt(i + 1))) {
      const k = text.charCodeAt(i + 2) === 32 ? i + 3 : i + 2;
      if (k + 1 < text.length && isDigit(text.charCodeAt(k)) && isDigit(text.charCodeAt(k + 1))) {
        for (const r of this.#upper2) hit[r] = gen;
        any = true;
      }
    }
    return any;
  }

  /**
   * Matches starting at or after `from` (text before it is look-behind context), sorted by start
   * then longest first; the prefilter looks at the whole text, context included.
   */
  scan(text: string, from = 0): RawMatch[] {
    if (this.rules.length === 0 || !this.prefilter(text)) return NO_MATCHES;
    const gen = this.#gen;
    const out: RawMatch[] = [];
    for (let r = 0; r < this.rules.length; r++) if (this.#hit[r] === gen) this.rules[r]!.find(text, from, r, out);
    if (out.length > 1) out.sort((a, b) => a.start - b.start || b.end - a.end);
    return out;
  }

  /**
   * Applies matches (sorted, all inside [segStart, segEnd)) to that segment of `text`.
   * Findings' offsets are `offset + index`. `scoreBefore`: injection score already reached.
   */
  apply(text: string, matches: readonly RawMatch[], segStart: number, segEnd: number, offset: number, scoreBefore: number): Applied {
    const kept = dedupe(matches, this.rules);
    let score = scoreBefore;
    for (const m of kept) if (this.rules[m.rule]!.kind === 'injection') score += this.rules[m.rule]!.weight;
    const findings: GuardFinding[] = [];
    const blocking: GuardFinding[] = [];
    let out = '';
    let cursor = segStart;
    let groupEnd = -1;
    let redacted = false;
    for (const m of kept) {
      const rule = this.rules[m.rule]!;
      let action = this.actions[m.rule]!;
      if (rule.kind === 'injection' && (action !== 'block' || score < 1)) action = 'log';
      const f: GuardFinding = { rule: rule.id, kind: rule.kind, action, start: offset + m.start, end: offset + m.end };
      findings.push(f);
      if (action === 'block') blocking.push(f);
      else if (action === 'redact') {
        redacted = true;
        if (m.start >= groupEnd) {
          out += `${text.slice(cursor, m.start)}[REDACTED:${rule.id}]`;
          groupEnd = m.end;
          cursor = m.end;
        } else if (m.end > groupEnd) {
          groupEnd = m.end;
          cursor = m.end;
        }
      }
    }
    out = redacted ? out + text.slice(cursor, segEnd) : text.slice(segStart, segEnd);
    return { text: out, findings, blocking, redacted, score };
  }
}

/** The 5 low bits of a character with ASCII letters case folded (a superset key: literals are compared exactly). */
function fold(c: number): number {
  return (c | 32) & 31;
}

/** Where a run of digits with single or double separators (space - . ( ) /) starting at i ends. */
function numberRunEnd(text: string, i: number): number {
  let j = i;
  let sep = 0;
  for (; j < text.length; j++) {
    const d = text.charCodeAt(j);
    if (isDigit(d)) sep = 0;
    else if (sep < 2 && isNumSep(d)) sep++;
    else break;
  }
  return j - sep;
}

function numberRunDigits(text: string, i: number): number {
  const end = numberRunEnd(text, i);
  let digits = 0;
  for (let j = i; j < end; j++) if (isDigit(text.charCodeAt(j))) digits++;
  return digits;
}

function push(map: Map<string, number[]>, key: string, v: number): void {
  const a = map.get(key);
  if (a) {
    if (!a.includes(v)) a.push(v);
  } else map.set(key, [v]);
}

/** Whether `lit` occurs at `at`, where its anchor allows (a character before the text counts as none). */
function literalAt(text: string, at: number, lit: Literal): boolean {
  if (!(lit.ci ? startsWithCi(text, at, lit.text) : text.startsWith(lit.text, at))) return false;
  if (lit.at === ANY) return true;
  if (lit.at === WORD) return !isWordChar(text.charCodeAt(at - 1));
  let j = at - 1;
  for (let n = 0; n < 3 && j >= 0; n++, j--) {
    const c = text.charCodeAt(j);
    if (c !== 32 && c !== 9) break;
  }
  if (j < 0) return true;
  const c = text.charCodeAt(j);
  return c === 10 || c === 13 || c === 0x2028 || c === 0x2029;
}

/** [A-Za-z0-9_], the characters of a regex \w without the u flag (NaN, before the text: no). */
function isWordChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}

function startsWithCi(text: string, at: number, lower: string): boolean {
  if (at + lower.length > text.length) return false;
  for (let k = 0; k < lower.length; k++) {
    let c = text.charCodeAt(at + k);
    if (c >= 65 && c <= 90) c |= 32;
    if (c !== lower.charCodeAt(k)) return false;
  }
  return true;
}

/** Drops a match that overlaps an earlier kept match of the same rule id (several rules share ids). */
function dedupe(matches: readonly RawMatch[], rules: readonly Rule[]): readonly RawMatch[] {
  if (matches.length < 2) return matches;
  const lastEnd = new Map<string, number>();
  const kept: RawMatch[] = [];
  for (const m of matches) {
    const id = rules[m.rule]!.id;
    const e = lastEnd.get(id);
    if (e !== undefined && m.start < e) continue;
    lastEnd.set(id, m.end);
    kept.push(m);
  }
  return kept;
}
