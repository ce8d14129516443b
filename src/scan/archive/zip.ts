/**
 * The zip scanner: reads the directory as PyTorch does (zip-read.ts), reports what makes other
 * readers disagree (flags, names, overlaps, duplicates, unsafe paths), skips PyTorch's raw tensor
 * storages and hands every other member to ctx.scanMember (zip-member.ts).
 */
import type { Blob, FormatScanner, ScanContext } from '../types.ts';
import { CappedReporter, linkEscapes, showName, unsafePathReason } from './common.ts';
import { type ZipState, handOverMember } from './zip-member.ts';
import { type ZipEntry, WindowReader, readLocalHeader, readZipDirectory } from './zip-read.ts';

export interface LocatedEntry {
  e: ZipEntry;
  /** First byte of the local header. */
  headerStart: number;
  dataStart: number;
  /** Bytes of member data present in the file (compressed size, clamped to the file). */
  available: number;
  /** Same local header as an earlier entry: identical bytes, scanned once. */
  sameAs?: number;
  /** Shares bytes with another entry. */
  overlapped?: boolean;
}

/** General-purpose flag bits that make Python's zipfile (and zipfile-based scanners) refuse a member. */
const REFUSED_FLAGS: ReadonlyArray<[number, string]> = [
  [0x0001, 'bit 0 (encrypted)'],
  [0x0020, 'bit 5 (compressed patched data)'],
  [0x0040, 'bit 6 (strong encryption)'],
  [0x2000, 'bit 13 (encrypted central directory)'],
];

export const zipScanner: FormatScanner = {
  async scan(blob: Blob, ctx: ScanContext): Promise<void> {
    const rep = new CappedReporter(ctx);
    try {
      await scanZip(blob, ctx, rep);
    } finally {
      rep.flush();
    }
  },
};

async function scanZip(blob: Blob, ctx: ScanContext, rep: CappedReporter): Promise<void> {
  const { maxMembers } = ctx.limits;
  const dir = readZipDirectory(blob, maxMembers, () => ctx.checkDeadline());
  for (const issue of dir.issues) rep.report(issue);
  if (dir.overLimit) {
    ctx.report({ ruleId: 'SCAN_LIMIT', message: `${ctx.name} has more than ${maxMembers} entries${dir.declared > maxMembers ? ` (declares ${dir.declared})` : ''}; only the first ${maxMembers} were scanned` });
  }
  const located = locateAll(blob, dir.entries, ctx, rep);
  checkNames(located, rep);
  const overlapCount = markOverlaps(located, rep);
  const storages = tensorStorageMatcher(located);

  const state: ZipState = { budgetSpent: false, crcBudget: blob.size + 64 * 1024 * 1024, overlappedHandedOver: 0, overlappedSkipped: 0 };
  let tensorCount = 0;
  let tensorBytes = 0;
  for (const [i, loc] of located.entries()) {
    if ((i & 255) === 255) ctx.checkDeadline();
    const { e } = loc;
    checkFlags(e, rep);
    if (e.name.endsWith('/') && e.size === 0 && loc.available === 0) continue; // a folder
    if ((e.unixMode & 0o170000) === 0o120000) {
      reportLink(blob, loc, rep);
      continue;
    }
    if (storages(e.name)) {
      tensorCount++;
      tensorBytes += e.size;
      continue;
    }
    if (loc.sameAs !== undefined) continue;
    await handOverMember(blob, loc, ctx, rep, state);
  }
  if (tensorCount > 0) {
    ctx.report({ ruleId: 'ARCHIVE_TENSORS_SKIPPED', message: `${tensorCount} raw tensor storage member(s) (${tensorBytes} bytes) of a PyTorch archive were not read`, evidence: `${tensorCount}` });
  }
  if (state.overlappedSkipped > 0) {
    ctx.report({ ruleId: 'SCAN_LIMIT', message: `${state.overlappedSkipped} more overlapping entries of ${ctx.name} were not scanned (${overlapCount} overlap in all)` });
  }
}

