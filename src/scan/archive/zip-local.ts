/**
 * The fallback when a zip has no usable central directory (a truncated download, a damaged end
 * record): walk the local headers from the start, finding streamed entries' ends by their data
 * descriptors or the next header signature.
 */
import type { FindingInput } from '../types.ts';
import { MiB } from './common.ts';
import { SIG_CENTRAL, SIG_DESCRIPTOR, SIG_EOCD, SIG_LOCAL, type ZipDirectory, type ZipEntry, type WindowReader, decodeName, readLocalHeader, u64 } from './zip-format.ts';

/** Finds where data of unknown length (streamed, size in a trailing descriptor) ends. */
function findDataEnd(r: WindowReader, dataStart: number, checkDeadline: () => void): { compressedSize: number; crc?: number; size?: number; next: number } {
  const size = r.blob.size;
  for (let p = dataStart; p + 4 <= size; ) {
    checkDeadline();
    const chunk = r.bytes(p, MiB);
    const limit = chunk.length - 3;
    for (let i = 0; i < limit; i++) {
      if (chunk[i] !== 0x50 || chunk[i + 1] !== 0x4b) continue;
      const at = p + i;
      const sig = chunk.readUInt32LE(i);
      if (sig === SIG_DESCRIPTOR) {
        const d = r.bytes(at, 24);
        const dist = at - dataStart;
        if (d.length >= 16 && d.readUInt32LE(8) === dist % 0x100000000) return { compressedSize: dist, crc: d.readUInt32LE(4), size: d.readUInt32LE(12), next: at + 16 };
        if (d.length >= 24 && u64(d, 8) === dist) return { compressedSize: dist, crc: d.readUInt32LE(4), size: u64(d, 16) ?? 0, next: at + 24 };
      } else if (sig === SIG_LOCAL || sig === SIG_CENTRAL || sig === SIG_EOCD) {
        return { compressedSize: at - dataStart, next: at };
      }
    }
    if (chunk.length < MiB) break;
    p += Math.max(1, limit);
  }
  return { compressedSize: size - dataStart, next: size };
}

export function walkLocal(r: WindowReader, maxMembers: number, checkDeadline: () => void, issues: FindingInput[]): ZipDirectory {
  const entries: ZipEntry[] = [];
  let pos = 0;
  let overLimit = false;
  for (;;) {
    const h = readLocalHeader(r, pos);
    if (!h) break;
    if (entries.length >= maxMembers) {
      overLimit = true;
      break;
    }
    checkDeadline();
    const e: ZipEntry = {
      index: entries.length,
      name: decodeName(h.nameBytes),
      nameBytes: h.nameBytes,
      flags: h.flags,
      method: h.method,
      crc: h.crc,
      compressedSize: h.compressedSize,
      size: h.size,
      localOffset: pos,
      unixMode: 0,
      dataStart: h.dataStart,
    };
    let next = h.dataStart + h.compressedSize;
    if (h.flags & 0x8 && h.compressedSize === 0) {
      const found = findDataEnd(r, h.dataStart, checkDeadline);
      e.compressedSize = found.compressedSize;
      if (found.crc !== undefined) e.crc = found.crc;
      if (found.size !== undefined) e.size = found.size;
      else e.unknownSizes = true;
      next = found.next;
    } else if (h.flags & 0x8) {
      next = skipDescriptor(r, next);
    }
    entries.push(e);
    if (next <= pos) break;
    pos = next;
  }
  return { entries, declared: entries.length, source: 'local', overLimit, issues };
}

/** Skips a data descriptor (12, 16, 20 or 24 bytes): the size after which a signature follows. */
function skipDescriptor(r: WindowReader, at: number): number {
  const hasSig = r.bytes(at, 4).length === 4 && r.bytes(at, 4).readUInt32LE(0) === SIG_DESCRIPTOR;
  for (const n of hasSig ? [16, 24] : [12, 20]) {
    const s = r.bytes(at + n, 4);
    if (s.length < 4 || s.readUInt32LE(0) === SIG_LOCAL || s.readUInt32LE(0) === SIG_CENTRAL) return at + n;
  }
  return at + (hasSig ? 16 : 12);
}

