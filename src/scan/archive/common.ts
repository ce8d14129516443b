/** Helpers shared by the archive readers: capped reporting, member-name checks, partial blobs. */
import type { Blob, FindingInput, ScanContext } from '../types.ts';

export const KiB = 1024;
export const MiB = 1024 * 1024;

/** How much of a large compressed member is inflated so its format and header can be checked. */
export const PREFIX_BYTES = 1 * MiB;
/** Ratio limits apply to members that decompress to more than this (ScanLimits.maxRatio). */
export const RATIO_FLOOR = 1 * MiB;

/**
 * Reports through a context, at most `cap` findings per rule; the rest are summarised in one more
 * finding by flush(). Hostile archives can hold 100,000 bad entries: one line each helps no one.
 */
export class CappedReporter {
  readonly #ctx: ScanContext;
  readonly #cap: number;
  readonly #counts = new Map<string, number>();
  constructor(ctx: ScanContext, cap = 20) {
    this.#ctx = ctx;
    this.#cap = cap;
  }
  report(f: FindingInput): void {
    const n = (this.#counts.get(f.ruleId) ?? 0) + 1;
    this.#counts.set(f.ruleId, n);
    if (n <= this.#cap) this.#ctx.report(f);
  }
  /** Emits one summary per rule that went over its cap. Call once, at the end. */
  flush(): void {
    for (const [ruleId, n] of this.#counts) {
      if (n > this.#cap) this.#ctx.report({ ruleId, message: `${n - this.#cap} more ${ruleId} findings in ${this.#ctx.name} not listed` });
    }
    this.#counts.clear();
  }
}

/**
 * Why a member name is unsafe to extract, or undefined: absolute paths, drive letters, ".."
 * segments, backslashes, NUL and other control characters.
 */
export function unsafePathReason(name: string): string | undefined {
  if (name.length === 0) return 'empty name';
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'control character in name';
  if (name.includes('\\')) return 'backslash in name';
  if (name.startsWith('/')) return 'absolute path';
  if (/^[A-Za-z]:/.test(name)) return 'drive letter';
  if (name.split('/').includes('..')) return '".." segment';
  return undefined;
}

/** Whether a link target, resolved from the link's own folder, leaves the extraction root. */
export function linkEscapes(linkName: string, target: string): boolean {
  if (target.startsWith('/') || target.includes('\\') || /^[A-Za-z]:/.test(target)) return true;
  const parts = linkName.split('/').slice(0, -1).filter((p) => p !== '' && p !== '.');
  for (const seg of target.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (parts.length === 0) return true;
      parts.pop();
    } else parts.push(seg);
  }
  return false;
}

/** Printable form of a name for messages (control characters escaped, length capped). */
export function showName(name: string): string {
  const s = JSON.stringify(name).slice(1, -1);
  return s.length > 200 ? s.slice(0, 200) + '…' : s;
}

/**
 * A member of which only the first bytes were inflated. `size` is the member's full size so
 * headers that state lengths stay consistent; a read past the prefix throws, which the context
 * turns into a SCAN_UNREADABLE finding (fail closed) instead of silently short data.
 */
export class PrefixBlob implements Blob {
  readonly size: number;
  readonly #data: Buffer;
  readonly #what: string;
  constructor(data: Buffer, size: number, what: string) {
    this.#data = data;
    this.size = Math.max(size, data.length);
    this.#what = what;
  }
  read(offset: number, length: number): Buffer {
    if (length <= 0 || offset >= this.size) return Buffer.alloc(0);
    const end = Math.min(this.size, offset + length);
    if (end > this.#data.length) {
      throw new Error(`only the first ${this.#data.length} bytes of ${this.#what} were decompressed (limit); bytes up to ${end} are needed`);
    }
    return this.#data.subarray(offset, end);
  }
}
