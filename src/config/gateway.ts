/** The `gateway:` section: the inference gateway in `perimeter serve`. */
import { z } from 'zod';
import { gatewayIdentitySchema } from './gateway-identity.ts';
import { gatewayPolicySchema } from './gateway-policy.ts';
import { gatewayLimitsSchema } from './gateway-limits.ts';
import { gatewayGuardsSchema } from './gateway-guards.ts';

export const gatewaySchema = z
  .strictObject({
    /** Mount the OpenAI-compatible API (/v1/...) in `perimeter serve`. */
    enabled: z.boolean().default(false),
    /** The admission environment requests are checked against when the runtime names none. */
    env: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/).default('default'),
    /** redis://... : limits and kill-switch shared across replicas. Without it, PostgreSQL NOTIFY carries kills (when the store is PostgreSQL) and limits are per process. */
    redis: z.string().regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL').optional(),
    identity: gatewayIdentitySchema,
    policy: gatewayPolicySchema,
    limits: gatewayLimitsSchema,
    guards: gatewayGuardsSchema,
    upstream: z
      .strictObject({
        connect_timeout_ms: z.number().int().positive().max(60_000).default(5_000),
        /** Time to the first response byte (headers). */
        headers_timeout_ms: z.number().int().positive().max(600_000).default(60_000),
        /** Longest silence between two body chunks (streams). */
        body_timeout_ms: z.number().int().positive().max(600_000).default(120_000),
        /** Keep-alive connections per runtime. */
        connections: z.number().int().positive().max(1024).default(64),
        /**
         * Credentials the gateway presents to runtimes that require one (vLLM or llama.cpp started
         * with --api-key): runtime name -> the environment variable holding the key. Clients' own
         * credentials are never forwarded.
         */
        credentials: z.record(z.string().min(1), z.strictObject({ api_key_env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name') })).default({}),
      })
      .prefault({}),
    /** Seconds between reloads of routes, keys and kills from the store (changes notified by other replicas arrive at once). */
    refresh_interval: z.number().int().min(1).max(3600).default(10),
    /** Principals in this group may use the admin API (/admin/kill, /admin/revive, /admin/kills). */
    admin_group: z.string().min(1).default('perimeter-admin'),
    /**
     * Group commit window of the audit log in `perimeter serve`: a request's event waits at most
     * this long (milliseconds) to share one transaction with the events of other requests. Longer
     * windows cost less per request; a crash loses at most the events of the last window.
     */
    audit_window_ms: z.number().int().min(0).max(1000).default(10),
    /** Largest request body accepted. */
    max_body_bytes: z.number().int().positive().max(64 * 1024 * 1024).default(4 * 1024 * 1024),
  })
  .prefault({});

export type GatewayConfig = z.output<typeof gatewaySchema>;
