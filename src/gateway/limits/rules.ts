/**
 * Limit rules compiled once: principal and model patterns turned into cheap tests, the counting
 * subject of each rule, and a stable id per rule (a hash of its content, so Redis keys survive a
 * config reload that reorders rules and never carry one rule's state over to another).
 */
import { hash } from 'node:crypto';
import type { GatewayLimitRule } from '../../config/gateway-limits.ts';
import type { Principal } from '../types.ts';

/** One minute, the window of the per-minute limits, in ms. */
export const MINUTE = 60_000;
export const DAY = 86_400_000;

export interface CompiledRule {
  /** 12 hex characters of SHA-256 over the rule's content. */
  readonly id: string;
  readonly index: number;
  /** 0 any principal, 1 exact id, 2 group, 3 org. */
  readonly principalKind: 0 | 1 | 2 | 3;
  readonly principalValue: string;
  /** null: any model. */
  readonly model: string | null;
  readonly per: GatewayLimitRule['per'];
  /** 0 when the rule has no such limit. */
  readonly rpm: number;
  readonly tpm: number;
  readonly tpd: number;
  /** Emission intervals (ms per request, ms per token) of the per-minute limits. */
  readonly requestInterval: number;
  readonly tokenInterval: number;
}

export function compileRules(rules: readonly GatewayLimitRule[]): CompiledRule[] {
  const out: CompiledRule[] = [];
  rules.forEach((r, index) => {
    const rpm = r.requests_per_minute ?? 0;
    const tpm = r.tokens_per_minute ?? 0;
    const tpd = r.tokens_per_day ?? 0;
    if (rpm === 0 && tpm === 0 && tpd === 0) return; // a rule with no limit limits nothing
    let principalKind: CompiledRule['principalKind'] = 1;
    let principalValue = r.principal;
    if (r.principal === '*') principalKind = 0;
    else if (r.principal.startsWith('group:')) {
      principalKind = 2;
      principalValue = r.principal.slice(6);
    } else if (r.principal.startsWith('org:')) {
      principalKind = 3;
      principalValue = r.principal.slice(4);
    }
    const content = JSON.stringify([r.principal, r.model, r.per, rpm, tpm, tpd]);
    out.push({
      id: hash('sha256', content, 'hex').slice(0, 12),
      index,
      principalKind,
      principalValue,
      model: r.model === '*' ? null : r.model,
      per: r.per,
      rpm,
      tpm,
      tpd,
      requestInterval: rpm ? MINUTE / rpm : 0,
      tokenInterval: tpm ? MINUTE / tpm : 0,
    });
  });
  return out;
}

export function ruleMatches(r: CompiledRule, p: Principal, model: string): boolean {
  if (r.model !== null && r.model !== model) return false;
  switch (r.principalKind) {
    case 0:
      return true;
    case 1:
      return p.id === r.principalValue;
    case 2:
      return p.groups.includes(r.principalValue);
    default:
      return p.org === r.principalValue;
  }
}

/** What the rule counts for this request: the principal, the model, or the pair. */
export function subjectOf(r: CompiledRule, p: Principal, model: string): string {
  return r.per === 'principal' ? p.id : r.per === 'model' ? model : `${p.id}\u0000${model}`;
}

/** Epoch ms of the next UTC midnight after `now`. */
export const nextUtcMidnight = (now: number): number => (Math.floor(now / DAY) + 1) * DAY;
