/**
 * A Jinja lexer for chat templates, written from Jinja's documented syntax: data, `{{ }}`, `{% %}`,
 * `{# #}`, whitespace control (`-`, `+`), `{% raw %}`, and inside tags names, numbers, operators
 * and string literals with Python escapes. As in Jinja, a tag only ends when brackets are balanced.
 * It only produces tokens; nothing is ever rendered.
 */

export type TokKind = 'name' | 'str' | 'num' | 'op';
export interface Tok {
  t: TokKind;
  /** Names and operators: the text. Strings: the decoded value. Numbers: the source text. */
  v: string;
  /** Offset in the template source. */
  pos: number;
  /** Strings: an escape sequence produced an identifier character (letter, digit or underscore). */
  escapedIdent?: boolean;
}
export interface Tag {
  kind: 'var' | 'block';
  pos: number;
  toks: Tok[];
}

export class TemplateSyntaxError extends Error {
  readonly pos: number;
  constructor(message: string, pos: number) {
    super(message);
    this.name = 'TemplateSyntaxError';
    this.pos = pos;
  }
}

const OPS2 = new Set(['//', '**', '==', '!=', '>=', '<=']);
const OPS1 = new Set([...'+-/*%~[](){}.,:|=<>;']);
const NAME_RE = /[\p{L}\p{Nl}_][\p{L}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}]*/uy;
const INT_AFTER_DOT_RE = /\d(?:_?\d)*/y;
const NUM_RE = /(?:0[bB](?:_?[01])+|0[oO](?:_?[0-7])+|0[xX](?:_?[0-9a-fA-F])+|\d(?:_?\d)*(?:\.\d(?:_?\d)*)?(?:[eE][+-]?\d(?:_?\d)*)?)/y;
const RAW_RE = /\{%[-+]?\s*raw\s*[-+]?%\}/y;
const ENDRAW_RE = /\{%[-+]?\s*endraw\s*[-+]?%\}/g;

const SIMPLE_ESC: Record<string, string> = { '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\n': '' };
const OCTAL_RE = /[0-7]{1,3}/y;
const isIdentChar = (c: string): boolean => /^[A-Za-z0-9_]$/.test(c);

/** Decodes a Python string body (unicode-escape rules, as Jinja does). */
export function decodeString(body: string): { value: string; escapedIdent: boolean } {
  let out = '';
  let escapedIdent = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== '\\' || i + 1 >= body.length) {
      out += c;
      continue;
    }
    const n = body[i + 1]!;
    let dec: string | undefined;
    let used = 1;
    if (n in SIMPLE_ESC) dec = SIMPLE_ESC[n];
    else if (n === 'x' || n === 'u' || n === 'U') {
      const len = n === 'x' ? 2 : n === 'u' ? 4 : 8;
      const hex = body.slice(i + 2, i + 2 + len);
      if (hex.length === len && /^[0-9a-fA-F]+$/.test(hex)) {
        const cp = parseInt(hex, 16);
        dec = cp <= 0x10ffff ? String.fromCodePoint(cp) : '\ufffd';
        used = 1 + len;
      }
    } else if (/[0-7]/.test(n)) {
      OCTAL_RE.lastIndex = i + 1;
      const m = OCTAL_RE.exec(body)![0];
      dec = String.fromCodePoint(parseInt(m, 8));
      used = m.length;
    } else if (n === 'N' && body[i + 2] === '{') {
      const end = body.slice(i + 3, i + 100).indexOf('}') + i + 3;
      if (end > i + 3) {
        const name = body.slice(i + 3, end).toUpperCase();
        // The one \N{...} name that matters here; others are kept as a placeholder.
        dec = name === 'LOW LINE' ? '_' : /^LATIN (SMALL|CAPITAL) LETTER [A-Z]$/.test(name) ? name.slice(-1)[name.includes('SMALL') ? 'toLowerCase' : 'toUpperCase']() : '\ufffd';
        used = end - i;
      }
    }
    if (dec === undefined) {
      out += c; // unknown escape: Python keeps the backslash
      continue;
    }
    if ([...dec].some(isIdentChar)) escapedIdent = true;
    out += dec;
    i += used;
  }
  return { value: out, escapedIdent };
}

