/**
 * 7z archives and bzip2 / xz streams, through the WebAssembly 7-Zip (sevenzip-wasm.ts): list
 * first (`l -slt`) and enforce maxMembers, maxTotalBytes, maxBytes and the ratio on the declared
 * sizes, then extract into memory under a write guard that enforces them again on the real bytes
 * (and the deadline), and hand every extracted file to ctx.scanMember. An archive 7-Zip reports as
 * damaged is reported ARCHIVE_MALFORMED, and whatever was extracted is still scanned.
 */
import { BufferBlob } from '../blob.ts';
import type { Blob, FormatScanner, ScanContext } from '../types.ts';
import { CappedReporter, PREFIX_BYTES, PrefixBlob, RATIO_FLOOR, linkEscapes, showName, unsafePathReason } from './common.ts';
import { type RunResult, type SevenZipHost, sevenZipHost } from './sevenzip-wasm.ts';

/** A password no archive uses: encrypted content fails to open instead of prompting. */
const NO_PASSWORD = '-pperimeter-no-password';

export interface ListedItem {
  path: string;
  size?: number;
  packed?: number;
  folder: boolean;
  encrypted: boolean;
  link?: string;
  attributes?: string;
}

/** Parses `7zz l -slt` output: the item blocks after the "----------" line. */
export function parseSlt(stdout: string): { type?: string; items: ListedItem[] } {
  const lines = stdout.split('\n');
  const sep = lines.findIndex((l) => /^-{10}$/.test(l.trim()));
  let type: string | undefined;
  for (const l of lines.slice(0, sep < 0 ? lines.length : sep)) {
    const m = /^Type = (.*)$/.exec(l);
    if (m) type = m[1];
  }
  const items: ListedItem[] = [];
  if (sep < 0) return { type, items };
  let cur: Map<string, string> | undefined;
  const flush = (): void => {
    if (!cur || cur.size === 0) return;
    const num = (k: string): number | undefined => {
      const v = cur!.get(k);
      return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
    };
    const item: ListedItem = { path: cur.get('Path') ?? '', folder: cur.get('Folder') === '+', encrypted: cur.get('Encrypted') === '+' };
    const size = num('Size');
    if (size !== undefined) item.size = size;
    const packed = num('Packed Size');
    if (packed !== undefined) item.packed = packed;
    const link = cur.get('Symbolic Link') ?? cur.get('Hard Link');
    if (link) item.link = link;
    const attrs = cur.get('Attributes');
    if (attrs !== undefined) item.attributes = attrs;
    items.push(item);
    cur = undefined;
  };
  for (const l of lines.slice(sep + 1)) {
    if (l.trim() === '') {
      flush();
      continue;
    }
    const eq = l.indexOf(' = ');
    if (eq < 0) continue;
    cur ??= new Map();
    cur.set(l.slice(0, eq), l.slice(eq + 3));
  }
  flush();
  return { type, items };
}

/**
 * The most memory a decoder needs for the methods 7-Zip lists ("LZMA2:24" is a 2^24-byte
 * dictionary, "LZMA:1536m" 1536 MiB, "PPMD:o6:mem192m" a 192 MiB model). A hostile header can ask
 * for gigabytes before a byte is extracted.
 */
export function decoderMemory(stdout: string): number {
  let max = 0;
  for (const [, methods] of stdout.matchAll(/^Method = (.*)$/gm)) {
    for (const token of methods!.split(/\s+/)) {
      const [name, ...params] = token.split(':');
      const upper = (name ?? '').toUpperCase();
      const values = upper === 'LZMA' || upper === 'LZMA2' ? params.slice(0, 1) : upper === 'PPMD' ? params.filter((p) => p.startsWith('mem')).map((p) => p.slice(3)) : [];
      for (const v of values) {
        const m = /^(\d+)([bkmg]?)$/i.exec(v);
        if (!m) continue;
        const n = Number(m[1]);
        const unit = { '': 0, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase()] ?? 0;
        max = Math.max(max, unit === 0 ? (n < 53 ? 2 ** n : n) : n * unit);
      }
    }
  }
  return max;
}

function sniffType(blob: Blob): '7z' | 'bzip2' | 'xz' {
  const h = blob.read(0, 6);
  if (h[0] === 0x42 && h[1] === 0x5a && h[2] === 0x68) return 'bzip2';
  if (h[0] === 0xfd && h[1] === 0x37) return 'xz';
  return '7z';
}

