import type { Severity } from './types.ts';

/** A scan rule: what a finding of this kind means and what to do about it (SARIF reportingDescriptor). */
export interface Rule {
  severity: Severity;
  /** Short title, sentence case, no period. */
  title: string;
  /** What a user should do. */
  remediation: string;
}
export type RuleTable = Readonly<Record<string, Rule>>;
