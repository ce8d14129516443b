/**
 * Every error Perimeter raises on purpose is a PerimeterError with a code from this one registry.
 * docs/errors.md documents each code; a test keeps the two in step.
 *
 * `kind` separates the three ways a run can go wrong, because callers treat them differently:
 * - 'invalid'  hostile or broken input, or a check that failed (exit 1 for verification)
 * - 'usage'    the operator asked for something impossible: bad flags, bad config (exit 2)
 * - 'io'       the environment failed: missing file, permission, disk (exit 2)
 */
export const ERROR_CODES = {
  // usage and configuration
  PERIM_E_USAGE: { kind: 'usage', summary: 'A command-line argument or option is missing or malformed.' },
  PERIM_E_CONFIG: { kind: 'usage', summary: 'A configuration value is invalid.' },
  PERIM_E_KEY_UNSUPPORTED: { kind: 'usage', summary: 'A key is not an EC P-256, P-384 or P-521 key, or cannot be read.' },
  PERIM_E_IO: { kind: 'io', summary: 'A file could not be read or written.' },
  PERIM_E_INTERNAL: { kind: 'io', summary: 'An unexpected internal error; please report it.' },

  // model walk and hashing (artifact)
  PERIM_E_MODEL_NOT_FOUND: { kind: 'io', summary: 'The model path does not exist.' },
  PERIM_E_MODEL_EMPTY: { kind: 'invalid', summary: 'The model has no regular file left after exclusions.' },
  PERIM_E_SYMLINK_REFUSED: { kind: 'invalid', summary: 'The model contains a symbolic link and symlinks are not allowed.' },
  PERIM_E_SYMLINK_ESCAPES: { kind: 'invalid', summary: 'A symbolic link resolves outside the model root.' },
  PERIM_E_SYMLINK_CYCLE: { kind: 'invalid', summary: 'Symbolic links form a cycle.' },
  PERIM_E_SPECIAL_FILE: { kind: 'invalid', summary: 'The model contains a special file (device, socket, FIFO).' },
  PERIM_E_PATH_ENCODING: { kind: 'invalid', summary: 'A file name is not valid UTF-8 and cannot be named in a manifest.' },
  PERIM_E_FILE_CHANGED: { kind: 'invalid', summary: 'A file changed size while it was being hashed.' },

  // bundle and statement structure (signing)
  PERIM_E_BUNDLE_MALFORMED: { kind: 'invalid', summary: 'The signature file is not a well-formed Sigstore bundle.' },
  PERIM_E_BUNDLE_MEDIA_TYPE: { kind: 'invalid', summary: 'The bundle mediaType is not a Sigstore bundle media type.' },
  PERIM_E_PAYLOAD_TYPE: { kind: 'invalid', summary: 'The DSSE payloadType is not application/vnd.in-toto+json.' },
  PERIM_E_STATEMENT_MALFORMED: { kind: 'invalid', summary: 'The in-toto statement is malformed (_type, subject, predicate).' },
  PERIM_E_PREDICATE_TYPE: { kind: 'invalid', summary: 'The statement predicateType is not an OMS predicate.' },
  PERIM_E_RESOURCES_EMPTY: { kind: 'invalid', summary: 'The predicate lists no resources.' },
  PERIM_E_ROOT_DIGEST_MISMATCH: { kind: 'invalid', summary: 'The subject digest is not the SHA-256 over the listed resource digests.' },
  PERIM_E_RESOURCE_NAME_UNSAFE: { kind: 'invalid', summary: 'A resource name is absolute, contains "..", a backslash, or is not canonical.' },
  PERIM_E_SERIALIZATION_UNSUPPORTED: { kind: 'invalid', summary: 'The serialization method or hash type is unknown.' },

  // signature checks
  PERIM_E_SIGNATURE_INVALID: { kind: 'invalid', summary: 'The DSSE signature does not verify with the given key or certificate.' },
  PERIM_E_KEY_MISMATCH: { kind: 'invalid', summary: 'The bundle names a different public key than the one given.' },
  PERIM_E_WRONG_METHOD: { kind: 'invalid', summary: 'The bundle was made with another signing method than the one asked to verify.' },
  PERIM_E_CERT_MALFORMED: { kind: 'invalid', summary: 'A certificate could not be parsed.' },
  PERIM_E_CERT_CHAIN: { kind: 'invalid', summary: 'The certificate does not chain to a trusted anchor.' },
  PERIM_E_CERT_EXPIRED: { kind: 'invalid', summary: 'A certificate was not valid at the time that matters.' },
  PERIM_E_CERT_USAGE: { kind: 'invalid', summary: 'The signing certificate is not allowed to sign code (key usage / extended key usage).' },
  PERIM_E_IDENTITY_MISMATCH: { kind: 'invalid', summary: 'The certificate identity (SAN) is not the expected one.' },
  PERIM_E_ISSUER_MISMATCH: { kind: 'invalid', summary: 'The certificate OIDC issuer is not the expected one.' },
  PERIM_E_TLOG: { kind: 'invalid', summary: 'The transparency-log entry is missing, does not match, or its proof fails.' },
  PERIM_E_TRUST_ROOT: { kind: 'usage', summary: 'The trust root file is malformed or has no usable authority.' },

  // model integrity
  PERIM_E_MODEL_MISMATCH: { kind: 'invalid', summary: 'The files on disk do not match the signed manifest (changed, missing or extra).' },

  // store
  PERIM_E_STORE: { kind: 'io', summary: 'The database could not be opened, migrated or queried.' },
  PERIM_E_CONFLICT: { kind: 'invalid', summary: 'A write conflicted with another writer (unique key or concurrent update).' },
  PERIM_E_NOT_FOUND: { kind: 'usage', summary: 'No artifact, runtime or record with that name or digest.' },

  // scanning
  PERIM_E_SCAN_TIMEOUT: { kind: 'invalid', summary: 'Scanning a file took longer than its time budget (reported as a finding).' },
  PERIM_E_SCAN_FINDINGS: { kind: 'invalid', summary: 'The scan found something at or above the severity threshold.' },

  // audit log
  PERIM_E_AUDIT_TAMPERED: { kind: 'invalid', summary: 'The audit log does not match its entries, entry MACs or signed checkpoints (edited, deleted, inserted, reordered or rolled back).' },
  PERIM_E_AUDIT_KEY: { kind: 'io', summary: 'The audit signing key is missing, unreadable, readable by others, or is not the key that wrote this log.' },
  PERIM_E_AUDIT_PROOF: { kind: 'invalid', summary: 'An audit inclusion or consistency proof, or a checkpoint signature, does not verify.' },
  PERIM_E_AUDIT_MALFORMED: { kind: 'invalid', summary: 'An audit checkpoint, verifier key, proof or export line is malformed.' },
  PERIM_E_AUDIT_EVENT: { kind: 'usage', summary: 'An audit event cannot be recorded: it has no type, or its data is not plain JSON (NaN, bigint, cycles).' },
  PERIM_E_AUDIT_CLOSED: { kind: 'usage', summary: 'The audit log was closed; nothing more can be appended.' },

  // configuration file
  PERIM_E_CONFIG_FILE: { kind: 'usage', summary: 'The configuration file cannot be read or is not valid YAML.' },

  // runtimes and discovery
  PERIM_E_RUNTIME_UNREACHABLE: { kind: 'io', summary: 'A runtime did not answer in time, or refused or dropped the connection.' },
  PERIM_E_RUNTIME_HTTP: { kind: 'io', summary: 'A runtime answered with an HTTP error status.' },
  PERIM_E_RUNTIME_RESPONSE: { kind: 'invalid', summary: "A runtime's answer is not the documented shape (not JSON, missing fields, too large)." },

  // admission webhook and HTTP server
  PERIM_E_REQUEST_MALFORMED: { kind: 'invalid', summary: 'An HTTP request to perimeter serve is malformed (method, content type, body size, JSON).' },
  PERIM_E_REVIEW_MALFORMED: { kind: 'invalid', summary: 'The body is not a well-formed admission.k8s.io/v1 AdmissionReview request.' },
  PERIM_E_LISTEN: { kind: 'io', summary: 'perimeter serve cannot listen on the address or load its TLS certificate and key.' },

  // gateway: identity, policy, limits, guards, kill-switch, upstreams (HTTP status in docs/gateway.md)
  PERIM_E_AUTH_MISSING: { kind: 'invalid', summary: 'The request carries no API key or bearer token (401).' },
  PERIM_E_AUTH_INVALID: { kind: 'invalid', summary: 'The API key or bearer token is unknown, revoked, malformed, or its signature, issuer, audience or algorithm is not accepted (401).' },
  PERIM_E_AUTH_EXPIRED: { kind: 'invalid', summary: 'The API key or bearer token has expired or is not yet valid (401).' },
  PERIM_E_POLICY_DENIED: { kind: 'invalid', summary: 'The authorization policy does not permit this principal, action and model (default deny; 403).' },
  PERIM_E_POLICY_LOAD: { kind: 'usage', summary: 'A Cedar policy set, schema or entity file cannot be parsed or validated; the last good set stays in force.' },
  PERIM_E_MODEL_UNKNOWN: { kind: 'invalid', summary: 'No runtime serves the requested model (404).' },
  PERIM_E_MODEL_NOT_ADMITTED: { kind: 'invalid', summary: 'The model a runtime serves does not match an artifact admitted for its environment (403).' },
  PERIM_E_KILLED: { kind: 'invalid', summary: 'The model, principal or runtime was stopped by the kill-switch (403; a stream in flight ends with an error event).' },
  PERIM_E_RATE_LIMITED: { kind: 'invalid', summary: 'A requests or tokens per minute limit is exhausted (429 with Retry-After).' },
  PERIM_E_BUDGET_EXHAUSTED: { kind: 'invalid', summary: 'A tokens per day budget is used up (429 with Retry-After).' },
  PERIM_E_GUARD_BLOCKED: { kind: 'invalid', summary: 'An input or output guard (secrets, PII, prompt injection, classifier) blocked the request or response (400, or an error event mid-stream).' },
  PERIM_E_GUARD_UNAVAILABLE: { kind: 'io', summary: 'A classifier guard did not answer in time or answered nonsense, and its policy is fail-closed (503).' },
  PERIM_E_UPSTREAM_UNREACHABLE: { kind: 'io', summary: 'The upstream runtime refused or dropped the connection (502).' },
  PERIM_E_UPSTREAM_TIMEOUT: { kind: 'io', summary: 'The upstream runtime did not answer in time (504).' },
  PERIM_E_UPSTREAM_ERROR: { kind: 'io', summary: 'The upstream runtime answered with an error status or a malformed body (502, or its 4xx passed on).' },
  PERIM_E_COORDINATION: { kind: 'io', summary: 'Redis or PostgreSQL, used to share limits and kill-switch events between replicas, does not answer.' },
} as const satisfies Record<string, { kind: ErrorKind; summary: string }>;

