/**
 * Output guards over a streamed answer. Text is released only once it can no longer be part of a
 * match: the last `holdback` characters are always held, and so is everything from the start of
 * any match that reaches into them (a PEM key, a JWT) until the match is complete. Each push
 * re-runs the detectors over the held text plus the new delta (with the released text before it
 * as look-behind context), commits the matches that end before the release point, applies their
 * actions (redaction works across deltas: a match is redacted as a whole when released), and
 * releases the text. The concatenation of everything emitted is exactly what `guardOutputText`
 * gives for the whole text (when it does not block); once a match blocks, nothing more is emitted.
 * See rule.ts for the contract that makes this exact.
 */
import type { GuardFinding, GuardResult } from '../types.ts';
import type { GuardSet } from './guard-set.ts';
import type { RawMatch } from './rule.ts';
import type { Scanner } from './scanner.ts';

export interface StreamStep {
  /** Text to send to the client now (may be empty). */
  readonly emit: string;
  /** Set once, on the step that blocked: the findings that blocked. */
  readonly blocked?: readonly GuardFinding[];
  /** Findings committed on this step (offsets are UTF-16 offsets in the whole streamed text). */
  readonly findings: readonly GuardFinding[];
}

const NONE: readonly GuardFinding[] = Object.freeze([]);
/**
 * Text is released in steps of at least this many characters: each release re-runs the detectors
 * over the held window, so releasing per token would repeat that work ~8 times as often for the
 * same text (at most STEP - 1 characters more are held).
 */
const STEP = 32;
const NOTHING: StreamStep = Object.freeze({ emit: '', findings: NONE });

export class OutputStreamGuard {
  readonly #scanner: Scanner;
  readonly #hold: number;
  readonly #context: number;
  /** Raw text from absolute offset #base: look-behind context, then held text from #rel. */
  #buf = '';
  #base = 0;
  #rel = 0;
  #score = 0;
  #blocked = false;
  #ended = false;

  constructor(set: GuardSet) {
    this.#scanner = set.outputScanner;
    this.#hold = set.holdback;
    this.#context = this.#scanner.context;
  }

  get blocked(): boolean {
    return this.#blocked;
  }

  /** Characters received but not yet released. */
  get held(): number {
    return this.#base + this.#buf.length - this.#rel;
  }

  push(delta: string): StreamStep {
    if (this.#blocked || this.#ended || delta.length === 0) return NOTHING;
    if (this.#scanner.empty) {
      this.#rel += delta.length;
      return { emit: delta, findings: NONE };
    }
    this.#buf += delta;
    const limit = this.#buf.length - this.#hold;
    if (limit - (this.#rel - this.#base) < STEP) return NOTHING;
    return this.#release(limit, false);
  }

  /** The stream ended: everything left is decided and released (or the stream blocks). */
  end(): StreamStep {
    if (this.#blocked || this.#ended) return NOTHING;
    this.#ended = true;
    if (this.#scanner.empty) return NOTHING;
    return this.#release(this.#buf.length, true);
  }

  /** Releases up to buffer index `limit` (pulled back to the start of any match crossing it). */
  #release(limit: number, final: boolean): StreamStep {
    const buf = this.#buf;
    const from = this.#rel - this.#base;
    const matches = this.#scanner.scan(buf, from);
    let r = limit;
    if (!final) {
      r = releasePoint(matches, limit);
      // Never split a surrogate pair between two emits (and stay outside every match).
      while (r > from && isHighSurrogate(buf.charCodeAt(r - 1))) r = releasePoint(matches, r - 1);
      if (r <= from) return NOTHING;
    }
    let emit: string;
    let findings: readonly GuardFinding[] = NONE;
    const committed = matches.length === 0 ? matches : commit(matches, r);
    if (committed.length === 0) emit = buf.slice(from, r);
    else {
      const a = this.#scanner.apply(buf, committed, from, r, this.#base, this.#score);
      this.#score = a.score;
      findings = a.findings;
      if (a.blocking.length > 0) {
        this.#blocked = true;
        this.#buf = '';
        return { emit: '', blocked: a.blocking, findings };
      }
      emit = a.text;
    }
    this.#rel = this.#base + r;
    const cut = r - this.#context;
    if (cut > 0) {
      this.#buf = buf.slice(cut);
      this.#base += cut;
    }
    return { emit, findings };
  }
}

/** The largest point <= limit outside every match (from where its attempt began to where the next one would). */
function releasePoint(matches: readonly RawMatch[], limit: number): number {
  let r = limit;
  for (let changed = true; changed; ) {
    changed = false;
    for (const m of matches) {
      if (m.anchor < r && m.reach > r) {
        r = m.anchor;
        changed = true;
      }
    }
  }
  return r;
}

const isHighSurrogate = (c: number): boolean => c >= 0xd800 && c <= 0xdbff;

function commit(matches: readonly RawMatch[], r: number): readonly RawMatch[] {
  let all = true;
  for (const m of matches) if (m.reach > r) all = false;
  return all ? matches : matches.filter((m) => m.reach <= r);
}

/** Output guards over one whole (non-streamed) answer. */
export function guardOutputText(text: string, set: GuardSet): GuardResult {
  return set.inspect(text, 'output');
}
