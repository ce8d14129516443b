/**
 * Makes 7z archives and bzip2 / xz streams for tests with the same WebAssembly 7-Zip the scanner
 * uses, entirely in its in-memory file system.
 */
import { crc32 } from 'node:zlib';
import { sevenZipHost } from '../../src/scan/archive/sevenzip-wasm.ts';

export interface SevenZipOptions {
  type?: '7z' | 'bzip2' | 'xz';
  /** Encrypt the content (and, with encryptHeaders, the names). */
  password?: string;
  encryptHeaders?: boolean;
  /** Compression method for 7z, as 7-Zip's -m0 switch takes it (e.g. "PPMd:mem=96m"). */
  method?: string;
  /** Leave the 7z header uncompressed (-mhc=off), so tests can patch it. */
  plainHeader?: boolean;
}

/** An archive of these files (names may contain folders; bzip2/xz take exactly one file). */
export async function make7z(files: Record<string, Buffer | string>, opts: SevenZipOptions = {}): Promise<Buffer> {
  const host = await sevenZipHost();
  const job = host.mkdtemp();
  try {
    const src = `${job}/src`;
    host.mkdir(src);
    for (const [name, data] of Object.entries(files)) {
      const parts = name.split('/');
      for (let i = 1; i < parts.length; i++) {
        try {
          host.mkdir(`${src}/${parts.slice(0, i).join('/')}`);
        } catch {
          // exists
        }
      }
      host.putFile(`${src}/${name}`, Buffer.isBuffer(data) ? data : Buffer.from(data, 'latin1'));
    }
    const type = opts.type ?? '7z';
    const out = `${job}/out.${type === '7z' ? '7z' : type === 'bzip2' ? 'bz2' : 'xz'}`;
    const args = ['a', `-t${type}`, '-bd', out];
    if (opts.password) args.push(`-p${opts.password}`);
    if (opts.encryptHeaders) args.push('-mhe=on');
    if (opts.method) args.push(`-m0=${opts.method}`);
    if (opts.plainHeader) args.push('-mhc=off');
    args.push('--', ...Object.keys(files).map((n) => n.split('/')[0]!).filter((n, i, a) => a.indexOf(n) === i));
    host.chdir(src);
    const r = host.run(args);
    host.chdir('/');
    if (r.exitCode !== 0) throw new Error(`7-Zip could not write the test archive: ${r.stderr || r.stdout}`);
    return Buffer.from(host.readFile(out));
  } finally {
    host.remove(job);
  }
}

/**
 * Rewrites the LZMA2 dictionary-size property of a 7z made with plainHeader (coder 0x21 with one
 * property byte) and fixes the header CRCs: a hostile archive asking for a huge dictionary.
 */
export function setLzma2Dictionary(archive: Buffer, propByte: number): Buffer {
  const out = Buffer.from(archive);
  const offset = Number(out.readBigUInt64LE(12));
  const size = Number(out.readBigUInt64LE(20));
  const next = out.subarray(32 + offset, 32 + offset + size);
  const at = next.indexOf(Buffer.from([0x21, 0x21, 0x01]));
  if (at < 0) throw new Error('no LZMA2 coder in a plain 7z header');
  next[at + 3] = propByte;
  out.writeUInt32LE(crc32(next), 28);
  out.writeUInt32LE(crc32(out.subarray(12, 32)), 8);
  return out;
}
