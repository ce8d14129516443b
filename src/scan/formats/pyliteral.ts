/**
 * A parser for the Python literals a .npy header holds (what numpy reads with ast.literal_eval):
 * dicts, lists, tuples, str/bytes, ints (Python 2 `L` suffix too), floats, True/False/None.
 * It evaluates nothing: any other syntax is an error. Ints are BigInt so shapes stay exact.
 */

export class PyTuple {
  readonly items: PyVal[];
  constructor(items: PyVal[]) {
    this.items = items;
  }
}
export class PyDict {
  readonly entries: [PyVal, PyVal][];
  constructor(entries: [PyVal, PyVal][]) {
    this.entries = entries;
  }
  get(key: string): PyVal | undefined {
    return this.entries.find(([k]) => k === key)?.[1];
  }
}
export type PyVal = string | bigint | number | boolean | null | PyVal[] | PyTuple | PyDict;

export class PyLiteralError extends Error {
  constructor(message: string, pos: number) {
    super(`${message} at ${pos}`);
    this.name = 'PyLiteralError';
  }
}

const MAX_DEPTH = 32;
const ESC: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', '0': '\0', a: '\x07', b: '\b', f: '\f', v: '\v', '\n': '' };

export function parsePyLiteral(src: string): PyVal {
  let i = 0;
  const ws = (): void => {
    while (i < src.length && /[ \t\r\n\f\v]/.test(src[i]!)) i++;
  };
  const fail = (m: string): never => {
    throw new PyLiteralError(m, i);
  };

  const value = (depth: number): PyVal => {
    if (depth > MAX_DEPTH) fail('literal nested too deeply');
    ws();
    const c = src[i];
    if (c === undefined) return fail('unexpected end');
    if (c === '{') return dict(depth);
    if (c === '[') return seq(']', depth).items;
    if (c === '(') {
      const s = seq(')', depth);
      return s.items.length === 1 && !s.comma ? s.items[0]! : new PyTuple(s.items);
    }
    const m = /^([bBuU]?)(['"])/.exec(src.slice(i, i + 2));
    if (m) {
      i += m[1]!.length;
      let out = string();
      // Adjacent literals concatenate, as in Python source.
      for (;;) {
        const save = i;
        ws();
        const n = /^([bBuU]?)(['"])/.exec(src.slice(i, i + 2));
        if (!n) {
          i = save;
          break;
        }
        i += n[1]!.length;
        out += string();
      }
      return out;
    }
    const num = /^[-+]?(\d+(\.\d*)?([eE][-+]?\d+)?|\.\d+([eE][-+]?\d+)?)[lL]?/.exec(src.slice(i, i + 400));
    if (num) {
      i += num[0].length;
      const t = num[0].replace(/[lL]$/, '');
      return /^[-+]?\d+$/.test(t) ? BigInt(t) : Number(t);
    }
    const word = /^(True|False|None)\b/.exec(src.slice(i, i + 6));
    if (word) {
      i += word[0].length;
      return word[0] === 'None' ? null : word[0] === 'True';
    }
    return fail(`unexpected ${JSON.stringify(c)}`);
  };

  const string = (): string => {
    const q = src[i]!;
    i++;
    let out = '';
    while (i < src.length && src[i] !== q) {
      if (src[i] === '\n') fail('newline in string');
      if (src[i] === '\\') {
        const n = src[i + 1] ?? '';
        if (n === 'x' && /^[0-9a-fA-F]{2}$/.test(src.slice(i + 2, i + 4))) {
          out += String.fromCharCode(parseInt(src.slice(i + 2, i + 4), 16));
          i += 4;
          continue;
        }
        if (n === 'u' && /^[0-9a-fA-F]{4}$/.test(src.slice(i + 2, i + 6))) {
          out += String.fromCharCode(parseInt(src.slice(i + 2, i + 6), 16));
          i += 6;
          continue;
        }
        out += ESC[n] ?? '\\' + n;
        i += 2;
        continue;
      }
      out += src[i];
      i++;
    }
    if (i >= src.length) fail('unterminated string');
    i++;
    return out;
  };

  const seq = (close: string, depth: number): { items: PyVal[]; comma: boolean } => {
    i++;
    const items: PyVal[] = [];
    let comma = false;
    for (;;) {
      ws();
      if (src[i] === close) {
        i++;
        return { items, comma };
      }
      if (items.length) {
        if (src[i] !== ',') fail(`expected , or ${close}`);
        i++;
        comma = true;
        ws();
        if (src[i] === close) {
          i++;
          return { items, comma };
        }
      }
      items.push(value(depth + 1));
    }
  };

  const dict = (depth: number): PyDict => {
    i++;
    const entries: [PyVal, PyVal][] = [];
    for (;;) {
      ws();
      if (src[i] === '}') {
        i++;
        return new PyDict(entries);
      }
      if (entries.length) {
        if (src[i] !== ',') fail('expected , or }');
        i++;
        ws();
        if (src[i] === '}') {
          i++;
          return new PyDict(entries);
        }
      }
      const k = value(depth + 1);
      ws();
      if (src[i] !== ':') fail('expected :');
      i++;
      entries.push([k, value(depth + 1)]);
    }
  };

  const v = value(0);
  ws();
  if (i !== src.length) fail('trailing characters');
  return v;
}
