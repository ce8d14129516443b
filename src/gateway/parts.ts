/** What the request flow is made of: the roles (types.ts) plus routing, upstreams and the record. */
import type { Logger } from 'pino';
import type { AuditEvent } from '../audit/events.ts';
import type { GatewayMetrics } from './metrics.ts';
import type { RouteTable } from './routes.ts';
import type { Upstream } from './upstream.ts';
import type { Flights } from './flights.ts';
import type { StreamFilter } from './sse.ts';
import type { Authenticator, Authorizer, GuardFinding, GuardResult, KillSwitch, RateLimiter } from './types.ts';

import type { Endpoint } from './guards/request.ts';

export type { Endpoint };

/** The guards as the flow uses them (built from the guard set and the classifier). */
export interface RequestGuards {
  /** Guards a request body; `body` is a new object when anything was redacted (`changed`). */
  input(endpoint: Endpoint, body: Record<string, unknown>): Promise<{ body: Record<string, unknown>; changed: boolean; findings: GuardFinding[]; blocked: boolean }>;
  /** Guards one complete (non-streamed) output text; `request` gives a classifier the prompt it answers. */
  output(text: string, request?: { endpoint: Endpoint; body: Record<string, unknown> }): Promise<GuardResult>;
  /** A fresh filter for one streamed choice. */
  stream(): StreamFilter;
}

/** Fire-and-forget audit recording (AuditLog.submit). */
export interface AuditSubmit {
  submit(event: AuditEvent): void;
}

export interface GatewayParts {
  readonly authenticator: Authenticator;
  readonly authorizer: Authorizer;
  readonly limiter: RateLimiter;
  readonly kills: KillSwitch;
  readonly routes: RouteTable;
  readonly upstream: Upstream;
  readonly guards: RequestGuards;
  readonly flights: Flights;
  readonly audit: AuditSubmit;
  readonly metrics: GatewayMetrics;
  readonly log: Logger;
  /** --dev: unadmitted models are served (with a warning header). */
  readonly dev: boolean;
  readonly maxBodyBytes: number;
  /** Largest upstream response body read whole (non-streamed). */
  readonly maxResponseBytes: number;
}
