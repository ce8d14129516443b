/**
 * Zip structure, read the way PyTorch (miniz) reads it (PKWARE APPNOTE 4.3): the last end-of-central-
 * directory record in the tail, the ZIP64 locator and record when present, the central directory,
 * and member data at local header offset + 30 + local name length + local extra length. Flags and
 * CRCs are not obeyed here; the scanner reports them. Headers only: no member data is read.
 */
import type { Blob, FindingInput } from '../types.ts';
import { showName } from './common.ts';
import { EOCD_SIZE, MAX_COMMENT, SIG_CENTRAL, SIG_EOCD, SIG_EOCD64, SIG_LOCATOR64, type ZipDirectory, type ZipEntry, WindowReader, applyZip64, decodeName, u64 } from './zip-format.ts';
import { walkLocal } from './zip-local.ts';

export type { ZipDirectory, ZipEntry } from './zip-format.ts';
export { WindowReader, readLocalHeader } from './zip-format.ts';

interface EndRecord {
  pos: number;
  entries: number;
  cdSize: number;
  cdOffset: number;
  /** Where the central directory should end: the ZIP64 record, or the end record. */
  cdEnd: number;
  zip64: boolean;
}

function findEndRecords(blob: Blob, issues: FindingInput[]): EndRecord[] {
  const tailStart = Math.max(0, blob.size - (EOCD_SIZE + MAX_COMMENT));
  const tail = blob.read(tailStart, blob.size - tailStart);
  const found: EndRecord[] = [];
  for (let i = tail.length - EOCD_SIZE; i >= 0 && found.length < 4; i--) {
    if (tail[i] !== 0x50 || tail.readUInt32LE(i) !== SIG_EOCD) continue;
    const pos = tailStart + i;
    const e: EndRecord = {
      pos,
      entries: tail.readUInt16LE(i + 10),
      cdSize: tail.readUInt32LE(i + 12),
      cdOffset: tail.readUInt32LE(i + 16),
      cdEnd: pos,
      zip64: false,
    };
    if (tail.readUInt16LE(i + 4) !== 0 || tail.readUInt16LE(i + 6) !== 0) {
      issues.push({ ruleId: 'ARCHIVE_MALFORMED', message: 'end of central directory names a multi-disk (spanned) archive', offset: pos });
    }
    readZip64(blob, e, issues);
    found.push(e);
  }
  return found;
}

function readZip64(blob: Blob, e: EndRecord, issues: FindingInput[]): void {
  if (e.pos < 20) return;
  const loc = blob.read(e.pos - 20, 20);
  if (loc.length < 20 || loc.readUInt32LE(0) !== SIG_LOCATOR64) return;
  const stated = u64(loc, 8);
  // The record normally sits right before the locator; prepended data shifts the stated offset.
  const candidates = [stated, e.pos - 20 - 56].filter((x): x is number => x !== undefined && x >= 0);
  for (const at of candidates) {
    const rec = blob.read(at, 56);
    if (rec.length < 56 || rec.readUInt32LE(0) !== SIG_EOCD64) continue;
    const entries = u64(rec, 32);
    const cdSize = u64(rec, 40);
    const cdOffset = u64(rec, 48);
    if (entries === undefined || cdSize === undefined || cdOffset === undefined) break;
    Object.assign(e, { entries, cdSize, cdOffset, cdEnd: at, zip64: true });
    return;
  }
  issues.push({ ruleId: 'ARCHIVE_MALFORMED', message: 'ZIP64 end-of-central-directory locator points to no valid ZIP64 record', offset: e.pos - 20 });
}

