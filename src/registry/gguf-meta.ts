/**
 * The `general.*` key-value pairs of a GGUF header (name, architecture, license, base models,
 * source, file type...), read with the scanner's bounded cursor. Only the key-value section is
 * read; strings are kept up to 4 KiB, arrays of scalars and strings up to 64 items, everything
 * else is skipped. Throws FormatError/LimitError from the cursor on a broken or huge header.
 */
import { FileBlob } from '../scan/blob.ts';
import { BlobCursor, FormatError } from '../scan/formats/cursor.ts';
import { GGUF_MAX_ARRAY_ELEMENTS, GGUF_MAX_STRING_LENGTH, GGUF_TYPE_ARRAY, GGUF_TYPE_STRING, GGUF_VALUE_TYPES } from '../scan/formats/gguf-types.ts';

export type GgufMetaValue = string | number | boolean | GgufMetaValue[];

const MAX_HEADER_BYTES = 256 * 1024 * 1024;
const KEEP_STRING = 4096;
const KEEP_ITEMS = 64;

/** Reads the general.* keys of the GGUF file at `path` (and any key `keep` accepts). */
export function readGgufGeneral(path: string, keep: (key: string) => boolean = (k) => k.startsWith('general.')): Record<string, GgufMetaValue> {
  const blob = new FileBlob(path);
  try {
    return readKv(new BlobCursor(blob, MAX_HEADER_BYTES), keep);
  } finally {
    blob.close();
  }
}

function readKv(c: BlobCursor, keep: (key: string) => boolean): Record<string, GgufMetaValue> {
  if (c.bytes(4, 'magic').toString('latin1') !== 'GGUF') throw new FormatError('not a GGUF file', 0);
  let version = c.u32('version');
  if (version !== 0 && (version & 0xffff) === 0) {
    c.littleEndian = false;
    version = ((version >>> 24) | ((version >>> 8) & 0xff00)) >>> 0;
  }
  if (version !== 2 && version !== 3) throw new FormatError(`unsupported GGUF version ${version}`, 4);
  c.i64('n_tensors');
  const nKv = c.i64('n_kv');
  if (nKv < 0n || nKv * 14n > BigInt(c.remaining)) throw new FormatError(`implausible key-value count ${nKv}`, 16);

  const string = (what: string, want: boolean): string | undefined => {
    const n = c.u64(`${what} length`);
    if (n > BigInt(Math.min(GGUF_MAX_STRING_LENGTH, c.remaining))) throw new FormatError(`${what} of ${n} bytes runs past the end of the file`, c.pos);
    const len = Number(n);
    if (!want) {
      c.skip(len, what);
      return undefined;
    }
    const text = c.bytes(Math.min(len, KEEP_STRING), what).toString('utf8');
    if (len > KEEP_STRING) c.skip(len - KEEP_STRING, what);
    return text;
  };
  const scalar = (type: number, what: string): number | boolean => {
    switch (type) {
      case 0:
        return c.u8(what);
      case 1:
        return (c.u8(what) << 24) >> 24;
      case 2:
      case 3: {
        const lo = c.u8(what);
        const hi = c.u8(what);
        const v = c.littleEndian ? lo | (hi << 8) : (lo << 8) | hi;
        return type === 3 ? (v << 16) >> 16 : v;
      }
      case 4:
        return c.u32(what);
      case 5:
        return c.i32(what);
      case 6: {
        const b = Buffer.alloc(4);
        b.writeUInt32LE(c.u32(what));
        return b.readFloatLE(0);
      }
      case 7:
        return c.u8(what) !== 0;
      case 10:
        return Number(c.u64(what));
      case 11:
        return Number(c.i64(what));
      case 12: {
        const b = Buffer.alloc(8);
        b.writeBigUInt64LE(c.u64(what));
        return b.readDoubleLE(0);
      }
      default:
        throw new FormatError(`${what}: invalid value type ${type}`, c.pos);
    }
  };
  const value = (type: number, what: string, want: boolean, depth: number): GgufMetaValue | undefined => {
    if (type === GGUF_TYPE_STRING) return string(what, want);
    if (type === GGUF_TYPE_ARRAY) {
      const inner = c.i32(`${what} element type`);
      const n = c.u64(`${what} element count`);
      if (!(inner in GGUF_VALUE_TYPES) || n > BigInt(GGUF_MAX_ARRAY_ELEMENTS) || depth > 4) throw new FormatError(`${what}: unreadable array`, c.pos);
      const size = GGUF_VALUE_TYPES[inner]!.size;
      const items: GgufMetaValue[] = [];
      for (let i = 0n; i < n; i++) {
        const keepIt = want && i < BigInt(KEEP_ITEMS);
        if (!keepIt && size > 0) {
          c.skip(Number(n - i) * size, what);
          break;
        }
        const v = value(inner, `${what}[${i}]`, keepIt, depth + 1);
        if (keepIt && v !== undefined) items.push(v);
      }
      return want ? items : undefined;
    }
    const size = GGUF_VALUE_TYPES[type]?.size;
    if (size === undefined) throw new FormatError(`${what}: invalid value type ${type}`, c.pos);
    if (!want) {
      c.skip(size, what);
      return undefined;
    }
    return scalar(type, what);
  };

  const out: Record<string, GgufMetaValue> = {};
  for (let i = 0n; i < nKv; i++) {
    const key = string(`key ${i}`, true) ?? '';
    const type = c.i32(`type of ${key}`);
    const want = keep(key);
    const v = value(type, key, want, 0);
    if (want && v !== undefined) out[key] = v;
  }
  return out;
}

/** llama.cpp's `enum llama_ftype` (general.file_type): the dominant tensor type of the file. */
export const GGUF_FILE_TYPES: Readonly<Record<number, string>> = {
  0: 'F32',
  1: 'F16',
  2: 'Q4_0',
  3: 'Q4_1',
  7: 'Q8_0',
  8: 'Q5_0',
  9: 'Q5_1',
  10: 'Q2_K',
  11: 'Q3_K_S',
  12: 'Q3_K_M',
  13: 'Q3_K_L',
  14: 'Q4_K_S',
  15: 'Q4_K_M',
  16: 'Q5_K_S',
  17: 'Q5_K_M',
  18: 'Q6_K',
  19: 'IQ2_XXS',
  20: 'IQ2_XS',
  21: 'Q2_K_S',
  22: 'IQ3_XS',
  23: 'IQ3_XXS',
  24: 'IQ1_S',
  25: 'IQ4_NL',
  26: 'IQ3_S',
  27: 'IQ3_M',
  28: 'IQ2_S',
  29: 'IQ2_M',
  30: 'IQ4_XS',
  31: 'IQ1_M',
  32: 'BF16',
  36: 'TQ1_0',
  37: 'TQ2_0',
};

/** Unquantized file types: full or half precision weights. */
export const GGUF_UNQUANTIZED = new Set([0, 1, 32]);
