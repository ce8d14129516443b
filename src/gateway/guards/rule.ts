/**
 * One detection rule and the contract that lets the streaming guard give exactly the same answer
 * as the whole-text guard.
 *
 * A rule finds non-overlapping matches left to right (leftmost first), from a start index, with
 * read access to the text before it (look-behind). The contract, for a match attempt at `a`:
 *   - it reads no text before `a - behind`;
 *   - whether there is a match at `a` is decided by the text before `a + span`, and past that a
 *     match only grows (a greedy tail, e.g. a PEM body), never disappears;
 *   - where a match ends is decided by the text before `end + ahead`, and `span` also bounds
 *     how far past `a` an attempt reads when it validates a longer candidate than it reports;
 *   - every match has one of the rule's triggers within [start - behind, end).
 * The stream guard holds back `max(span + ahead)` characters and keeps `max(behind)` characters
 * of context, so any text it releases can no longer be part of any match (stream.ts).
 */
import type { GuardKind } from '../types.ts';

/**
 * A match: rule index in its scanner, the reported span [start, end), where the attempt that
 * found it began (`anchor` <= start: a rule may report only the value after a name) and where
 * the next attempt of the rule begins (`reach` >= end: e.g. after a closing quote).
 */
export interface RawMatch {
  rule: number;
  anchor: number;
  start: number;
  end: number;
  reach: number;
}

/** What wakes a rule up: literals (case-sensitive or not, ASCII) or a special character shape. */
export interface Triggers {
  /** Case-sensitive literals. */
  readonly cs?: readonly string[];
  /** Case-insensitive literals (written in lower case, ASCII). */
  readonly ci?: readonly string[];
  /** Case-insensitive literals that count only at the start of a word (the character before is not [A-Za-z0-9_]), as after a regex's \b. */
  readonly ciWord?: readonly string[];
  /** Case-insensitive literals that count only at the start of a line, after at most 3 spaces or tabs, as after `^[ \t]{0,3}` with the m flag. */
  readonly ciLine?: readonly string[];
  /** digits7: a run of >= 7 digits with single/double separators; upper2digit2: [A-Z]{2} ?\d\d; tag: U+E0000..E007F; bidi: bidi embedding/override/isolate controls. */
  readonly special?: readonly ('digits7' | 'upper2digit2' | 'tag' | 'bidi')[];
}

export interface Rule {
  /** Finding rule id, e.g. "secret.github-token". Several rules may share one id. */
  readonly id: string;
  readonly kind: GuardKind;
  /** Injection rules: contribution to the score (a score >= 1 applies the configured action). */
  readonly weight: number;
  readonly triggers: Triggers;
  readonly behind: number;
  readonly span: number;
  readonly ahead: number;
  /** Appends matches at or after `from` in `text` to `out`. */
  find(text: string, from: number, rule: number, out: RawMatch[]): void;
}

export interface RegexRuleSpec {
  id: string;
  kind: GuardKind;
  weight?: number;
  /** Source of a global regex; flags other than g/d are given in `flags`. */
  re: string;
  flags?: string;
  triggers: Triggers;
  behind?: number;
  span: number;
  ahead?: number;
  /** Report this capture group's span instead of the whole match (uses the d flag). */
  group?: number;
  /**
   * Checks a candidate; returns the span to report (may be shorter than the candidate), or
   * undefined to drop it (the search goes on one character after the candidate's start).
   */
  validate?: (m: RegExpExecArray, text: string) => readonly [number, number] | undefined | boolean;
}

/** A rule backed by one global regular expression, with an optional validation step. */
export function regexRule(spec: RegexRuleSpec): Rule {
  const flags = `g${spec.group !== undefined ? 'd' : ''}${spec.flags ?? ''}`;
  const re = new RegExp(spec.re, flags);
  const group = spec.group;
  const validate = spec.validate;
  return {
    id: spec.id,
    kind: spec.kind,
    weight: spec.weight ?? 1,
    triggers: spec.triggers,
    behind: spec.behind ?? 1,
    span: spec.span,
    ahead: spec.ahead ?? 1,
    find(text, from, rule, out) {
      re.lastIndex = from;
      let m: RegExpExecArray | null;
      while ((m = re.exec(text)) !== null) {
        const candidateEnd = m.index + m[0].length;
        if (m[0].length === 0) {
          re.lastIndex = m.index + 1;
          continue;
        }
        let start = m.index;
        let end = candidateEnd;
        if (group !== undefined) {
          const g = m.indices?.[group];
          if (!g) {
            re.lastIndex = m.index + 1;
            continue;
          }
          start = g[0];
          end = g[1];
        }
        if (validate) {
          const v = validate(m, text);
          if (v === undefined || v === false) {
            re.lastIndex = m.index + 1;
            continue;
          }
          if (v !== true) {
            start = v[0];
            end = v[1];
            // A shorter span than the candidate: the rest of the candidate may start the next match.
            if (end < candidateEnd && end > m.index) re.lastIndex = end;
          }
        }
        out.push({ rule, anchor: m.index, start, end, reach: Math.max(end, re.lastIndex) });
      }
    },
  };
}
