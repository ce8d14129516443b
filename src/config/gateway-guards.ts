/** `gateway.guards`: input and output guards. Owned by src/gateway/guards. */
import { z } from 'zod';

const action = z.enum(['block', 'redact', 'log', 'off']);

const side = z
  .strictObject({
    secrets: action.default('block'),
    pii: action.default('log'),
    /** Prompt-injection and jailbreak heuristics (input) / leaked-instruction markers (output); redact means log here. */
    injection: z.enum(['block', 'log', 'off']).default('log'),
  })
  .prefault({});

const classifier = z
  .strictObject({
    /** An OpenAI-compatible base URL serving the guard model (e.g. http://127.0.0.1:11434/v1). */
    url: z.string().url(),
    model: z.string().min(1),
    /** llama-guard-3 (prompt and output format, S1..S14) or gpt-oss-safeguard (policy prompt). */
    format: z.enum(['llama-guard-3', 'gpt-oss-safeguard']).default('llama-guard-3'),
    /** gpt-oss-safeguard: the policy text file. */
    policy_file: z.string().min(1).optional(),
    /** Which side(s) it checks. */
    apply_to: z.enum(['input', 'output', 'both']).default('input'),
    timeout_ms: z.number().int().positive().max(60_000).default(2000),
    /** When the guard model fails or times out: let the request through (open) or refuse it (closed). */
    on_error: z.enum(['open', 'closed']).default('closed'),
    /** Environment variable holding the guard endpoint's API key, if it needs one. */
    api_key_env: z.string().optional(),
  })
  .refine((c) => c.format !== 'gpt-oss-safeguard' || c.policy_file !== undefined, { message: 'gpt-oss-safeguard needs policy_file (the policy text)', path: ['policy_file'] });

export const gatewayGuardsSchema = z
  .strictObject({
    input: side,
    output: side,
    classifier: classifier.optional(),
    /**
     * Characters of streamed output held back until guards have seen what follows them. Raised
     * at run time to what the enabled output rules need (256 covers every rule; docs/guards.md).
     */
    holdback_chars: z.number().int().min(0).max(65_536).default(256),
  })
  .prefault({});

export type GatewayGuardsConfig = z.output<typeof gatewayGuardsSchema>;
export type ClassifierConfig = z.output<typeof classifier>;
