/**
 * The configuration file's shape (YAML), validated once at start with zod: unknown keys are
 * rejected everywhere, defaults are filled in, and the result is frozen by load.ts.
 *
 * With nothing trusted (the default), nothing is admitted: a signature is required by default and
 * no key, certificate or Sigstore identity is trusted until the file names one.
 */
import { z } from 'zod';
import { gatewaySchema } from './gateway.ts';

/** Scan verdicts from best to worst; `admission.require.scan` is the worst one still admitted. */
export const SCAN_LEVELS = ['clean', 'low', 'suspicious', 'dangerous'] as const;
export type ScanLevel = (typeof SCAN_LEVELS)[number];

export const ENV_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
export const DIGEST = /^sha256:[0-9a-f]{64}$/;

const filePath = z.string().min(1, 'must be a file path');
const envName = z.string().regex(ENV_NAME, 'must be letters, digits, "_", "." or "-" (at most 63)');
const spdxId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9.+-]*$/, 'must be an SPDX license id such as Apache-2.0');
const onUnannotated = z.enum(['allow', 'deny']);

const sigstoreIdentity = z.strictObject({
  /** The certificate identity (email or URI SAN), exactly. */
  identity: z.string().min(1),
  /** The OIDC issuer, exactly (e.g. https://token.actions.githubusercontent.com). */
  issuer: z.string().min(1),
  /** trusted_root.json; default the Sigstore public-good root shipped with Perimeter. */
  trust_root: filePath.optional(),
});

const trustFields = {
  /** PEM public keys (key method). */
  keys: z.array(filePath),
  /** PEM trust anchors (certificate method). */
  certificates: z.array(filePath),
  /** Sigstore identities (keyless method). */
  sigstore: z.array(sigstoreIdentity),
};
const requireFields = {
  /** Require a signature by a trusted identity. */
  signature: z.boolean(),
  /** The worst scan verdict still admitted. */
  scan: z.enum(SCAN_LEVELS),
};
const licenseFields = {
  /** SPDX ids admitted (compared case-insensitively); empty admits any license. */
  allow: z.array(spdxId),
};

/** Per-environment overrides: every key optional; a list given here replaces the base list. */
const environmentSchema = z.strictObject({
  trust: z.strictObject(trustFields).partial().optional(),
  require: z.strictObject(requireFields).partial().optional(),
  licenses: z.strictObject(licenseFields).partial().optional(),
  unannotated_pods: onUnannotated.optional(),
});

const admissionSchema = z.strictObject({
  trust: z
    .strictObject({ keys: trustFields.keys.default([]), certificates: trustFields.certificates.default([]), sigstore: trustFields.sigstore.default([]) })
    .prefault({}),
  require: z.strictObject({ signature: requireFields.signature.default(true), scan: requireFields.scan.default('clean') }).prefault({}),
  licenses: z.strictObject({ allow: licenseFields.allow.default([]) }).prefault({}),
  /** Digests never admitted, whatever else holds (an emergency stop until the registry revokes). */
  revoked: z.array(z.string().regex(DIGEST, 'must be sha256:<64 hex>')).default([]),
  environments: z.record(envName, environmentSchema).default({}),
  /** Kubernetes namespace -> environment, for the webhook. */
  namespaces: z.record(z.string().min(1), envName).default({}),
  /** The environment of namespaces not listed in `namespaces`. */
  default_env: envName.default('default'),
  /** Pods without a perimeter.dev/model-digest annotation: allowed (with a warning) or denied. */
  unannotated_pods: onUnannotated.default('allow'),
});

const listen = z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]*):[0-9]{1,5}$/, 'must be HOST:PORT');

const serverSchema = z.strictObject({
  listen: listen.default('127.0.0.1:8443'),
  tls: z.strictObject({ cert: filePath, key: filePath }).optional(),
  /** Seconds between runtime syncs inside `perimeter serve`; 0 turns it off. */
  sync_interval: z.number().int().min(0).max(86_400).default(0),
});

export const configSchema = z.strictObject({
  version: z.literal(1).optional(),
  store: z.strictObject({ url: z.string().min(1).optional() }).prefault({}),
  admission: admissionSchema.prefault({}),
  server: serverSchema.prefault({}),
  gateway: gatewaySchema,
});

export type ConfigData = z.output<typeof configSchema>;
export type EnvironmentOverride = z.output<typeof environmentSchema>;
export type SigstoreIdentity = z.output<typeof sigstoreIdentity>;
