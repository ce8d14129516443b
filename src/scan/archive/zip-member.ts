/**
 * Hands one zip member to ctx.scanMember. Stored members become a SliceBlob (no copy, so a 10 GB
 * member costs nothing unless a scanner reads it). Deflated members are inflated within the
 * limits (ratio, byte budget, maxBytes): in full when they declare at most min(maxBytes, 64 MiB).
 * Larger ones get their first 1 MiB inflated and sniffed: array formats (npy, safetensors, GGUF,
 * raw data) are handed over as that prefix (a PrefixBlob: a scanner that reads past it fails
 * closed with SCAN_UNREADABLE); anything else is inflated in full up to maxBytes.
 */
import { crc32 } from 'node:zlib';
import { BufferBlob, SliceBlob } from '../blob.ts';
import { detectFormat } from '../detect.ts';
import type { Blob, FormatId, ScanContext } from '../types.ts';
import { type CappedReporter, MiB, PREFIX_BYTES, PrefixBlob, RATIO_FLOOR, showName } from './common.ts';
import { type InflateResult, inflateBounded } from './inflate.ts';
import type { LocatedEntry } from './zip.ts';

/** Deflated members that declare at most this (and maxBytes) are inflated in full. */
export const FULL_INFLATE_MAX = 64 * MiB;
/** Stored members up to this size get their CRC checked (within a read budget of the file's size). */
const CRC_STORED_MAX = 16 * MiB;
/** Overlapping entries handed over at most; the rest are counted in one SCAN_LIMIT finding. */
const OVERLAP_HANDOVER_MAX = 32;

export interface ZipState {
  /** The file's decompression budget ran out: no more members are inflated. */
  budgetSpent: boolean;
  /** Bytes left to read for CRC checks of stored members (no amplification by overlapping entries). */
  crcBudget: number;
  overlappedHandedOver: number;
  overlappedSkipped: number;
}

const METHODS: Readonly<Record<number, string>> = {
  1: 'shrink', 6: 'implode', 9: 'deflate64', 12: 'bzip2', 14: 'lzma', 18: 'IBM TERSE', 19: 'IBM LZ77', 20: 'zstd (old id)', 93: 'zstd', 94: 'mp3', 95: 'xz', 96: 'jpeg', 97: 'wavpack', 98: 'ppmd', 99: 'AES',
};

export async function handOverMember(blob: Blob, loc: LocatedEntry, ctx: ScanContext, rep: CappedReporter, state: ZipState): Promise<void> {
  const { e } = loc;
  if (loc.overlapped) {
    if (state.overlappedHandedOver >= OVERLAP_HANDOVER_MAX) {
      state.overlappedSkipped++;
      return;
    }
    state.overlappedHandedOver++;
  }
  if (e.method === 0) return handOverStored(blob, loc, ctx, rep, state);
  if (e.method === 8) return handOverDeflated(blob, loc, ctx, rep, state);
  if (e.method === 99) {
    rep.report({ ruleId: 'ARCHIVE_ENCRYPTED', message: `entry ${showName(e.name)} is AES-encrypted and was not scanned`, evidence: e.name });
    return;
  }
  rep.report({
    ruleId: 'ARCHIVE_UNSUPPORTED_METHOD',
    message: `entry ${showName(e.name)} uses compression method ${e.method} (${METHODS[e.method] ?? 'unknown'}) and was not scanned`,
    evidence: `${e.name}: method ${e.method}`,
  });
}

async function handOverStored(blob: Blob, loc: LocatedEntry, ctx: ScanContext, rep: CappedReporter, state: ZipState): Promise<void> {
  const { e } = loc;
  if (!e.unknownSizes && e.size !== e.compressedSize) {
    rep.report({ ruleId: 'ARCHIVE_EVASION', message: `stored entry ${showName(e.name)} declares ${e.size} bytes but holds ${e.compressedSize}`, evidence: e.name });
  }
  const slice = new SliceBlob(blob, loc.dataStart, loc.available);
  if (!e.unknownSizes && loc.available === e.compressedSize && slice.size <= CRC_STORED_MAX && slice.size <= state.crcBudget) {
    state.crcBudget -= slice.size;
    let crc = 0;
    for (let off = 0; off < slice.size; off += MiB) crc = crc32(slice.read(off, MiB), crc);
    if (crc !== e.crc) reportCrc(e.name, e.crc, crc, rep);
  }
  await ctx.scanMember(e.name, slice);
}

/**
 * Formats whose scanners read a header, not the whole content: a large deflated member in one of
 * these gets only its start inflated. Anything else (pickle, zip, HDF5, JSON...) is inflated in
 * full up to maxBytes, because its scanner needs all of it.
 */
const HEADER_FORMATS: ReadonlySet<FormatId> = new Set<FormatId>(['numpy', 'safetensors', 'gguf', 'unknown']);

