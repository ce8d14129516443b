/** `gateway.limits`: per principal and per model rate limits and budgets. Owned by src/gateway/limits. */
import { z } from 'zod';

const rule = z.strictObject({
  /** Which principals: "*" or an exact principal id, or "group:<name>" / "org:<name>". */
  principal: z.string().min(1).default('*'),
  /** Which models: "*" or an exact model id. */
  model: z.string().min(1).default('*'),
  /** Count per principal ("principal"), per model across principals ("model"), or per pair ("principal+model"). */
  per: z.enum(['principal', 'model', 'principal+model']).default('principal+model'),
  requests_per_minute: z.number().int().positive().optional(),
  tokens_per_minute: z.number().int().positive().optional(),
  tokens_per_day: z.number().int().positive().optional(),
});

export const gatewayLimitsSchema = z.array(rule).default([]);

export type GatewayLimitRule = z.output<typeof rule>;
export type GatewayLimitsConfig = z.output<typeof gatewayLimitsSchema>;
