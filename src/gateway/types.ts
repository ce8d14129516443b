/**
 * The roles of the request flow, each a small interface so the pipeline (pipeline.ts) reads as a
 * straight line and each part can be tested on its own:
 *
 *   client -> Authenticator -> KillSwitch -> Authorizer -> RateLimiter -> input Guards
 *          -> upstream runtime -> output Guards (streamed) -> audit -> client
 *
 * Everything on the hot path answers from memory: keys, routes, kills and policies are loaded at
 * start and kept current by refresh and change notifications, never fetched per request.
 */
import type { IncomingHttpHeaders } from 'node:http';

/** Who calls: from an API key or a verified JWT. Never carries the credential itself. */
export interface Principal {
  /** For API keys the principal name the key was made for; for JWTs "<issuer>#<sub>". */
  readonly id: string;
  readonly kind: 'api-key' | 'jwt' | 'dev';
  /** The credential that authenticated it: an API key id, or the JWT's jti / issuer. */
  readonly credential: string;
  readonly org: string | null;
  readonly groups: readonly string[];
  /** The identity was verified by its issuer (e.g. email_verified, or set on the key). */
  readonly verified: boolean;
  /** Usage attestations the principal has signed (e.g. "acceptable-use-2026"). */
  readonly attestations: readonly string[];
  /** Any further attributes, as plain JSON values (strings, numbers, booleans, string lists). */
  readonly attributes: Readonly<Record<string, string | number | boolean | readonly string[]>>;
  /** A stable hash of id, kind and every attribute: part of every cache key that depends on the principal. */
  readonly fingerprint: string;
}

export interface Authenticator {
  /** The principal, or a PerimeterError PERIM_E_AUTH_MISSING / PERIM_E_AUTH_INVALID / PERIM_E_AUTH_EXPIRED. */
  authenticate(headers: IncomingHttpHeaders): Promise<Principal>;
}

export type Action = 'infer' | 'embed' | 'list';

/** A model as the policy sees it: what the caller asked for and what the inventory knows. */
export interface ModelResource {
  /** The model id the client names (e.g. "llama3.1:8b"). */
  readonly id: string;
  /** The artifact root digest it is bound to, when known. */
  readonly digest: string | null;
  /** Admitted for the environment of the runtime serving it. */
  readonly admitted: boolean;
  readonly license: string | null;
  readonly tier: number | null;
  readonly runtime: string;
}

export interface AuthzContext {
  /** Epoch ms of the request. */
  readonly time: number;
  readonly sourceIp: string;
  /** The purpose the caller declared (header x-perimeter-purpose), if any. */
  readonly purpose: string | null;
}

export interface AuthzRequest {
  readonly principal: Principal;
  readonly action: Action;
  readonly resource: ModelResource;
  readonly context: AuthzContext;
}

export interface AuthzDecision {
  readonly allowed: boolean;
  /** Human-readable reasons: the deciding policies' ids and annotations, or "no policy permits". */
  readonly reasons: readonly string[];
  /** Ids of the policies that determined the decision. */
  readonly policies: readonly string[];
  /** Evaluation errors (a policy that errored is skipped; default deny still holds). */
  readonly errors: readonly string[];
  /** The policy set version that decided (a hash of its text). */
  readonly policyVersion: string;
  readonly cached: boolean;
}

export interface Authorizer {
  /** Synchronous: pre-parsed policies and a decision cache keep it off the event loop's critical path. */
  authorize(r: AuthzRequest): AuthzDecision;
}

/** Rate-limit state sent back as x-ratelimit-* headers (OpenAI's names). */
export interface LimitResult {
  readonly allowed: boolean;
  /** PERIM_E_RATE_LIMITED or PERIM_E_BUDGET_EXHAUSTED when not allowed. */
  readonly code?: 'PERIM_E_RATE_LIMITED' | 'PERIM_E_BUDGET_EXHAUSTED';
  /** Which limit refused, e.g. "requests_per_minute". */
  readonly limit?: string;
  /** Milliseconds until a retry can succeed (Retry-After is this, rounded up to seconds). */
  readonly retryAfterMs: number;
  /** x-ratelimit-limit-requests, x-ratelimit-remaining-requests, x-ratelimit-reset-requests, ...-tokens. */
  readonly headers: Readonly<Record<string, string>>;
}

export interface RateLimiter {
  /** Takes one request (and checks the token buckets are not in debt); never throws for a refusal. */
  check(principal: Principal, model: string): Promise<LimitResult>;
  /** Charges the tokens a finished request used (fire and forget; failures are logged). */
  charge(principal: Principal, model: string, tokens: number): void;
}

export type KillKind = 'model' | 'principal' | 'runtime';

export interface KillTarget {
  readonly kind: KillKind;
  /** A model id or an artifact digest; a principal id; a runtime name. */
  readonly id: string;
}

export interface KillEvent extends KillTarget {
  readonly reason: string;
  readonly actor: string;
  readonly at: number;
}

/** What a request is about, for the kill-switch. */
export interface RequestSubject {
  readonly model: string;
  readonly digest: string | null;
  readonly principal: string;
  readonly runtime: string;
}

export interface KillSwitch {
  /** The active kill that covers this request, if any (synchronous, from memory). */
  killed(s: RequestSubject): KillEvent | undefined;
  /** Calls `listener` for every kill, local or from another replica; returns an unsubscribe function. */
  onKill(listener: (k: KillEvent) => void): () => void;
}

export type GuardKind = 'secret' | 'pii' | 'injection' | 'classifier';
export type GuardAction = 'block' | 'redact' | 'log';

export interface GuardFinding {
  /** e.g. "secret.aws-access-key", "pii.email", "injection.ignore-previous", "classifier.S1". */
  readonly rule: string;
  readonly kind: GuardKind;
  readonly action: GuardAction;
  /** Where in the inspected text (UTF-16 offsets), when the finding has a span. */
  readonly start?: number;
  readonly end?: number;
}

export interface GuardResult {
  /** "block" when any finding blocks; "redact" when text was changed; else "allow". */
  readonly verdict: 'allow' | 'redact' | 'block';
  /** The text to use (redacted when verdict is "redact"). */
  readonly text: string;
  readonly findings: readonly GuardFinding[];
}

export interface Guard {
  inspect(text: string, where: 'input' | 'output'): GuardResult | Promise<GuardResult>;
}
