/**
 * Writes zip files for tests, with every field under the test's control (PKWARE APPNOTE 4.3):
 * flags, CRCs, local and central names, stored or deflate data, ZIP64 fields and records, data
 * descriptors, entries that share bytes, a missing central directory, sparse stored members.
 */
import { crc32, deflateRawSync } from 'node:zlib';

export interface ZipEntrySpec {
  name: string;
  data?: Buffer | string;
  /** 0 stored (default), 8 deflate, or any other id (data is then written as given). */
  method?: number;
  /** General-purpose flags, in both headers. */
  flags?: number;
  /** CRC-32 written in both headers instead of the real one. */
  crc?: number;
  /** Name written in the local header instead of `name`. */
  localName?: string;
  /** Uncompressed size written instead of the real one. */
  size?: number;
  /** Bytes written as the member's data instead of compressing `data`. */
  raw?: Buffer;
  /** Unix mode for the external attributes (e.g. 0o120777 for a symlink). */
  unixMode?: number;
  /** Write ZIP64 extra fields with saturated 32-bit sizes and offset. */
  zip64?: boolean;
  /** Sizes go in a trailing data descriptor (flag bit 3); the local header says 0. */
  descriptor?: boolean;
  /** The central entry points at the local header of entry k (overlapping entries). */
  sameLocalAs?: number;
  /** Central entry's local header offset is this instead of the real one. */
  localOffset?: number;
  /** A sparse stored member of this many bytes: header written, data left as a hole (writeZipTo). */
  sparseSize?: number;
}

export interface ZipOptions {
  /** Write ZIP64 end records (PyTorch writes them always). */
  zip64End?: boolean;
  /** Leave out the central directory and end records (a truncated download). */
  noCentral?: boolean;
  /** Entry count written in the end record instead of the real one. */
  declaredEntries?: number;
  /** Bytes before the archive, as `cat stub a.zip` makes: offsets stay relative to the archive. */
  prepend?: Buffer;
  comment?: string;
}

interface Central {
  spec: ZipEntrySpec;
  nameBytes: Buffer;
  crc: number;
  compressedSize: number;
  size: number;
  offset: number;
}

const u16 = (n: number): Buffer => { const b = Buffer.alloc(2); b.writeUInt16LE(n); return b; };
const u32 = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32LE(n >>> 0); return b; };
const u64 = (n: number): Buffer => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(n)); return b; };
const SAT = 0xffffffff;