async function handOverDeflated(blob: Blob, loc: LocatedEntry, ctx: ScanContext, rep: CappedReporter, state: ZipState): Promise<void> {
  const { e } = loc;
  const { maxBytes, maxRatio } = ctx.limits;
  if (state.budgetSpent) return; // SCAN_LIMIT was reported once by the context
  const fullLimit = Math.min(maxBytes, FULL_INFLATE_MAX);
  const prefix = Math.min(PREFIX_BYTES, fullLimit);
  const declaredRatioBad = !e.unknownSizes && e.size > RATIO_FLOOR && e.size > e.compressedSize * maxRatio;
  if (declaredRatioBad) {
    rep.report({
      ruleId: 'SCAN_LIMIT',
      message: `entry ${showName(e.name)} declares ${e.size} bytes from ${e.compressedSize} compressed (ratio over ${maxRatio}): only its first ${prefix} bytes were checked`,
      evidence: e.name,
    });
  }
  const inflate = (keep: number): Promise<InflateResult> =>
    inflateBounded(blob, loc.dataStart, loc.available, {
      kind: 'raw',
      keep,
      stopAfterKeep: true,
      maxOutput: Math.max(RATIO_FLOOR, loc.available * maxRatio),
      consume: (n) => {
        const ok = ctx.consumeBytes(n);
        if (!ok) state.budgetSpent = true;
        return ok;
      },
      checkDeadline: () => ctx.checkDeadline(),
    });

  let res: InflateResult;
  let want = fullLimit; // bytes we mean to have; less than the member means a partial member
  if (declaredRatioBad || loc.overlapped === true) {
    res = await inflate(prefix);
    want = prefix;
  } else if (!e.unknownSizes && e.size > fullLimit) {
    // Large: inflate the start, and all of it (up to maxBytes) only if its scanner reads it all.
    res = await inflate(prefix);
    want = prefix;
    const format = detectFormat(new BufferBlob(res.data), e.name);
    if (res.stop === 'keep' && !HEADER_FORMATS.has(format)) {
      if (e.size <= maxBytes) {
        res = await inflate(maxBytes);
        want = maxBytes;
      } else {
        rep.report({ ruleId: 'SCAN_LIMIT', message: `entry ${showName(e.name)} (${format}, ${e.size} bytes) must be read whole but is over maxBytes; only its first ${prefix} bytes were checked`, evidence: e.name });
      }
    } else if (res.stop === 'keep') {
      rep.report({ ruleId: 'ARCHIVE_PARTIAL_MEMBER', message: `entry ${showName(e.name)} (${format}, ${e.size} bytes deflated): only its first ${res.data.length} bytes were inflated`, evidence: e.name });
    }
  } else {
    res = await inflate(fullLimit);
  }

  if (res.error !== undefined) {
    rep.report({ ruleId: 'ARCHIVE_MALFORMED', message: `deflate data of ${showName(e.name)} is corrupt or truncated (${res.error}); the ${res.data.length} bytes before the damage were scanned`, evidence: e.name });
    await ctx.scanMember(e.name, new BufferBlob(res.data));
    return;
  }
  if (res.complete) {
    if (!e.unknownSizes && res.produced !== e.size) {
      rep.report({ ruleId: 'ARCHIVE_EVASION', message: `entry ${showName(e.name)} declares ${e.size} bytes but inflates to ${res.produced}`, evidence: e.name });
    }
    if (!e.unknownSizes) {
      const crc = crc32(res.data);
      if (crc !== e.crc) reportCrc(e.name, e.crc, crc, rep);
    }
    await ctx.scanMember(e.name, new BufferBlob(res.data));
    return;
  }
  if (res.stop === 'limit') {
    rep.report({ ruleId: 'SCAN_LIMIT', message: `entry ${showName(e.name)} inflates at a ratio over ${maxRatio} (zip bomb?); stopped after ${res.produced} bytes`, evidence: e.name });
  } else if (res.stop === 'keep' && want > prefix) {
    const lie = e.unknownSizes || e.size <= want;
    rep.report(
      lie
        ? { ruleId: 'ARCHIVE_EVASION', message: `entry ${showName(e.name)} declares ${e.unknownSizes ? 'no' : e.size} bytes but inflates to more than ${want}; only the first ${want} were checked`, evidence: e.name }
        : { ruleId: 'SCAN_LIMIT', message: `entry ${showName(e.name)} inflates to more than ${want} bytes; only the first ${want} were checked`, evidence: e.name },
    );
  }
  const fullSize = Math.max(e.unknownSizes ? 0 : e.size, res.produced);
  await ctx.scanMember(e.name, new PrefixBlob(res.data, fullSize, `zip entry ${showName(e.name)}`));
}

function reportCrc(name: string, stated: number, actual: number, rep: CappedReporter): void {
  const hex = (n: number): string => n.toString(16).padStart(8, '0');
  rep.report({
    ruleId: 'ARCHIVE_EVASION',
    message: `entry ${showName(name)} has a wrong CRC-32: Python's zipfile refuses it, PyTorch does not check; scanned anyway`,
    evidence: `stated ${hex(stated)}, actual ${hex(actual)}`,
  });
}
