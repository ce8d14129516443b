import type { RuleTable } from '../rule.ts';

export const PICKLE_RULES: RuleTable = {};
