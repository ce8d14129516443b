/**
 * A strict RFC 8259 JSON parser for headers that loaders parse with serde_json: objects become
 * Maps (key order kept, duplicate keys reported, never silently merged), integers become BigInt
 * (shapes and offsets are u64), raw control characters and lone surrogates are errors, and
 * nesting is capped at serde_json's default recursion limit of 128.
 */

export type JVal = null | boolean | number | bigint | string | JVal[] | JObj;
export type JObj = Map<string, JVal>;

export class JsonError extends Error {
  readonly pos: number;
  constructor(message: string, pos: number) {
    super(`${message} at character ${pos}`);
    this.name = 'JsonError';
    this.pos = pos;
  }
}

const MAX_DEPTH = 128;
const NUM_RE = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;

/** Parses `s`; duplicate keys are collected in `dups` (as "path.key"). */
export function parseStrictJson(s: string, dups: string[] = []): JVal {
  let i = 0;
  const ws = (): void => {
    for (;;) {
      const c = s.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else return;
    }
  };
  const fail = (m: string): never => {
    throw new JsonError(m, i);
  };

  const str = (): string => {
    i++; // opening quote
    let out = '';
    let run = i;
    for (;;) {
      if (i >= s.length) fail('unterminated string');
      const c = s.charCodeAt(i);
      if (c === 0x22) {
        out += s.slice(run, i);
        i++;
        return out;
      }
      if (c < 0x20) fail('control character in string');
      if (c >= 0xd800 && c <= 0xdfff) {
        // Raw surrogates come from a lossy decode; pairs are fine, halves are not.
        if (c <= 0xdbff && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
          i += 2;
          continue;
        }
        fail('lone surrogate');
      }
      if (c !== 0x5c) {
        i++;
        continue;
      }
      out += s.slice(run, i);
      const e = s[i + 1];
      const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
      if (e !== undefined && e in simple) {
        out += simple[e];
        i += 2;
      } else if (e === 'u') {
        const cu = hex4(i + 2);
        i += 6;
        if (cu >= 0xd800 && cu <= 0xdbff) {
          if (s[i] !== '\\' || s[i + 1] !== 'u') fail('lone leading surrogate');
          const lo = hex4(i + 2);
          if (lo < 0xdc00 || lo > 0xdfff) fail('invalid trailing surrogate');
          out += String.fromCharCode(cu, lo);
          i += 6;
        } else if (cu >= 0xdc00 && cu <= 0xdfff) fail('lone trailing surrogate');
        else out += String.fromCharCode(cu);
      } else fail('invalid escape');
      run = i;
    }
  };
  const hex4 = (at: number): number => {
    const h = s.slice(at, at + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(h)) fail('invalid \\u escape');
    return parseInt(h, 16);
  };

  const value = (depth: number, path: string): JVal => {
    if (depth > MAX_DEPTH) fail('nesting deeper than 128');
    ws();
    const c = s[i];
    if (c === '{') {
      i++;
      const obj: JObj = new Map();
      ws();
      if (s[i] === '}') {
        i++;
        return obj;
      }
      for (;;) {
        ws();
        if (s[i] !== '"') fail('expected a string key');
        const k = str();
        ws();
        if (s[i] !== ':') fail("expected ':'");
        i++;
        const v = value(depth + 1, path ? `${path}.${k}` : k);
        if (obj.has(k)) dups.push(path ? `${path}.${k}` : k);
        else obj.set(k, v);
        ws();
        if (s[i] === ',') {
          i++;
          continue;
        }
        if (s[i] === '}') {
          i++;
          return obj;
        }
        fail("expected ',' or '}'");
      }
    }
    if (c === '[') {
      i++;
      const arr: JVal[] = [];
      ws();
      if (s[i] === ']') {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(value(depth + 1, path));
        ws();
        if (s[i] === ',') {
          i++;
          continue;
        }
        if (s[i] === ']') {
          i++;
          return arr;
        }
        fail("expected ',' or ']'");
      }
    }
    if (c === '"') return str();
    if (s.startsWith('true', i)) return (i += 4), true;
    if (s.startsWith('false', i)) return (i += 5), false;
    if (s.startsWith('null', i)) return (i += 4), null;
    NUM_RE.lastIndex = i;
    const m = NUM_RE.exec(s);
    if (m && m[0] !== '-') {
      i += m[0].length;
      return m[1] === undefined && m[2] === undefined ? BigInt(m[0]) : Number(m[0]);
    }
    return fail(c === undefined ? 'unexpected end' : `unexpected ${JSON.stringify(c)}`);
  };

  const v = value(0, '');
  ws();
  if (i !== s.length) fail('trailing characters');
  return v;
}
