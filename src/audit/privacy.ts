/**
 * Privacy by default: the content of prompts and completions never enters the audit log, only its
 * SHA-256 digest. Any member of an event's data (at any depth) whose name is one of CONTENT_FIELDS
 * (compared case-insensitively) is replaced by "sha256:<hex>": the digest of the UTF-8 bytes when
 * the value is a string, else of its canonical JSON. The gateway can compute the same digest to
 * match a request to its audit entry without the log holding the text. Values that already are
 * such a digest, null and undefined are kept. `keepContent` turns this off (opt-in).
 */
import { hash } from 'node:crypto';
import { canonicalJson, type Replacer } from './canonical.ts';

/** Names of data members that hold model input or output. */
export const CONTENT_FIELDS: readonly string[] = [
  'prompt',
  'prompts',
  'completion',
  'completions',
  'messages',
  'input',
  'inputs',
  'output',
  'outputs',
  'response',
  'choices',
];

const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** "sha256:<hex>" of a string's UTF-8 bytes, or of any other value's canonical JSON. */
export function contentDigest(value: unknown): string {
  return `sha256:${hash('sha256', typeof value === 'string' ? value : canonicalJson(value), 'hex')}`;
}

export interface PrivacyOptions {
  /** Keep prompts and completions as they are (default false: digests only). */
  keepContent?: boolean;
  /** More member names to treat as content, in addition to CONTENT_FIELDS. */
  contentFields?: readonly string[];
}

/** The canonical-JSON replacer that digests content members; undefined when content is kept. */
export function contentReplacer(options: PrivacyOptions = {}): Replacer | undefined {
  if (options.keepContent) return undefined;
  const names = new Set([...CONTENT_FIELDS, ...(options.contentFields ?? [])].map((n) => n.toLowerCase()));
  const replace = (key: string, value: unknown): unknown =>
    (names.has(key) || names.has(key.toLowerCase())) && value !== null && !(typeof value === 'string' && DIGEST.test(value)) ? contentDigest(value) : value;
  return Object.assign(replace, { keys: names as ReadonlySet<string> });
}

/** A copy of `data` with content members replaced by digests, as the log stores it. */
export function redactContent(data: Record<string, unknown>, options: PrivacyOptions = {}): Record<string, unknown> {
  const replace = contentReplacer(options);
  return replace ? (JSON.parse(canonicalJson(data, replace)) as Record<string, unknown>) : data;
}