/** Splits a template into tags of tokens (data between tags is skipped), up to the first syntax error. */
export function lexTemplate(src: string): { tags: Tag[]; error?: TemplateSyntaxError } {
  const tags: Tag[] = [];
  try {
    lexInto(src, tags);
  } catch (e) {
    if (e instanceof TemplateSyntaxError) return { tags, error: e };
    throw e;
  }
  return { tags };
}

function lexInto(src: string, tags: Tag[]): void {
  let i = 0;
  while (i < src.length) {
    const open = src.indexOf('{', i);
    if (open < 0) break;
    const next = src[open + 1];
    if (next === '#') {
      const end = src.indexOf('#}', open + 2);
      if (end < 0) throw new TemplateSyntaxError('unterminated comment', open);
      i = end + 2;
      continue;
    }
    if (next === '%') {
      RAW_RE.lastIndex = open;
      if (RAW_RE.test(src)) {
        ENDRAW_RE.lastIndex = RAW_RE.lastIndex;
        const m = ENDRAW_RE.exec(src);
        if (!m) throw new TemplateSyntaxError('unterminated raw block', open);
        i = m.index + m[0].length;
        continue;
      }
    }
    if (next !== '{' && next !== '%') {
      i = open + 1;
      continue;
    }
    const kind = next === '{' ? 'var' : 'block';
    let p = open + 2;
    if (src[p] === '-' || src[p] === '+') p++;
    const tag: Tag = { kind, pos: open, toks: [] };
    p = lexTag(src, p, tag);
    tags.push(tag);
    i = p;
  }
}

function lexTag(src: string, start: number, tag: Tag): number {
  const close = tag.kind === 'var' ? '}}' : '%}';
  const stack: string[] = [];
  let p = start;
  for (;;) {
    while (p < src.length && /\s/.test(src[p]!)) p++;
    if (p >= src.length) throw new TemplateSyntaxError(`unterminated ${tag.kind === 'var' ? '{{' : '{%'} tag`, tag.pos);
    if (stack.length === 0) {
      if (src.startsWith(close, p)) return p + 2;
      if ((src[p] === '-' || (tag.kind === 'block' && src[p] === '+')) && src.startsWith(close, p + 1)) return p + 3;
    }
    const c = src[p]!;
    if (c === "'" || c === '"') {
      let q = p + 1;
      while (q < src.length && src[q] !== c) q += src[q] === '\\' ? 2 : 1;
      if (q >= src.length) throw new TemplateSyntaxError('unterminated string', p);
      const { value, escapedIdent } = decodeString(src.slice(p + 1, q));
      const tok: Tok = { t: 'str', v: value, pos: p };
      if (escapedIdent) tok.escapedIdent = true;
      tag.toks.push(tok);
      p = q + 1;
      continue;
    }
    const prev = tag.toks[tag.toks.length - 1];
    if (/\d/.test(c)) {
      const re = prev?.t === 'op' && prev.v === '.' ? INT_AFTER_DOT_RE : NUM_RE;
      re.lastIndex = p;
      const m = re.exec(src)!;
      tag.toks.push({ t: 'num', v: m[0], pos: p });
      p += m[0].length;
      continue;
    }
    NAME_RE.lastIndex = p;
    const nm = NAME_RE.exec(src);
    if (nm) {
      tag.toks.push({ t: 'name', v: nm[0], pos: p });
      p += nm[0].length;
      continue;
    }
    const two = src.slice(p, p + 2);
    const op = OPS2.has(two) ? two : OPS1.has(c) ? c : undefined;
    if (op === undefined) throw new TemplateSyntaxError(`unexpected character ${JSON.stringify(c)}`, p);
    if (op === '(' || op === '[' || op === '{') stack.push(op);
    else if (op === ')' || op === ']' || op === '}') {
      const want = op === ')' ? '(' : op === ']' ? '[' : '{';
      if (stack.pop() !== want) throw new TemplateSyntaxError(`unbalanced ${op}`, p);
    }
    tag.toks.push({ t: 'op', v: op, pos: p });
    p += op.length;
  }
}
