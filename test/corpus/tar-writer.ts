/**
 * Writes tar archives for tests (POSIX ustar and pax, GNU long names), with control over the
 * fields scanners trip on: type, link target, size field, checksum, ustar prefix, base-256 sizes.
 */

export interface TarEntrySpec {
  name: string;
  data?: Buffer | string;
  /** Type flag: '0' file (default), '1' hard link, '2' symlink, '5' folder, or anything else. */
  type?: string;
  linkName?: string;
  /** How a name over 100 bytes is written: GNU ././@LongLink (default) or a pax header. */
  longName?: 'gnu' | 'pax';
  /** Extra pax records written before the entry. */
  pax?: Record<string, string>;
  /** Size written in the header instead of the data length. */
  size?: number;
  /** Size field in GNU base-256 form. */
  base256?: boolean;
  /** Corrupts the header checksum. */
  badChecksum?: boolean;
  /** ustar prefix field (name is then the part after it). */
  prefix?: string;
  /** 'ustar' (POSIX, default) or 'gnu' magic. */
  magic?: 'ustar' | 'gnu';
}

const BLOCK = 512;

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

function header(f: { name: string; size: number; type: string; linkName?: string; prefix?: string; magic?: 'ustar' | 'gnu'; base256?: boolean; badChecksum?: boolean }): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(f.name.slice(0, 100), 0, 'utf8');
  h.write(octal(0o644, 8), 100, 'latin1');
  h.write(octal(0, 8), 108, 'latin1');
  h.write(octal(0, 8), 116, 'latin1');
  if (f.base256) {
    h[124] = 0x80;
    h.writeBigUInt64BE(BigInt(f.size), 128);
  } else h.write(octal(f.size, 12), 124, 'latin1');
  h.write(octal(0, 12), 136, 'latin1');
  h.write(f.type, 156, 'latin1');
  if (f.linkName) h.write(f.linkName.slice(0, 100), 157, 'utf8');
  if (f.magic === 'gnu') h.write('ustar  \0', 257, 'latin1');
  else h.write('ustar\u000000', 257, 'latin1');
  h.write('user', 265, 'latin1');
  h.write('group', 297, 'latin1');
  if (f.prefix) h.write(f.prefix, 345, 'utf8');
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(octal(f.badChecksum ? sum + 1 : sum, 7) + ' ', 148, 'latin1');
  return h;
}

function pad(data: Buffer): Buffer {
  const rem = data.length % BLOCK;
  return rem === 0 ? data : Buffer.concat([data, Buffer.alloc(BLOCK - rem)]);
}

function paxBody(records: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(records)) {
    const tail = ` ${k}=${v}\n`;
    let len = Buffer.byteLength(tail) + 1;
    while (String(len).length + Buffer.byteLength(tail) !== len) len = String(len).length + Buffer.byteLength(tail);
    parts.push(Buffer.from(`${len}${tail}`, 'utf8'));
  }
  return Buffer.concat(parts);
}

/** A tar in memory; `end: false` leaves out the two zero blocks that end an archive. */
export function makeTar(entries: TarEntrySpec[], opts: { end?: boolean } = {}): Buffer {
  const out: Buffer[] = [];
  for (const e of entries) {
    const data = Buffer.isBuffer(e.data) ? e.data : Buffer.from(e.data ?? '', 'latin1');
    const type = e.type ?? '0';
    const pax: Record<string, string> = { ...e.pax };
    let name = e.name;
    if (Buffer.byteLength(name) > 100) {
      if (e.longName === 'pax') pax.path = name;
      else {
        const body = Buffer.from(name + '\0', 'utf8');
        out.push(header({ name: '././@LongLink', size: body.length, type: 'L', magic: 'gnu' }), pad(body));
      }
      name = name.slice(0, 100);
    }
    if (Object.keys(pax).length > 0) {
      const body = paxBody(pax);
      out.push(header({ name: `PaxHeaders/${name.slice(0, 80)}`, size: body.length, type: 'x' }), pad(body));
    }
    const f: Parameters<typeof header>[0] = { name, size: e.size ?? (type === '0' ? data.length : 0), type };
    if (e.linkName !== undefined) f.linkName = e.linkName;
    if (e.prefix !== undefined) f.prefix = e.prefix;
    if (e.magic !== undefined) f.magic = e.magic;
    if (e.base256) f.base256 = true;
    if (e.badChecksum) f.badChecksum = true;
    out.push(header(f), pad(data));
  }
  if (opts.end !== false) out.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(out);
}
