/**
 * API keys in the store (`api_keys`). A key is `prm_<id>_<secret>`: id = 12 lowercase hex
 * characters (public, the lookup key, shown in lists and audit events), secret = 32 random bytes
 * as base64url (43 characters). Only the hex SHA-256 of the secret's text is stored: the secret is
 * 256 bits of randomness, so a fast hash cannot be brute-forced, and checking a key costs one
 * SHA-256 of 43 bytes. The full key is returned once, by createApiKey, and never again.
 */
import { hash, randomBytes } from 'node:crypto';
import type { EventSink } from '../../audit/events.ts';
import { PerimeterError } from '../../errors/errors.ts';
import type { Store } from '../../store/store.ts';
import { sortedSet, type AttrValue } from './principal.ts';

export const KEY_PREFIX = 'prm_';
const KEY_SHAPE = /^prm_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/;
const ID_SHAPE = /^[0-9a-f]{12}$/;
const NAME_SHAPE = /^[^\p{Cc}]{1,256}$/u;
const ATTR_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
/** Attribute names with a field of their own in the principal (stored in the same JSON column). */
const RESERVED = new Set(['org', 'groups', 'verified', 'attestations']);
const MAX_LIST = 100;

/** Splits a key into its id and secret, or undefined when it is not exactly the key format. */
export function parseApiKey(key: string): { id: string; secret: string } | undefined {
  if (key.length !== 60 || !KEY_SHAPE.test(key)) return undefined;
  return { id: key.slice(4, 16), secret: key.slice(17) };
}

/** SHA-256 of the secret's text, as stored (hex) and compared (bytes). */
export const secretHash = (secret: string): Buffer => hash('sha256', secret, 'buffer');

export interface ApiKeySpec {
  name: string;
  /** The principal id requests with this key act as (no "#": that form is reserved for JWT principals). */
  principal: string;
  org?: string | null;
  groups?: readonly string[];
  verified?: boolean;
  attestations?: readonly string[];
  attributes?: Readonly<Record<string, AttrValue>>;
  /** Epoch ms; null or absent: never expires. */
  expiresAt?: number | null;
}

/** What the store keeps in `attributes`: the principal's fields, then any further attributes. */
export interface KeyAttributes {
  org: string | null;
  groups: string[];
  verified: boolean;
  attestations: string[];
  attributes: Record<string, AttrValue>;
}

export interface ApiKeyInfo extends KeyAttributes {
  id: string;
  name: string;
  principal: string;
  createdAt: number;
  createdBy: string;
  expiresAt: number | null;
  revokedAt: number | null;
  status: 'active' | 'expired' | 'revoked';
}

export interface CreatedApiKey extends ApiKeyInfo {
  /** The full key. Shown once: only its hash is stored. */
  key: string;
}

const usage = (message: string): PerimeterError => new PerimeterError('PERIM_E_USAGE', message);

function text(what: string, v: unknown, extra?: RegExp, why?: string): string {
  if (typeof v !== 'string' || !NAME_SHAPE.test(v)) throw usage(`${what} must be 1 to 256 characters without control characters`);
  if (extra?.test(v)) throw usage(`${what} ${why}`);
  return v;
}

function list(what: string, v: readonly string[] | undefined): string[] {
  const xs = v ?? [];
  if (!Array.isArray(xs) || xs.length > MAX_LIST) throw usage(`${what} must be a list of at most ${MAX_LIST} names`);
  return sortedSet(xs.map((x) => text(`each of ${what}`, x, /^\s|\s$/, 'must not start or end with a space')));
}

function attrs(v: Readonly<Record<string, AttrValue>> | undefined): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const [k, x] of Object.entries(v ?? {})) {
    if (!ATTR_NAME.test(k) || RESERVED.has(k)) throw usage(`attribute name "${k}" must be an identifier other than ${[...RESERVED].join(', ')}`);
    const ok = typeof x === 'string' || typeof x === 'boolean' || (typeof x === 'number' && Number.isFinite(x)) || (Array.isArray(x) && x.every((s) => typeof s === 'string'));
    if (!ok) throw usage(`attribute ${k} must be a string, a finite number, a boolean or a list of strings`);
    out[k] = Array.isArray(x) ? [...x] : x;
  }
  return out;
}

