/**
 * Naming artifacts on the command line: a full digest, a unique digest prefix (at least 6 hex
 * digits, with or without "sha256:"), or a name (the newest artifact of that name).
 */
import type { Kysely } from 'kysely';
import { PerimeterError } from '../errors/errors.ts';
import type { Database } from '../store/schema.ts';
import { DIGEST_RE } from './db.ts';

export type ResolvedRef = { digest: string; registered: boolean } | { pending: string };

const PREFIX_RE = /^(?:sha256:)?([0-9a-f]{6,63})$/;

async function byPrefix(db: Kysely<Database>, hex: string): Promise<string | undefined> {
  const rows = await db.selectFrom('artifacts').select('digest').where('digest', '>=', `sha256:${hex}`).where('digest', '<', `sha256:${hex}g`).limit(2).execute();
  if (rows.length > 1) throw new PerimeterError('PERIM_E_USAGE', `digest prefix ${hex} is ambiguous; give more digits`, { details: { matches: rows.map((r) => r.digest) } });
  return rows[0]?.digest;
}

async function byName(db: Kysely<Database>, name: string): Promise<string | undefined> {
  const row = await db.selectFrom('artifacts').select('digest').where('name', '=', name).orderBy('created_at', 'desc').orderBy('digest', 'desc').limit(1).executeTakeFirst();
  return row?.digest;
}

/** Resolves a parent reference; a name nobody registered yet stays pending ("name:<id>"). */
export async function resolveParent(db: Kysely<Database>, ref: string): Promise<ResolvedRef> {
  const r = ref.trim();
  if (r === '') throw new PerimeterError('PERIM_E_USAGE', 'an empty parent reference');
  if (DIGEST_RE.test(r)) {
    const row = await db.selectFrom('artifacts').select('digest').where('digest', '=', r).executeTakeFirst();
    return { digest: r, registered: row !== undefined };
  }
  const prefix = PREFIX_RE.exec(r);
  if (prefix) {
    const d = await byPrefix(db, prefix[1]!);
    if (d) return { digest: d, registered: true };
  }
  const n = r.startsWith('name:') ? r.slice(5) : r;
  const d = await byName(db, n);
  return d ? { digest: d, registered: true } : { pending: `name:${n}` };
}

/** The digest of a registered artifact named by NAME|DIGEST|PREFIX, or PERIM_E_NOT_FOUND. */
export async function findArtifactDigest(db: Kysely<Database>, ref: string): Promise<string> {
  const r = ref.trim();
  if (DIGEST_RE.test(r)) {
    const row = await db.selectFrom('artifacts').select('digest').where('digest', '=', r).executeTakeFirst();
    if (row) return row.digest;
  } else {
    const prefix = PREFIX_RE.exec(r);
    const d = (prefix ? await byPrefix(db, prefix[1]!) : undefined) ?? (await byName(db, r));
    if (d) return d;
  }
  throw new PerimeterError('PERIM_E_NOT_FOUND', `no registered artifact named or digested "${r}"`, { details: { ref: r } });
}
