/**
 * Decoders for the text forms of protocol 0 arguments, following what CPython's unpickler does
 * (pickle.py load_string / load_unicode / load_int / load_long / load_float). Each returns
 * undefined where Python would raise, so the caller can report the stream as malformed.
 */

const hexVal = (c: number): number => (c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1);

/** STRING: strips the matching quotes, then Python's escape_decode; undefined when unquoted or a \x escape is bad. */
export function decodeStringnl(line: Buffer): Buffer | undefined {
  const n = line.length;
  if (n < 2 || line[0] !== line[n - 1] || (line[0] !== 0x27 && line[0] !== 0x22)) return undefined;
  return escapeDecode(line.subarray(1, n - 1));
}

/** Python's codecs.escape_decode: \\ \' \" \a \b \f \n \r \t \v \xhh \ooo; any other \c stays as is. */
export function escapeDecode(s: Buffer): Buffer | undefined {
  if (s.indexOf(0x5c) < 0) return s;
  const out = Buffer.allocUnsafe(s.length);
  let o = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== 0x5c) {
      out[o++] = c;
      continue;
    }
    if (++i >= s.length) return undefined; // Python: "Trailing \ in string"
    const e = s[i]!;
    switch (e) {
      case 0x0a: break; // line continuation
      case 0x5c: out[o++] = 0x5c; break;
      case 0x27: out[o++] = 0x27; break;
      case 0x22: out[o++] = 0x22; break;
      case 0x61: out[o++] = 0x07; break; // \a
      case 0x62: out[o++] = 0x08; break; // \b
      case 0x66: out[o++] = 0x0c; break; // \f
      case 0x6e: out[o++] = 0x0a; break; // \n
      case 0x72: out[o++] = 0x0d; break; // \r
      case 0x74: out[o++] = 0x09; break; // \t
      case 0x76: out[o++] = 0x0b; break; // \v
      case 0x78: {
        const h1 = i + 1 < s.length ? hexVal(s[i + 1]!) : -1;
        const h2 = i + 2 < s.length ? hexVal(s[i + 2]!) : -1;
        if (h1 < 0 || h2 < 0) return undefined; // "invalid \x escape"
        out[o++] = h1 * 16 + h2;
        i += 2;
        break;
      }
      default:
        if (e >= 0x30 && e <= 0x37) {
          let v = e - 0x30;
          for (let k = 0; k < 2 && i + 1 < s.length && s[i + 1]! >= 0x30 && s[i + 1]! <= 0x37; k++) v = v * 8 + (s[++i]! - 0x30);
          out[o++] = v & 0xff;
        } else {
          out[o++] = 0x5c;
          out[o++] = e;
        }
    }
  }
  return out.subarray(0, o);
}

/** UNICODE: raw-unicode-escape (\uXXXX and \UXXXXXXXX; every other byte is Latin-1); undefined on a bad escape. */
export function decodeRawUnicodeEscape(s: Buffer): string | undefined {
  if (s.indexOf(0x5c) < 0) return s.toString('latin1');
  let out = '';
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] !== 0x5c || i + 1 >= s.length) continue;
    const u = s[i + 1];
    if (u !== 0x75 && u !== 0x55) continue;
    const digits = u === 0x75 ? 4 : 8;
    if (i + 2 + digits > s.length) return undefined;
    let cp = 0;
    for (let k = 0; k < digits; k++) {
      const h = hexVal(s[i + 2 + k]!);
      if (h < 0) return undefined;
      cp = cp * 16 + h;
    }
    if (cp > 0x10ffff) return undefined;
    out += s.toString('latin1', from, i) + String.fromCodePoint(cp);
    i += 1 + digits;
    from = i + 1;
  }
  return out + s.toString('latin1', from);
}

const INT_RE = /^\s*[+-]?(?:0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|\d[\d_]*)\s*$/;

/** INT / LONG / GET / PUT text: an integer as Python's int(text, 0) reads it; undefined when not one. */
export function parseDecimal(text: string): number | bigint | undefined {
  if (!INT_RE.test(text)) return undefined;
  let t = text.trim().replace(/_/g, '');
  let neg = false;
  if (t[0] === '+' || t[0] === '-') {
    neg = t[0] === '-';
    t = t.slice(1);
  }
  // Python's base-0 int() refuses leading zeros ("012"), but load_int/PUT use base 10; accept both.
  let big: bigint;
  try {
    big = BigInt(/^0[xob]/i.test(t) ? t : t.replace(/^0+(?=\d)/, ''));
  } catch {
    return undefined;
  }
  if (neg) big = -big;
  return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
}

const FLOAT_RE = /^\s*[+-]?(?:(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?|inf(?:inity)?|nan)\s*$/i;

/** FLOAT text: true when Python's float() would accept it. */
export const isFloatText = (text: string): boolean => FLOAT_RE.test(text);

/** LONG1 bytes: two's complement little-endian; a Number when it fits, else a BigInt. */
export function decodeLong(b: Buffer): number | bigint {
  if (b.length === 0) return 0;
  if (b.length <= 6) return b.readIntLE(0, b.length);
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  if (b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

const IDENT_PATH = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$/;

/** A dotted Python identifier path (ASCII): what a real GLOBAL module or name looks like. */
export const isIdentifierPath = (s: string): boolean => IDENT_PATH.test(s);