export type ErrorKind = 'invalid' | 'usage' | 'io';
export type ErrorCode = keyof typeof ERROR_CODES;

export class PerimeterError extends Error {
  readonly code: ErrorCode;
  /** Structured details safe to print (paths, names, digests); never secrets. */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PerimeterError';
    this.code = code;
    this.details = options?.details;
  }

  get kind(): ErrorKind {
    return ERROR_CODES[this.code].kind;
  }
}

export function isPerimeterError(e: unknown, code?: ErrorCode): e is PerimeterError {
  return e instanceof PerimeterError && (code === undefined || e.code === code);
}

/** Wraps anything thrown into a PerimeterError, keeping the original as `cause`. */
export function asPerimeterError(e: unknown, fallback: ErrorCode = 'PERIM_E_INTERNAL'): PerimeterError {
  if (e instanceof PerimeterError) return e;
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err.code === 'string' && /^E[A-Z]+$/.test(err.code)) {
    const code: ErrorCode = err.code === 'ENOENT' ? 'PERIM_E_MODEL_NOT_FOUND' : 'PERIM_E_IO';
    return new PerimeterError(code, `${err.code}: ${err.path ?? err.message}`, { cause: e });
  }
  return new PerimeterError(fallback, err?.message ?? String(e), { cause: e });
}