/** Finds each entry's data the way miniz does: local offset + 30 + local name and extra lengths. */
function locateAll(blob: Blob, entries: ZipEntry[], ctx: ScanContext, rep: CappedReporter): LocatedEntry[] {
  const r = new WindowReader(blob, 4096);
  const out: LocatedEntry[] = [];
  for (const e of entries) {
    if ((e.index & 1023) === 1023) ctx.checkDeadline();
    let dataStart = e.dataStart;
    if (dataStart === undefined) {
      let lh = readLocalHeader(r, e.localOffset);
      if (!lh && e.unshiftedOffset !== undefined) {
        lh = readLocalHeader(r, e.unshiftedOffset);
        if (lh) e.localOffset = e.unshiftedOffset;
      }
      if (!lh) {
        rep.report({ ruleId: 'ARCHIVE_MALFORMED', message: `entry ${showName(e.name)} points to no local header (offset ${e.localOffset}); it cannot be loaded or scanned`, offset: e.localOffset });
        continue;
      }
      if (!lh.nameBytes.equals(e.nameBytes)) {
        rep.report({
          ruleId: 'ARCHIVE_EVASION',
          message: `local header names ${showName(lh.nameBytes.toString('latin1'))} but the central directory names ${showName(e.name)}: streaming extractors and PyTorch see different files`,
          evidence: e.name,
          offset: e.localOffset,
        });
      }
      if (lh.method !== e.method) {
        rep.report({ ruleId: 'ARCHIVE_EVASION', message: `entry ${showName(e.name)}: local header says compression method ${lh.method}, central directory says ${e.method}`, evidence: e.name, offset: e.localOffset });
      }
      dataStart = lh.dataStart;
    }
    let available = e.compressedSize;
    if (dataStart + e.compressedSize > blob.size) {
      available = Math.max(0, blob.size - dataStart);
      rep.report({ ruleId: 'ARCHIVE_MALFORMED', message: `entry ${showName(e.name)} runs past the end of the file (truncated: ${available} of ${e.compressedSize} bytes)`, offset: dataStart });
    }
    out.push({ e, headerStart: e.localOffset, dataStart, available });
  }
  return out;
}

function checkNames(located: LocatedEntry[], rep: CappedReporter): void {
  const seen = new Map<string, number>();
  for (const { e } of located) {
    const why = unsafePathReason(e.name);
    if (why) rep.report({ ruleId: 'ARCHIVE_UNSAFE_PATH', message: `entry ${showName(e.name)}: ${why}`, evidence: e.name });
    const key = e.nameBytes.toString('latin1');
    const n = (seen.get(key) ?? 0) + 1;
    seen.set(key, n);
    if (n === 2) {
      rep.report({ ruleId: 'ARCHIVE_DUPLICATE_NAME', message: `more than one entry is named ${showName(e.name)}; readers disagree on which one they load`, evidence: e.name });
    }
  }
}

/** Marks entries whose bytes (local header to end of data) overlap another entry's; returns how many. */
function markOverlaps(located: LocatedEntry[], rep: CappedReporter): number {
  const order = located.map((_, i) => i).sort((a, b) => located[a]!.headerStart - located[b]!.headerStart || a - b);
  let owner = -1;
  let maxEnd = -1;
  let count = 0;
  let example = '';
  for (const i of order) {
    const loc = located[i]!;
    const end = loc.dataStart + loc.available;
    if (owner >= 0 && loc.headerStart < maxEnd) {
      const prev = located[owner]!;
      if (prev.headerStart === loc.headerStart && prev.available === loc.available && prev.e.method === loc.e.method) loc.sameAs = owner;
      else loc.overlapped = true;
      count++;
      if (!example) example = `${showName(prev.e.name)} and ${showName(loc.e.name)}`;
    }
    if (end > maxEnd) {
      maxEnd = end;
      owner = i;
    }
  }
  if (count > 0) {
    rep.report({ ruleId: 'ARCHIVE_OVERLAP', message: `${count} entr${count === 1 ? 'y shares' : 'ies share'} bytes with another entry (e.g. ${example})`, evidence: example });
  }
  return count;
}

/**
 * PyTorch archives: with `<p>/data.pkl` present, `<p>/data/<digits>` are raw tensor storages
 * (and `<p>/constants/<digits>` with `<p>/constants.pkl`, in TorchScript archives).
 */
function tensorStorageMatcher(located: LocatedEntry[]): (name: string) => boolean {
  const roots = new Set<string>();
  for (const { e } of located) {
    const m = /^([^/]+)\/(data|constants)\.pkl$/.exec(e.name);
    if (m) roots.add(`${m[1]}/${m[2]}`);
  }
  if (roots.size === 0) return () => false;
  return (name) => {
    const m = /^([^/]+\/(?:data|constants))\/\d+$/.exec(name);
    return m !== null && roots.has(m[1]!);
  };
}

function checkFlags(e: ZipEntry, rep: CappedReporter): void {
  const set = REFUSED_FLAGS.filter(([bit]) => e.flags & bit).map(([, what]) => what);
  if (set.length === 0) return;
  rep.report({
    ruleId: 'ARCHIVE_EVASION',
    message: `entry ${showName(e.name)} has general-purpose flag ${set.join(', ')} set: Python's zipfile refuses it, PyTorch ignores the flag and reads the bytes; scanned as plain data`,
    evidence: `flags=0x${e.flags.toString(16).padStart(4, '0')}`,
  });
}

function reportLink(blob: Blob, loc: LocatedEntry, rep: CappedReporter): void {
  const target = loc.e.method === 0 && loc.available <= 4096 ? blob.read(loc.dataStart, loc.available).toString('utf8') : '';
  const escapes = target !== '' && linkEscapes(loc.e.name, target);
  rep.report({
    ruleId: escapes ? 'ARCHIVE_UNSAFE_PATH' : 'ARCHIVE_LINK',
    message: `entry ${showName(loc.e.name)} is a symbolic link${target ? ` to ${showName(target)}` : ''}${escapes ? ' outside the extraction folder' : ''}`,
    evidence: target || loc.e.name,
  });
}
