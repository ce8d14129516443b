/**
 * The tar scanner (POSIX ustar and pax, GNU long names). Headers are read one 512-byte block at a
 * time; regular members go to ctx.scanMember as SliceBlobs, so member data is never copied. Entry
 * types follow Python's tarfile (which legacy torch.load uses): links, folders and devices carry
 * no data blocks whatever their size field says.
 */
import { SliceBlob } from '../blob.ts';
import type { Blob, FormatScanner, ScanContext } from '../types.ts';
import { CappedReporter, MiB, linkEscapes, showName, unsafePathReason } from './common.ts';

const BLOCK = 512;
/** Largest GNU long-name or pax header body read. */
const META_MAX = 1 * MiB;
const NO_DATA_TYPES = new Set(['1', '2', '3', '4', '5', '6']);

interface PendingMeta {
  path?: string;
  linkpath?: string;
  size?: number;
  sparse?: boolean;
}

export const tarScanner: FormatScanner = {
  async scan(blob: Blob, ctx: ScanContext): Promise<void> {
    const rep = new CappedReporter(ctx);
    try {
      await scanTar(blob, ctx, rep);
    } finally {
      rep.flush();
    }
  },
};

/** Octal (NUL/space padded) or GNU base-256 numbers; undefined when invalid. */
export function tarNumber(field: Buffer): number | undefined {
  if (field.length > 0 && field[0]! & 0x80) {
    if (field[0] === 0xff) return undefined; // negative
    let v = BigInt(field[0]! & 0x7f);
    for (let i = 1; i < field.length; i++) v = (v << 8n) | BigInt(field[i]!);
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? undefined : Number(v);
  }
  const s = field.toString('latin1').replace(/\0.*$/s, '').trim();
  if (s === '') return 0;
  return /^[0-7]+$/.test(s) ? parseInt(s, 8) : undefined;
}

function cstr(b: Buffer): string {
  const z = b.indexOf(0);
  return b.subarray(0, z < 0 ? b.length : z).toString('utf8');
}

