/** `gateway.policy`: Cedar authorization (default deny). Owned by src/policy/authz. */
import { z } from 'zod';

export const gatewayPolicySchema = z
  .strictObject({
    /** Cedar policy files (.cedar); none: every request is denied. */
    cedar: z.array(z.string().min(1)).default([]),
    /** Optional Cedar schema file (JSON or human format); when given, policies are validated against it. */
    schema: z.string().min(1).optional(),
    /** Seconds between checks of the policy files for changes; 0: only on SIGHUP / admin reload. */
    reload_interval: z.number().int().min(0).max(3600).default(5),
    /** Decision cache size (entries); 0 turns the cache off. */
    cache_size: z.number().int().min(0).max(1_000_000).default(10_000),
  })
  .prefault({});

export type GatewayPolicyConfig = z.output<typeof gatewayPolicySchema>;