/**
 * Whether a 7z archive's header is encrypted (7z -mhe): the start header points to an encoded
 * header (property id 0x17) whose coders include 7zAES (method id 06 F1 07 01).
 */
export function sevenZipHeaderEncrypted(blob: Blob): boolean {
  const start = blob.read(0, 32);
  if (start.length < 32) return false;
  const offset = Number(start.readBigUInt64LE(12));
  const size = Number(start.readBigUInt64LE(20));
  if (!Number.isSafeInteger(offset) || size <= 0 || size > 1 << 20) return false;
  const next = blob.read(32 + offset, size);
  return next[0] === 0x17 && next.includes(Buffer.from([0x06, 0xf1, 0x07, 0x01]));
}

/** What went wrong, for messages: a crash, or the error lines of 7-Zip's output. */
function failureText(r: RunResult): string {
  if (r.crashed !== undefined) return /^\d+$/.test(r.crashed) ? 'internal error (uncaught exception)' : r.crashed;
  return errorText(r.stdout, r.stderr);
}

/** Error lines of 7-Zip's output, for messages. */
function errorText(stdout: string, stderr: string): string {
  const lines = `${stderr}\n${stdout}`.split('\n').map((l) => l.trim());
  const errs = lines.filter((l) => /error|unexpected|can ?not|wrong|unsupported|corrupt|headers/i.test(l) && !/^Errors?: \d+$/i.test(l));
  return [...new Set(errs)].slice(0, 3).join('; ').slice(0, 300) || 'unknown error';
}

export const sevenZipScanner: FormatScanner = {
  async scan(blob: Blob, ctx: ScanContext): Promise<void> {
    const rep = new CappedReporter(ctx);
    try {
      const extracted = await extract(blob, ctx, rep, await sevenZipHost());
      for (const [name, b] of extracted) await ctx.scanMember(name, b);
    } finally {
      rep.flush();
    }
  },
};

