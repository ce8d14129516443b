/** `gateway.limits`: per principal and per model rate limits and budgets. Owned by src/gateway/limits. */
import { z } from 'zod';

const rule = z
  .strictObject({
    /** Which principals: "*" or an exact principal id, or "group:<name>" / "org:<name>". */
    principal: z
      .string()
      .min(1)
      .refine((p) => p !== 'group:' && p !== 'org:', 'group: and org: need a name (group:<name>, org:<name>)')
      .default('*'),
    /** Which models: "*" or an exact model id. */
    model: z.string().min(1).default('*'),
    /** Count per principal ("principal"), per model across principals ("model"), or per pair ("principal+model"). */
    per: z.enum(['principal', 'model', 'principal+model']).default('principal+model'),
    /** GCRA: bursts up to this many at once, then one every 60 s / N. */
    requests_per_minute: z.number().int().positive().optional(),
    /** Charged after each response; a request is refused while the tokens used run more than a minute ahead. */
    tokens_per_minute: z.number().int().positive().optional(),
    /** Per UTC day; refused (PERIM_E_BUDGET_EXHAUSTED) once used up, until midnight UTC. */
    tokens_per_day: z.number().int().positive().optional(),
  })
  .refine((r) => r.requests_per_minute !== undefined || r.tokens_per_minute !== undefined || r.tokens_per_day !== undefined, {
    message: 'a limit rule needs requests_per_minute, tokens_per_minute or tokens_per_day',
  });

export const gatewayLimitsSchema = z.array(rule).default([]);

export type GatewayLimitRule = z.output<typeof rule>;
export type GatewayLimitsConfig = z.output<typeof gatewayLimitsSchema>;
