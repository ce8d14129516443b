/**
 * Gateway refusals and failures as OpenAI-style error bodies, so every OpenAI client shows them:
 *   { "error": { "message", "type", "param": null, "code" } }
 * `code` is the Perimeter code (docs/errors.md); `type` is the OpenAI error type for the status.
 * Unknown errors become a generic 500 that says nothing about internals.
 */
import { PerimeterError, type ErrorCode } from '../errors/errors.ts';

const STATUS: Partial<Record<ErrorCode, number>> = {
  PERIM_E_AUTH_MISSING: 401,
  PERIM_E_AUTH_INVALID: 401,
  PERIM_E_AUTH_EXPIRED: 401,
  PERIM_E_POLICY_DENIED: 403,
  PERIM_E_MODEL_NOT_ADMITTED: 403,
  PERIM_E_KILLED: 403,
  PERIM_E_MODEL_UNKNOWN: 404,
  PERIM_E_RATE_LIMITED: 429,
  PERIM_E_BUDGET_EXHAUSTED: 429,
  PERIM_E_GUARD_BLOCKED: 400,
  PERIM_E_REQUEST_MALFORMED: 400,
  PERIM_E_GUARD_UNAVAILABLE: 503,
  PERIM_E_COORDINATION: 503,
  PERIM_E_UPSTREAM_UNREACHABLE: 502,
  PERIM_E_UPSTREAM_ERROR: 502,
  PERIM_E_UPSTREAM_TIMEOUT: 504,
};

const TYPE: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'invalid_request_error',
  429: 'rate_limit_error',
};

export interface OpenAiError {
  error: { message: string; type: string; param: null; code: string };
}

export function statusOf(e: PerimeterError): number {
  const given = e.details?.status;
  if (typeof given === 'number' && given >= 400 && given < 600) return given;
  return STATUS[e.code] ?? (e.kind === 'io' ? 500 : 400);
}

export function errorJson(status: number, code: string, message: string): OpenAiError {
  return { error: { message, type: TYPE[status] ?? 'api_error', param: null, code } };
}

/** Status and body for anything thrown on the request path. */
export function toHttpError(e: unknown): { status: number; body: OpenAiError; known: boolean } {
  if (e instanceof PerimeterError) {
    const status = statusOf(e);
    return { status, body: errorJson(status, e.code, e.message), known: true };
  }
  return { status: 500, body: errorJson(500, 'PERIM_E_INTERNAL', 'internal error'), known: false };
}