/** Checks and normalises a spec (sorted, de-duplicated lists). */
export function checkApiKeySpec(s: ApiKeySpec, now = Date.now()): { name: string; principal: string; expiresAt: number | null } & KeyAttributes {
  const expiresAt = s.expiresAt ?? null;
  if (expiresAt !== null && (!Number.isSafeInteger(expiresAt) || expiresAt <= now)) throw usage('the expiry must be a time in the future');
  return {
    name: text('the key name', s.name),
    principal: text('the principal', s.principal, /#|^\s|\s$/, 'must not contain "#" (reserved for JWT principals) nor start or end with a space'),
    org: s.org === undefined || s.org === null ? null : text('the org', s.org),
    groups: list('groups', s.groups),
    verified: s.verified === true,
    attestations: list('attestations', s.attestations),
    attributes: attrs(s.attributes),
    expiresAt,
  };
}

/** The JSON column: { org?, groups?, verified?, attestations?, ...further attributes } (empty fields left out). */
export function encodeAttributes(a: KeyAttributes): string {
  return JSON.stringify({
    ...(a.org !== null ? { org: a.org } : {}),
    ...(a.groups.length ? { groups: a.groups } : {}),
    ...(a.verified ? { verified: true } : {}),
    ...(a.attestations.length ? { attestations: a.attestations } : {}),
    ...a.attributes,
  });
}

/** Reads the JSON column back; throws on anything that is not the shape encodeAttributes writes. */
export function decodeAttributes(json: string): KeyAttributes {
  const o = JSON.parse(json) as Record<string, unknown>;
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new Error('attributes are not an object');
  const { org, groups, verified, attestations, ...rest } = o;
  const strings = (x: unknown): string[] => {
    if (x === undefined) return [];
    if (!Array.isArray(x) || !x.every((s) => typeof s === 'string')) throw new Error('not a list of strings');
    return sortedSet(x);
  };
  if (org !== undefined && typeof org !== 'string') throw new Error('org is not a string');
  if (verified !== undefined && typeof verified !== 'boolean') throw new Error('verified is not a boolean');
  return { org: org ?? null, groups: strings(groups), verified: verified === true, attestations: strings(attestations), attributes: attrs(rest as Record<string, AttrValue>) };
}

const statusOf = (expiresAt: number | null, revokedAt: number | null, now: number): ApiKeyInfo['status'] =>
  revokedAt !== null ? 'revoked' : expiresAt !== null && expiresAt <= now ? 'expired' : 'active';

/** Makes a key; returns it in full once. Records `gateway.key.create` (no secret, no hash). */
export async function createApiKey(store: Store, sink: EventSink, spec: ApiKeySpec, actor = 'system'): Promise<CreatedApiKey> {
  const now = Date.now();
  const s = checkApiKeySpec(spec, now);
  const attributes = encodeAttributes(s);
  for (let attempt = 0; ; attempt++) {
    const id = randomBytes(6).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const row = { id, name: s.name, principal: s.principal, attributes, hash: secretHash(secret).toString('hex'), created_at: now, expires_at: s.expiresAt, revoked_at: null, created_by: actor };
    try {
      await store.db.insertInto('api_keys').values(row).execute();
    } catch (e) {
      // Only an id collision (48 random bits) is worth another try; anything else is reported.
      const taken = await store.db.selectFrom('api_keys').select('id').where('id', '=', id).executeTakeFirst().catch(() => undefined);
      if (taken && attempt < 3) continue;
      throw new PerimeterError('PERIM_E_STORE', `the key could not be stored: ${(e as Error).message}`, { cause: e });
    }
    const info: ApiKeyInfo = { id, name: s.name, principal: s.principal, org: s.org, groups: s.groups, verified: s.verified, attestations: s.attestations, attributes: s.attributes, createdAt: now, createdBy: actor, expiresAt: s.expiresAt, revokedAt: null, status: 'active' };
    const data = { name: s.name, principal: s.principal, org: s.org, groups: s.groups, verified: s.verified, attestations: s.attestations, attributes: s.attributes, expiresAt: s.expiresAt };
    await sink.record({ type: 'gateway.key.create', actor, subject: id, data, at: now });
    return { ...info, key: `${KEY_PREFIX}${id}_${secret}` };
  }
}

const COLUMNS = ['id', 'name', 'principal', 'attributes', 'created_at', 'expires_at', 'revoked_at', 'created_by'] as const;

type InfoRow = { id: string; name: string; principal: string; attributes: string; created_at: number; expires_at: number | null; revoked_at: number | null; created_by: string };

function infoOf(r: InfoRow, now: number): ApiKeyInfo {
  let a: KeyAttributes;
  try {
    a = decodeAttributes(r.attributes);
  } catch {
    a = { org: null, groups: [], verified: false, attestations: [], attributes: {} };
  }
  return { id: r.id, name: r.name, principal: r.principal, ...a, createdAt: r.created_at, createdBy: r.created_by, expiresAt: r.expires_at, revokedAt: r.revoked_at, status: statusOf(r.expires_at, r.revoked_at, now) };
}

/** Every key, oldest first, with its status. Never the hash. */
export async function listApiKeys(store: Store): Promise<ApiKeyInfo[]> {
  const rows = await store.db.selectFrom('api_keys').select(COLUMNS).orderBy('created_at').orderBy('id').execute();
  const now = Date.now();
  return rows.map((r) => infoOf(r, now));
}

/**
 * Revokes a key by id. A key revoked already stays as it was (no second event). Records
 * `gateway.key.revoke`. Gateways stop accepting it at their next refresh.
 */
export async function revokeApiKey(store: Store, sink: EventSink, id: string, actor = 'system'): Promise<ApiKeyInfo & { alreadyRevoked: boolean }> {
  if (parseApiKey(id)) throw usage('give the key id (the 12 hex characters after "prm_"), not the key itself');
  if (!ID_SHAPE.test(id)) throw usage(`"${id}" is not a key id (12 lowercase hex characters)`);
  const now = Date.now();
  const r = await store.db.updateTable('api_keys').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
  const row = await store.db.selectFrom('api_keys').select(COLUMNS).where('id', '=', id).executeTakeFirst();
  if (!row) throw new PerimeterError('PERIM_E_NOT_FOUND', `no API key with id ${id}`, { details: { id } });
  const changed = Number(r.numUpdatedRows) > 0;
  if (changed) await sink.record({ type: 'gateway.key.revoke', actor, subject: id, data: { name: row.name, principal: row.principal }, at: now });
  return { ...infoOf(row, now), alreadyRevoked: !changed };
}
