/**
 * From an AuditEvent to the bytes of a leaf. An entry is the canonical JSON (canonical.ts) of
 * {"v":1,"type","actor"?,"subject"?,"at","data"} with content fields digested (privacy.ts); the
 * leaf hash is SHA-256(0x00 || entry). The entry does not hold its index: the position in the tree
 * is the index, and the MAC (mac.ts) binds the two.
 */
import { PerimeterError } from '../errors/errors.ts';
import { canonicalJson, type Replacer } from './canonical.ts';
import type { AuditEvent } from './events.ts';
import { hashLeafText } from './tree.ts';

export const ENTRY_VERSION = 1;

/** An event as the text of its entry, not yet hashed. */
export interface EntryText {
  at: number;
  type: string;
  entry: string;
}

export interface PreparedEntry extends EntryText {
  leaf: Buffer;
}

const TYPE = /^[A-Za-z0-9_.:-]{1,200}$/;

const bad = (message: string): never => {
  throw new PerimeterError('PERIM_E_AUDIT_EVENT', message);
};

/** Canonicalises and hashes an event (entryText, then the leaf hash). */
export function prepareEntry(event: AuditEvent, replace: Replacer | undefined, now: () => number = Date.now): PreparedEntry {
  const e = entryText(event, replace, now);
  return { ...e, leaf: hashLeafText(e.entry) };
}

/**
 * Checks an event, digests its content and writes its canonical entry text. `replace` is
 * contentReplacer(options): undefined keeps content (the opt-in), so it has no default. The log
 * leaves the leaf hash to its writer (on the SQLite writer thread, off the caller's event loop).
 */
export function entryText(event: AuditEvent, replace: Replacer | undefined, now: () => number = Date.now): EntryText {
  if (event === null || typeof event !== 'object') bad('an audit event must be an object');
  const { type, actor, subject, data } = event;
  if (typeof type !== 'string' || !TYPE.test(type)) bad(`audit event type ${JSON.stringify(type)} must be 1-200 letters, digits, ".", "_", ":" or "-"`);
  if (actor !== undefined && typeof actor !== 'string') bad('audit event actor must be a string');
  if (subject !== undefined && typeof subject !== 'string') bad('audit event subject must be a string');
  if (data === null || typeof data !== 'object' || Array.isArray(data)) bad('audit event data must be an object');
  const at = event.at ?? now();
  if (!Number.isSafeInteger(at) || at < 0) bad('audit event time must be epoch milliseconds');
  // canonicalJson({ v, type, actor, subject, at, data }) written out, so content digesting applies to data only.
  const entry =
    (actor === undefined ? '{' : `{"actor":${JSON.stringify(actor)},`) +
    `"at":${at},"data":${canonicalJson(data, replace)}` +
    (subject === undefined ? '' : `,"subject":${JSON.stringify(subject)}`) +
    `,"type":${JSON.stringify(type)},"v":${ENTRY_VERSION}}`;
  return { at, type, entry };
}