async function extract(blob: Blob, ctx: ScanContext, rep: CappedReporter, host: SevenZipHost): Promise<Array<[string, Blob]>> {
  const type = sniffType(blob);
  const { maxMembers, maxBytes, maxTotalBytes, maxRatio } = ctx.limits;
  let timedOut = false;
  const alive = (): boolean => {
    try {
      ctx.checkDeadline();
      return true;
    } catch {
      timedOut = true;
      return false;
    }
  };
  const job = host.mkdtemp();
  try {
    host.mkdir(`${job}/in`);
    // 7-Zip names a bzip2/xz stream's content after the archive: give it the blob's own name.
    const base = (ctx.name.slice(ctx.name.lastIndexOf('/') + 1).replace(/[^\w.+-]/g, '_') || 'archive').slice(-200);
    const input = `${job}/in/${base}`;
    host.putBlob(input, blob, alive);
    const common = ['-sccUTF-8', '-scsUTF-8', `-t${type}`, NO_PASSWORD, '-bd'];

    const listed = host.run(['l', '-slt', ...common, '--', input]);
    if (timedOut) ctx.checkDeadline();
    const { items } = parseSlt(listed.stdout);
    if (listed.exitCode !== 0 || listed.crashed) {
      const text = failureText(listed);
      const encrypted = /wrong password|encrypted/i.test(text) || (type === '7z' && sevenZipHeaderEncrypted(blob));
      rep.report(
        encrypted
          ? { ruleId: 'ARCHIVE_ENCRYPTED', message: `${showName(ctx.name)} is encrypted, names included, and could not be listed or scanned` }
          : { ruleId: 'ARCHIVE_MALFORMED', message: `7-Zip cannot read ${showName(ctx.name)} as ${type}: ${text}` },
      );
      if (items.length === 0) return [];
    }
    const files = items.filter((i) => !i.folder);
    if (files.length > maxMembers) {
      ctx.report({ ruleId: 'SCAN_LIMIT', message: `${ctx.name} has ${files.length} members (over ${maxMembers}); it was not extracted` });
      return [];
    }
    let declared = 0;
    let encrypted = 0;
    const declaredSize = new Map<string, number>();
    for (const it of items) {
      const why = it.path ? unsafePathReason(it.path) : undefined;
      if (why) rep.report({ ruleId: 'ARCHIVE_UNSAFE_PATH', message: `entry ${showName(it.path)}: ${why}`, evidence: it.path });
      const isLink = it.link !== undefined || /(^|\s)l[rwx-]{9}/.test(it.attributes ?? '');
      if (isLink) {
        const escapes = it.link !== undefined && linkEscapes(it.path, it.link);
        rep.report({ ruleId: escapes ? 'ARCHIVE_UNSAFE_PATH' : 'ARCHIVE_LINK', message: `entry ${showName(it.path)} is a link${it.link ? ` to ${showName(it.link)}` : ''}`, evidence: it.path });
      }
      if (it.encrypted) {
        encrypted++;
        rep.report({ ruleId: 'ARCHIVE_ENCRYPTED', message: `entry ${showName(it.path)} is encrypted and was not scanned`, evidence: it.path });
      }
      if (it.size !== undefined && !it.folder) {
        declared += it.size;
        if (it.path) declaredSize.set(it.path, it.size);
      }
    }
    const memory = decoderMemory(listed.stdout);
    if (memory > Math.max(64 * 1024 * 1024, maxBytes)) {
      ctx.report({ ruleId: 'SCAN_LIMIT', message: `${ctx.name} needs ${memory} bytes of decoder memory (dictionary); it was not extracted`, evidence: `${memory}` });
      return [];
    }
    if (declared > maxTotalBytes) {
      ctx.report({ ruleId: 'SCAN_LIMIT', message: `${ctx.name} declares ${declared} bytes of content (over ${maxTotalBytes}); it was not extracted` });
      return [];
    }
    if (declared > RATIO_FLOOR && declared > blob.size * maxRatio) {
      ctx.report({ ruleId: 'SCAN_LIMIT', message: `${ctx.name} declares ${declared} bytes from ${blob.size} (ratio over ${maxRatio}; bomb?); it was not extracted` });
      return [];
    }
    if (files.length === 0 && items.length > 0) return [];
    const out = `${job}/out`;
    const written = new Map<string, number>();
    let total = 0;
    let stop: 'budget' | 'ratio' | undefined;
    const ratioCap = Math.max(RATIO_FLOOR, blob.size * maxRatio);
    const result = host.run(['x', '-y', ...common, `-o${out}`, '--', input], {
      root: `${out}/`,
      onWrite(path, length, sizeSoFar) {
        const rel = path.slice(out.length + 1);
        if (!alive()) return 'abort';
        total += length;
        written.set(rel, (written.get(rel) ?? 0) + length);
        if (!ctx.consumeBytes(length)) stop = 'budget';
        else if (total > ratioCap) stop = 'ratio';
        if (stop) return 'abort';
        const cap = (declaredSize.get(rel) ?? 0) > maxBytes ? PREFIX_BYTES : maxBytes;
        return Math.max(0, Math.min(length, cap - sizeSoFar));
      },
    });
    if (timedOut) ctx.checkDeadline();
    if (stop === 'ratio') ctx.report({ ruleId: 'SCAN_LIMIT', message: `${ctx.name} decompresses at a ratio over ${maxRatio} (bomb?); extraction stopped after ${total} bytes` });
    else if (stop === undefined && (result.exitCode !== 0 || result.crashed) && encrypted === 0) {
      rep.report({ ruleId: 'ARCHIVE_MALFORMED', message: `7-Zip reports ${showName(ctx.name)} as damaged: ${failureText(result)}; what it extracted was scanned` });
    }
    const members: Array<[string, Blob]> = [];
    for (const rel of host.listFiles(out)) {
      const data = host.readFile(`${out}/${rel}`);
      const w = written.get(rel) ?? 0;
      const d = declaredSize.get(rel) ?? 0;
      const dropped = w > data.length; // over its cap: the write guard kept only the start
      if (!dropped && (stop === undefined || d <= data.length)) {
        members.push([rel, new BufferBlob(data)]);
        continue;
      }
      if (dropped && stop === undefined) ctx.report({ ruleId: 'SCAN_LIMIT', message: `member ${showName(rel)} (${w} bytes) is over maxBytes; only its first ${data.length} bytes were checked`, evidence: rel });
      members.push([rel, new PrefixBlob(data, Math.max(w, d), `7z member ${showName(rel)}`)]);
    }
    return members;
  } finally {
    if (!host.broken) host.remove(job);
  }
}
