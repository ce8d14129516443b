/** Every scan rule, by id: the union of each room's table. Ids are unique across tables. */
import { ARCHIVE_RULES } from './archive/rules.ts';
import { CORE_RULES } from './core-rules.ts';
import { FORMATS_RULES } from './formats/rules.ts';
import { PICKLE_RULES } from './pickle/rules.ts';
import type { Rule, RuleTable } from './rule.ts';

export const RULES: RuleTable = Object.freeze({ ...CORE_RULES, ...PICKLE_RULES, ...ARCHIVE_RULES, ...FORMATS_RULES });

export function getRule(id: string): Rule {
  const r = RULES[id];
  if (!r) throw new Error(`unknown scan rule ${id}`);
  return r;
}