/** Reads the central directory (or, when there is none, walks the local headers). */
export function readZipDirectory(blob: Blob, maxMembers: number, checkDeadline: () => void): ZipDirectory {
  const issues: FindingInput[] = [];
  const r = new WindowReader(blob);
  const ends = findEndRecords(blob, issues);
  for (const [k, end] of ends.entries()) {
    // miniz and Python take offsets as written; Python also accepts data prepended to the archive.
    const shift = end.cdEnd - end.cdSize - end.cdOffset;
    for (const s of shift === 0 ? [0] : [0, shift]) {
      const start = end.cdOffset + s;
      if (start < 0 || start + 4 > blob.size || r.bytes(start, 4).readUInt32LE(0) !== SIG_CENTRAL) {
        if (end.entries === 0 && end.cdSize === 0) return { entries: [], declared: 0, source: 'central', overLimit: false, issues };
        continue;
      }
      if (s !== 0) issues.push({ ruleId: 'ARCHIVE_MALFORMED', message: `${s} bytes of data before the archive shift every offset in it`, offset: 0 });
      if (k > 0) issues.push({ ruleId: 'ARCHIVE_MALFORMED', message: 'the last end-of-central-directory record is invalid; an earlier one was used', offset: ends[0]!.pos });
      const dir = readCentral(r, start, end, s, maxMembers, checkDeadline, issues);
      if (dir.entries.length > 0 || end.entries === 0) return dir;
      break; // a central directory with no readable entry: look at the local headers instead
    }
  }
  issues.push({
    ruleId: 'ARCHIVE_MALFORMED',
    message: ends.length === 0 ? 'no end-of-central-directory record: entries were found by walking local headers' : 'the central directory is missing or unreadable: entries were found by walking local headers',
  });
  return walkLocal(r, maxMembers, checkDeadline, issues);
}

function readCentral(r: WindowReader, start: number, end: EndRecord, shift: number, maxMembers: number, checkDeadline: () => void, issues: FindingInput[]): ZipDirectory {
  const entries: ZipEntry[] = [];
  const cdEnd = Math.min(r.blob.size, start + end.cdSize);
  let pos = start;
  let overLimit = false;
  while (pos + 46 <= cdEnd) {
    const h = r.bytes(pos, 46);
    if (h.readUInt32LE(0) !== SIG_CENTRAL) break;
    if (entries.length >= maxMembers) {
      overLimit = true;
      break;
    }
    if ((entries.length & 1023) === 1023) checkDeadline();
    const nameLen = h.readUInt16LE(28);
    const extraLen = h.readUInt16LE(30);
    const commentLen = h.readUInt16LE(32);
    const rest = r.bytes(pos + 46, nameLen + extraLen);
    const nameBytes = Buffer.from(rest.subarray(0, nameLen));
    const v = { size: h.readUInt32LE(24), compressedSize: h.readUInt32LE(20), localOffset: h.readUInt32LE(42) };
    const name = decodeName(nameBytes);
    if (!applyZip64(rest.subarray(nameLen), v, false)) {
      issues.push({ ruleId: 'ARCHIVE_MALFORMED', message: `entry ${showName(name)} has saturated sizes but no valid ZIP64 field`, offset: pos });
    }
    const madeBy = h.readUInt16LE(4);
    const entry: ZipEntry = {
      index: entries.length,
      name,
      nameBytes,
      flags: h.readUInt16LE(8),
      method: h.readUInt16LE(10),
      crc: h.readUInt32LE(16),
      compressedSize: v.compressedSize,
      size: v.size,
      localOffset: v.localOffset + shift,
      unixMode: madeBy >> 8 === 3 ? h.readUInt32LE(38) >>> 16 : 0,
    };
    if (shift !== 0) entry.unshiftedOffset = v.localOffset;
    entries.push(entry);
    pos += 46 + nameLen + extraLen + commentLen;
  }
  // Without ZIP64 the count is 16 bits: writers that do not switch to ZIP64 let it wrap.
  const countOk = end.zip64 ? entries.length === end.entries : (entries.length & 0xffff) === end.entries;
  if (!overLimit && !countOk) {
    issues.push({ ruleId: 'ARCHIVE_MALFORMED', message: `the central directory holds ${entries.length} entries but the end record declares ${end.entries}`, offset: start });
  }
  return { entries, declared: Math.max(end.entries, entries.length), source: 'central', overLimit, issues };
}

