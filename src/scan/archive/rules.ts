import type { RuleTable } from '../rule.ts';

export const ARCHIVE_RULES: RuleTable = {};
