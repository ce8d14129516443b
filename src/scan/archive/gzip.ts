/**
 * The gzip scanner (RFC 1952, one or more members): inflates within maxBytes, the ratio limit and
 * the file's byte budget, then hands the content to ctx.scanMember under the name without ".gz"
 * (".tgz" becomes ".tar"). A gzip is one stream whose content is usually read whole (a tar), so it
 * is inflated up to maxBytes; past that only the start is handed over, with a SCAN_LIMIT finding.
 */
import { BufferBlob } from '../blob.ts';
import type { Blob, FormatScanner, ScanContext } from '../types.ts';
import { PrefixBlob, RATIO_FLOOR, showName } from './common.ts';
import { inflateBounded } from './inflate.ts';

/** The name a gzip's content goes by: the file name without .gz, else the name stored in the header. */
export function gunzippedName(name: string, head: Buffer): string {
  const lower = name.toLowerCase();
  if (lower.endsWith('.tgz')) return name.slice(0, -4) + '.tar';
  if (lower.endsWith('.gz')) return name.slice(0, -3);
  const stored = storedName(head);
  return stored ? stored.slice(stored.lastIndexOf('/') + 1) || name : name;
}

/** FNAME from a gzip header, if present (flag bit 3). */
function storedName(h: Buffer): string | undefined {
  if (h.length < 10 || !(h[3]! & 0x08)) return undefined;
  let p = 10;
  if (h[3]! & 0x04) {
    if (p + 2 > h.length) return undefined;
    p += 2 + h.readUInt16LE(p);
  }
  const end = h.indexOf(0, p);
  if (end < 0) return undefined;
  return h.toString('latin1', p, Math.min(end, p + 255));
}

export const gzipScanner: FormatScanner = {
  async scan(blob: Blob, ctx: ScanContext): Promise<void> {
    const head = blob.read(0, 64 * 1024);
    const name = gunzippedName(ctx.name, head);
    if (head.length < 18 || head[2] !== 8) {
      ctx.report({ ruleId: 'ARCHIVE_MALFORMED', message: `${showName(ctx.name)} is not a valid gzip stream (${head.length < 18 ? 'too short' : `compression method ${head[2]}`})`, offset: 0 });
      if (head.length < 18) return;
    }
    const { maxBytes, maxRatio } = ctx.limits;
    const res = await inflateBounded(blob, 0, blob.size, {
      kind: 'gzip',
      keep: maxBytes,
      stopAfterKeep: true,
      maxOutput: Math.max(RATIO_FLOOR, blob.size * maxRatio),
      consume: (n) => ctx.consumeBytes(n),
      checkDeadline: () => ctx.checkDeadline(),
    });
    if (res.error !== undefined) {
      ctx.report({ ruleId: 'ARCHIVE_MALFORMED', message: `gzip stream ${showName(ctx.name)} is corrupt or truncated (${res.error}); the ${res.data.length} bytes before the damage were scanned` });
      await ctx.scanMember(name, new BufferBlob(res.data));
      return;
    }
    if (res.complete) {
      await ctx.scanMember(name, new BufferBlob(res.data));
      return;
    }
    if (res.stop === 'limit') {
      ctx.report({ ruleId: 'SCAN_LIMIT', message: `gzip stream ${showName(ctx.name)} inflates at a ratio over ${maxRatio} (bomb?); stopped after ${res.produced} bytes` });
    } else if (res.stop === 'keep') {
      ctx.report({ ruleId: 'SCAN_LIMIT', message: `gzip stream ${showName(ctx.name)} inflates to more than ${maxBytes} bytes; only the first ${res.data.length} were scanned (raise --max-bytes to scan it all)` });
    }
    // stop 'budget' was reported by the context. Hand over the start: a payload there is still found.
    const isize = blob.size >= 4 ? blob.read(blob.size - 4, 4).readUInt32LE(0) : 0;
    await ctx.scanMember(name, new PrefixBlob(res.data, Math.max(isize, res.produced), `gzip stream ${showName(ctx.name)}`));
  },
};