/** Builds a zip through a sink, so a test can keep it in memory and a bench can write it sparse to disk. */
export class ZipWriter {
  readonly #write: (buf: Buffer, at: number) => void;
  #offset: number;
  /** Length of prepended data: offsets written in headers are relative to the archive after it. */
  readonly #base: number;
  readonly #central: Central[] = [];
  constructor(write: (buf: Buffer, at: number) => void, prepend?: Buffer) {
    this.#write = write;
    this.#offset = 0;
    this.#base = prepend?.length ?? 0;
    if (prepend) this.#emit(prepend);
  }
  get offset(): number {
    return this.#offset;
  }
  #emit(b: Buffer): void {
    this.#write(b, this.#offset);
    this.#offset += b.length;
  }
  add(spec: ZipEntrySpec): void {
    const nameBytes = Buffer.from(spec.name, 'utf8');
    if (spec.sameLocalAs !== undefined) {
      const other = this.#central[spec.sameLocalAs]!;
      this.#central.push({ ...other, spec: { ...other.spec, ...spec }, nameBytes });
      return;
    }
    const data = Buffer.isBuffer(spec.data) ? spec.data : Buffer.from(spec.data ?? '', 'latin1');
    const method = spec.method ?? 0;
    const sparse = spec.sparseSize !== undefined;
    const body = spec.raw ?? (method === 8 ? deflateRawSync(data) : data);
    const size = spec.size ?? (sparse ? spec.sparseSize! : data.length);
    const compressedSize = sparse ? spec.sparseSize! : body.length;
    const crc = spec.crc ?? (sparse ? 0 : crc32(data));
    const offset = this.#offset - this.#base;
    const flags = (spec.flags ?? 0) | (spec.descriptor ? 0x8 : 0);
    const localName = Buffer.from(spec.localName ?? spec.name, 'utf8');
    const extra = spec.zip64 ? Buffer.concat([u16(1), u16(16), u64(size), u64(compressedSize)]) : Buffer.alloc(0);
    const hdrSizes = spec.descriptor ? [0, 0, 0] : spec.zip64 ? [crc, SAT, SAT] : [crc, compressedSize, size];
    this.#emit(Buffer.concat([u32(0x04034b50), u16(spec.zip64 ? 45 : 20), u16(flags), u16(method), u16(0), u16(0x21), u32(hdrSizes[0]!), u32(hdrSizes[1]!), u32(hdrSizes[2]!), u16(localName.length), u16(extra.length), localName, extra]));
    if (sparse) this.#offset += compressedSize;
    else this.#emit(body);
    if (spec.descriptor) {
      this.#emit(spec.zip64 ? Buffer.concat([u32(0x08074b50), u32(crc), u64(compressedSize), u64(size)]) : Buffer.concat([u32(0x08074b50), u32(crc), u32(compressedSize), u32(size)]));
    }
    this.#central.push({ spec, nameBytes, crc, compressedSize, size, offset });
  }
  /** Writes the central directory and end records; returns the total size. */
  finish(opts: ZipOptions = {}): number {
    if (opts.noCentral) return this.#offset;
    let cdStart = this.#offset;
    for (const c of this.#central) {
      const s = c.spec;
      const offset = s.localOffset ?? c.offset;
      const z64 = s.zip64 === true;
      const extra = z64 ? Buffer.concat([u16(1), u16(24), u64(c.size), u64(c.compressedSize), u64(offset)]) : Buffer.alloc(0);
      const madeBy = s.unixMode !== undefined ? (3 << 8) | 45 : 45;
      const ext = s.unixMode !== undefined ? (s.unixMode << 16) >>> 0 : 0;
      const flags = (s.flags ?? 0) | (s.descriptor ? 0x8 : 0);
      this.#emit(Buffer.concat([
        u32(0x02014b50), u16(madeBy), u16(z64 ? 45 : 20), u16(flags), u16(s.method ?? 0), u16(0), u16(0x21),
        u32(c.crc), u32(z64 ? SAT : c.compressedSize), u32(z64 ? SAT : c.size), u16(c.nameBytes.length), u16(extra.length), u16(0),
        u16(0), u16(0), u32(ext), u32(z64 ? SAT : offset), c.nameBytes, extra,
      ]));
    }
    const cdSize = this.#offset - cdStart;
    cdStart -= this.#base;
    const n = opts.declaredEntries ?? this.#central.length;
    const comment = Buffer.from(opts.comment ?? '', 'latin1');
    if (opts.zip64End) {
      const rec = this.#offset - this.#base;
      this.#emit(Buffer.concat([u32(0x06064b50), u64(44), u16(45), u16(45), u32(0), u32(0), u64(n), u64(n), u64(cdSize), u64(cdStart)]));
      this.#emit(Buffer.concat([u32(0x07064b50), u32(0), u64(rec), u32(1)]));
      this.#emit(Buffer.concat([u32(0x06054b50), u16(0), u16(0), u16(0xffff), u16(0xffff), u32(SAT), u32(SAT), u16(comment.length), comment]));
    } else {
      this.#emit(Buffer.concat([u32(0x06054b50), u16(0), u16(0), u16(n & 0xffff), u16(n & 0xffff), u32(cdSize), u32(cdStart), u16(comment.length), comment]));
    }
    return this.#offset;
  }
}

/** A zip in memory. */
export function makeZip(entries: ZipEntrySpec[], opts: ZipOptions = {}): Buffer {
  const parts: Buffer[] = [];
  let len = 0;
  const w = new ZipWriter((b, at) => {
    if (at > len) parts.push(Buffer.alloc(at - len)); // a sparse member's hole
    parts.push(Buffer.from(b));
    len = at + b.length;
  }, opts.prepend);
  for (const e of entries) w.add(e);
  const total = w.finish(opts);
  if (total > len) parts.push(Buffer.alloc(total - len));
  return Buffer.concat(parts);
}

/** A minimal PyTorch-layout archive: <prefix>/data.pkl, version, byteorder and data/<n> storages. */
export function torchZipEntries(pickle: Buffer, storages: Buffer[] = [Buffer.alloc(16)], prefix = 'archive'): ZipEntrySpec[] {
  return [
    { name: `${prefix}/data.pkl`, data: pickle },
    { name: `${prefix}/byteorder`, data: 'little' },
    ...storages.map((s, i) => ({ name: `${prefix}/data/${i}`, data: s })),
    { name: `${prefix}/version`, data: '3\n' },
    { name: `${prefix}/.data/serialization_id`, data: '1234567890' },
  ];
}
