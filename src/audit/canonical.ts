/**
 * Canonical JSON for audit entries (close to RFC 8785, JCS): object keys sorted by UTF-16 code
 * units, no whitespace, strings escaped as JSON.stringify escapes them, numbers as JavaScript prints
 * them (JSON.stringify: shortest round-trip form, -0 as 0), UTF-8 bytes. Object members whose value
 * is undefined are left out (as JSON.stringify does); anything JSON cannot hold exactly (NaN,
 * Infinity, bigint, functions, symbols, undefined in arrays, cycles) is refused rather than
 * silently changed, so an entry's bytes always mean what the caller passed.
 *
 * Differences from RFC 8785, on purpose: a lone surrogate in a string is kept as JSON.stringify's
 * \uXXXX escape instead of being refused (audit events carry names from the outside world), and
 * objects with toJSON (Date) are serialised through it.
 */
import { PerimeterError } from '../errors/errors.ts';

const MAX_DEPTH = 64;

/**
 * Sees every object member (not array items) before it is written; returns the value to write.
 * `keys`, when set, says the replacer changes only members with one of these (lower-case) names,
 * so data without such a member may take the fast path.
 */
export type Replacer = ((key: string, value: unknown) => unknown) & { readonly keys?: ReadonlySet<string> };

class Refusal extends Error {
  path: string[] = [];
}

function write(value: unknown, depth: number, seen: Set<object>, replace: Replacer | undefined): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new Refusal(`is ${value}, which JSON cannot represent`);
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      if (value === null) return 'null';
      break;
    default:
      throw new Refusal(`is a ${typeof value}, which JSON cannot represent`);
  }
  const obj = value as object;
  if (depth > MAX_DEPTH) throw new Refusal(`nests deeper than ${MAX_DEPTH} levels`);
  if (typeof (obj as { toJSON?: unknown }).toJSON === 'function') return write((obj as { toJSON: () => unknown }).toJSON(), depth + 1, seen, replace);
  if (seen.has(obj)) throw new Refusal('refers to itself');
  seen.add(obj);
  let out: string;
  let key = '';
  try {
    if (Array.isArray(obj)) {
      out = '[';
      for (let i = 0; i < obj.length; i++) {
        key = `[${i}]`;
        if (obj[i] === undefined) throw new Refusal('is undefined');
        out += (i ? ',' : '') + write(obj[i], depth + 1, seen, replace);
      }
      out += ']';
    } else {
      const keys = Object.keys(obj).sort();
      out = '{';
      for (const k of keys) {
        key = k;
        let v = (obj as Record<string, unknown>)[k];
        if (replace && v !== undefined) v = replace(k, v);
        if (v === undefined) continue;
        out += (out.length > 1 ? ',' : '') + JSON.stringify(k) + ':' + write(v, depth + 1, seen, replace);
      }
      out += '}';
    }
  } catch (e) {
    if (e instanceof Refusal) e.path.unshift(key);
    throw e;
  }
  seen.delete(obj);
  return out;
}

/**
 * True when JSON.stringify(value) already is the canonical text: plain objects (prototype Object or
 * null, no toJSON) whose keys come in sorted order, arrays without holes, finite numbers, strings,
 * booleans and null, no member a keyed replacer would change, not too deep. Anything else (and any
 * refusal) goes to the general writer, so the result never differs from it.
 */
function plain(v: unknown, depth: number, keys: ReadonlySet<string> | undefined): boolean {
  if (typeof v === 'string' || typeof v === 'boolean' || v === null) return true;
  if (typeof v === 'number') return Number.isFinite(v);
  if (typeof v !== 'object' || depth >= MAX_DEPTH) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  if (Array.isArray(v)) {
    if (proto !== Array.prototype) return false;
    for (let i = 0; i < v.length; i++) if (!plain(v[i], depth + 1, keys)) return false;
    return true;
  }
  if ((proto !== Object.prototype && proto !== null) || typeof (v as { toJSON?: unknown }).toJSON === 'function') return false;
  let prev: string | undefined;
  for (const k of Object.keys(v)) {
    if (prev !== undefined && !(k > prev)) return false;
    prev = k;
    if (keys !== undefined && (keys.has(k) || keys.has(k.toLowerCase()))) return false;
    const x = (v as Record<string, unknown>)[k];
    if (x !== undefined && !plain(x, depth + 1, keys)) return false;
  }
  return true;
}

/** The canonical JSON text of a value (see the file comment). */
export function canonicalJson(value: unknown, replace?: Replacer): string {
  // Fast path: data built with sorted keys (the gateway's events) is written by JSON.stringify.
  if ((replace === undefined || replace.keys !== undefined) && plain(value, 0, replace?.keys)) return JSON.stringify(value);
  try {
    return write(value, 0, new Set(), replace);
  } catch (e) {
    if (!(e instanceof Refusal)) throw e;
    const path = e.path.join('.').replace(/\.\[/g, '[');
    throw new PerimeterError('PERIM_E_AUDIT_EVENT', `audit event ${path || 'value'} ${e.message}`, { details: { path } });
  }
}
