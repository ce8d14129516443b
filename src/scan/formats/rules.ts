import type { RuleTable } from '../rule.ts';

export const FORMATS_RULES: RuleTable = {};