function checksumOk(h: Buffer): boolean {
  const stated = tarNumber(h.subarray(148, 156));
  if (stated === undefined) return false;
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 32 : h[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return stated === unsigned || stated === signed;
}

/** Parses pax records "<len> <key>=<value>\n"; returns undefined when malformed. */
export function parsePax(body: Buffer): Map<string, string> | undefined {
  const out = new Map<string, string>();
  let p = 0;
  while (p < body.length) {
    if (body[p] === 0) break;
    const sp = body.indexOf(0x20, p);
    if (sp < 0) return undefined;
    const lenStr = body.toString('latin1', p, sp);
    if (!/^[0-9]{1,9}$/.test(lenStr)) return undefined;
    const len = parseInt(lenStr, 10);
    if (len <= sp - p + 1 || p + len > body.length || body[p + len - 1] !== 0x0a) return undefined;
    const rec = body.toString('utf8', sp + 1, p + len - 1);
    const eq = rec.indexOf('=');
    if (eq <= 0) return undefined;
    out.set(rec.slice(0, eq), rec.slice(eq + 1));
    p += len;
  }
  return out;
}

async function scanTar(blob: Blob, ctx: ScanContext, rep: CappedReporter): Promise<void> {
  const { maxMembers } = ctx.limits;
  let pos = 0;
  let members = 0;
  let pending: PendingMeta = {};
  for (;;) {
    ctx.checkDeadline();
    const h = blob.read(pos, BLOCK);
    if (h.length === 0) {
      rep.report({ ruleId: 'ARCHIVE_MALFORMED', message: 'tar archive ends without its end-of-archive blocks (truncated?)', offset: pos });
      return;
    }
    if (h.length < BLOCK) {
      rep.report({ ruleId: 'ARCHIVE_MALFORMED', message: 'tar archive ends in the middle of a header (truncated)', offset: pos });
      return;
    }
    if (h.every((b) => b === 0)) return; // end of archive (Python's tarfile stops at the first zero block)
    if (!checksumOk(h)) {
      rep.report({ ruleId: 'ARCHIVE_MALFORMED', message: `tar header at offset ${pos} has a bad checksum; the rest of the archive was not read`, offset: pos });
      return;
    }
    if (++members > maxMembers) {
      ctx.report({ ruleId: 'SCAN_LIMIT', message: `${ctx.name} has more than ${maxMembers} entries; the rest were not scanned` });
      return;
    }
    const type = h[156] === 0 ? '0' : String.fromCharCode(h[156]!);
    const headerSize = tarNumber(h.subarray(124, 136));
    if (headerSize === undefined) {
      rep.report({ ruleId: 'ARCHIVE_MALFORMED', message: `tar header at offset ${pos} has an invalid size field; the rest of the archive was not read`, offset: pos });
      return;
    }
    const ustar = h.toString('latin1', 257, 263) === 'ustar\0';
    const prefix = ustar ? cstr(h.subarray(345, 500)) : '';
    const rawName = cstr(h.subarray(0, 100));
    const dataStart = pos + BLOCK;

    if (type === 'L' || type === 'K' || type === 'x' || type === 'g') {
      const body = readMeta(blob, dataStart, headerSize, ctx, rep, pos);
      if (!body) return;
      if (type === 'L') pending.path = cstr(body);
      else if (type === 'K') pending.linkpath = cstr(body);
      else if (type === 'x') applyPax(body, pending, rep, pos);
      else if (!parsePax(body)) rep.report({ ruleId: 'ARCHIVE_MALFORMED', message: `malformed pax global header at offset ${pos}`, offset: pos });
      pos = dataStart + roundUp(headerSize);
      continue;
    }

    const meta = pending;
    pending = {};
    const name = meta.path ?? (prefix ? `${prefix}/${rawName}` : rawName);
    const size = meta.size ?? headerSize;
    const linkName = meta.linkpath ?? cstr(h.subarray(157, 257));
    const why = unsafePathReason(name);
    if (why) rep.report({ ruleId: 'ARCHIVE_UNSAFE_PATH', message: `entry ${showName(name)}: ${why}`, evidence: name, offset: pos });

    if (type === '1' || type === '2') {
      const kind = type === '2' ? 'symbolic' : 'hard';
      const escapes = type === '2' ? linkEscapes(name, linkName) : unsafePathReason(linkName) !== undefined;
      rep.report({
        ruleId: escapes ? 'ARCHIVE_UNSAFE_PATH' : 'ARCHIVE_LINK',
        message: `entry ${showName(name)} is a ${kind} link to ${showName(linkName)}${escapes ? ' outside the extraction folder' : ''}`,
        evidence: `${name} -> ${linkName}`,
        offset: pos,
      });
    }
    const dataBlocks = NO_DATA_TYPES.has(type) ? 0 : roundUp(size);
    if (type === '0' || type === '7') {
      if (meta.sparse) {
        rep.report({ ruleId: 'ARCHIVE_UNSUPPORTED_METHOD', message: `entry ${showName(name)} is a sparse file and was not scanned`, evidence: name, offset: pos });
      } else {
        if (dataStart + size > blob.size) {
          rep.report({ ruleId: 'ARCHIVE_MALFORMED', message: `entry ${showName(name)} runs past the end of the archive (truncated)`, evidence: name, offset: pos });
        }
        await ctx.scanMember(name, new SliceBlob(blob, dataStart, size));
      }
    } else if (type === 'S') {
      rep.report({ ruleId: 'ARCHIVE_UNSUPPORTED_METHOD', message: `entry ${showName(name)} is a GNU sparse file and was not scanned`, evidence: name, offset: pos });
    } else if (!NO_DATA_TYPES.has(type) && size > 0) {
      // Unknown types: Python's tarfile skips their data as a regular file's; a loader may not.
      rep.report({ ruleId: 'ARCHIVE_MALFORMED', message: `entry ${showName(name)} has unknown type ${JSON.stringify(type)}; its data was scanned as a file`, evidence: name, offset: pos });
      await ctx.scanMember(name, new SliceBlob(blob, dataStart, size));
    }
    pos = dataStart + dataBlocks;
  }
}

function roundUp(n: number): number {
  return Math.ceil(n / BLOCK) * BLOCK;
}

function readMeta(blob: Blob, at: number, size: number, ctx: ScanContext, rep: CappedReporter, pos: number): Buffer | undefined {
  if (size > META_MAX) {
    ctx.report({ ruleId: 'SCAN_LIMIT', message: `tar extended header at offset ${pos} is ${size} bytes (over ${META_MAX}); the rest of the archive was not read`, offset: pos });
    return undefined;
  }
  const body = blob.read(at, size);
  if (body.length < size) {
    rep.report({ ruleId: 'ARCHIVE_MALFORMED', message: `tar extended header at offset ${pos} is truncated`, offset: pos });
    return undefined;
  }
  return body;
}

function applyPax(body: Buffer, pending: PendingMeta, rep: CappedReporter, pos: number): void {
  const recs = parsePax(body);
  if (!recs) {
    rep.report({ ruleId: 'ARCHIVE_MALFORMED', message: `malformed pax extended header at offset ${pos}`, offset: pos });
    return;
  }
  const path = recs.get('path');
  if (path !== undefined) pending.path = path;
  const link = recs.get('linkpath');
  if (link !== undefined) pending.linkpath = link;
  const size = recs.get('size');
  if (size !== undefined) {
    if (/^[0-9]{1,15}$/.test(size)) pending.size = parseInt(size, 10);
    else rep.report({ ruleId: 'ARCHIVE_MALFORMED', message: `pax header at offset ${pos} has an invalid size ${showName(size)}`, offset: pos });
  }
  if ([...recs.keys()].some((k) => k.startsWith('GNU.sparse.'))) pending.sparse = true;
}
