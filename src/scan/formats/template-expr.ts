/**
 * A recursive-descent parser for Jinja expressions (the grammar of Jinja's documented operators,
 * filters, tests, calls, subscripts and literals) producing a small tree, and a constant folder
 * that evaluates the parts built only from literals ("_" ~ "_", ['__', 'class'] | join, '%c' % 95).
 * The folder never touches anything but literals and caps every value it builds.
 */
import type { Tok } from './template-lexer.ts';

export type Val = string | number | boolean | null | Val[];
export type Node =
  | { k: 'const'; v: Val; pos: number; built: boolean }
  | { k: 'name'; name: string; pos: number }
  | { k: 'getattr'; obj: Node; attr: string; pos: number }
  | { k: 'getitem'; obj: Node; idx: Node; pos: number }
  | { k: 'slice'; a?: Node; b?: Node; c?: Node; pos: number }
  | { k: 'call'; fn: Node; args: Node[]; kw: [string, Node][]; pos: number }
  | { k: 'filter'; obj: Node; name: string; args: Node[]; kw: [string, Node][]; pos: number }
  | { k: 'test'; obj: Node; name: string; args: Node[]; pos: number }
  | { k: 'bin'; op: string; l: Node; r: Node; pos: number }
  | { k: 'un'; op: string; e: Node; pos: number }
  | { k: 'cond'; a: Node; test: Node; b?: Node; pos: number }
  | { k: 'seq'; kind: 'list' | 'tuple'; items: Node[]; pos: number }
  | { k: 'dict'; items: [Node, Node][]; pos: number };

export class ParseError extends Error {
  readonly pos: number;
  constructor(message: string, pos: number) {
    super(message);
    this.name = 'ParseError';
    this.pos = pos;
  }
}

const CONSTS: Record<string, Val> = { true: true, false: false, none: null, True: true, False: false, None: null };
const COMPARE = new Set(['==', '!=', '<', '>', '<=', '>=']);
const MAX_DEPTH = 200;

/** Parser over one tag's tokens; `i` is the cursor. */
export class ExprParser {
  readonly toks: Tok[];
  i = 0;
  #depth = 0;
  readonly #endPos: number;
  constructor(toks: Tok[], endPos: number) {
    this.toks = toks;
    this.#endPos = endPos;
  }

  get cur(): Tok | undefined {
    return this.toks[this.i];
  }
  get atEnd(): boolean {
    return this.i >= this.toks.length;
  }
  isOp(v: string, at = this.i): boolean {
    const t = this.toks[at];
    return t !== undefined && t.t === 'op' && t.v === v;
  }
  isName(v?: string, at = this.i): boolean {
    const t = this.toks[at];
    return t !== undefined && t.t === 'name' && (v === undefined || t.v === v);
  }
  fail(msg: string): never {
    throw new ParseError(msg, this.cur?.pos ?? this.#endPos);
  }
  expectOp(v: string): void {
    if (!this.isOp(v)) this.fail(`expected '${v}'`);
    this.i++;
  }
  expectEnd(): void {
    if (!this.atEnd) this.fail(`unexpected '${this.cur!.v}'`);
  }
  #enter(): void {
    if (++this.#depth > MAX_DEPTH) this.fail('expression nested too deeply');
  }

  /** expr (',' expr)*; a bare comma list is a tuple. */
  parseTuple(withCond = true): Node {
    const pos = this.cur?.pos ?? this.#endPos;
    const items: Node[] = [];
    let comma = false;
    for (;;) {
      if (items.length && !this.isOp(',')) break;
      if (items.length) {
        this.i++;
        comma = true;
        if (this.atEnd || this.isOp(')') || this.isOp(']') || this.isOp('}') || this.isOp('=')) break;
      }
      items.push(withCond ? this.parseExpr() : this.parseOr());
    }
    return comma || items.length !== 1 ? { k: 'seq', kind: 'tuple', items, pos } : items[0]!;
  }

  parseExpr(): Node {
    this.#enter();
    let a = this.parseOr();
    while (this.isName('if')) {
      const pos = this.cur!.pos;
      this.i++;
      const test = this.parseOr();
      let b: Node | undefined;
      if (this.isName('else')) {
        this.i++;
        b = this.parseExpr();
      }
      a = b ? { k: 'cond', a, test, b, pos } : { k: 'cond', a, test, pos };
    }
    this.#depth--;
    return a;
  }
  parseOr(): Node {
    let l = this.parseAnd();
    while (this.isName('or')) {
      const pos = this.cur!.pos;
      this.i++;
      l = { k: 'bin', op: 'or', l, r: this.parseAnd(), pos };
    }
    return l;
  }
  parseAnd(): Node {
    let l = this.parseNot();
    while (this.isName('and')) {
      const pos = this.cur!.pos;
      this.i++;
      l = { k: 'bin', op: 'and', l, r: this.parseNot(), pos };
    }
    return l;
  }
  parseNot(): Node {
    if (this.isName('not')) {
      const pos = this.cur!.pos;
      this.i++;
      this.#enter();
      const e = this.parseNot();
      this.#depth--;
      return { k: 'un', op: 'not', e, pos };
    }
    return this.parseCompare();
  }
  parseCompare(): Node {
    let l = this.parseMath1();
    for (;;) {
      const t = this.cur;
      if (!t) break;
      const pos = t.pos;
      if (t.t === 'op' && COMPARE.has(t.v)) {
        this.i++;
        l = { k: 'bin', op: t.v, l, r: this.parseMath1(), pos };
      } else if (this.isName('in')) {
        this.i++;
        l = { k: 'bin', op: 'in', l, r: this.parseMath1(), pos };
      } else if (this.isName('not') && this.isName('in', this.i + 1)) {
        this.i += 2;
        l = { k: 'bin', op: 'not in', l, r: this.parseMath1(), pos };
      } else break;
    }
    return l;
  }
  #binary(ops: string[], next: () => Node): Node {
    let l = next();
    while (this.cur?.t === 'op' && ops.includes(this.cur.v)) {
      const { v: op, pos } = this.cur;
      this.i++;
      l = { k: 'bin', op, l, r: next(), pos };
    }
    return l;
  }
  parseMath1(): Node {
    return this.#binary(['+', '-'], () => this.parseConcat());
  }
  parseConcat(): Node {
    return this.#binary(['~'], () => this.parseMath2());
  }
  parseMath2(): Node {
    return this.#binary(['*', '/', '//', '%'], () => this.parsePow());
  }
  parsePow(): Node {
    return this.#binary(['**'], () => this.parseUnary());
  }
  parseUnary(withFilter = true): Node {
    this.#enter();
    let node: Node;
    const t = this.cur;
    if (t?.t === 'op' && (t.v === '-' || t.v === '+')) {
      this.i++;
      node = { k: 'un', op: t.v, e: this.parseUnary(false), pos: t.pos };
    } else node = this.parsePrimary();
    node = this.parsePostfix(node);
    if (withFilter) node = this.parseFilterExpr(node);
    this.#depth--;
    return node;
  }

  parsePrimary(): Node {
    const t = this.cur;
    if (!t) this.fail('unexpected end of expression');
    const pos = t.pos;
    if (t.t === 'name') {
      this.i++;
      if (t.v in CONSTS) return { k: 'const', v: CONSTS[t.v]!, pos, built: false };
      return { k: 'name', name: t.v, pos };
    }
    if (t.t === 'str') {
      let v = '';
      let n = 0;
      while (this.cur?.t === 'str') {
        v += this.cur.v;
        this.i++;
        n++;
      }
      return { k: 'const', v, pos, built: n > 1 };
    }
    if (t.t === 'num') {
      this.i++;
      return { k: 'const', v: parseNumber(t.v), pos, built: false };
    }
    if (t.v === '(') {
      this.i++;
      if (this.isOp(')')) {
        this.i++;
        return { k: 'seq', kind: 'tuple', items: [], pos };
      }
      const inner = this.parseTuple();
      this.expectOp(')');
      return inner;
    }
    if (t.v === '[') {
      this.i++;
      const items: Node[] = [];
      while (!this.isOp(']')) {
        if (items.length) this.expectOp(',');
        if (this.isOp(']')) break;
        items.push(this.parseExpr());
      }
      this.i++;
      return { k: 'seq', kind: 'list', items, pos };
    }
    if (t.v === '{') {
      this.i++;
      const items: [Node, Node][] = [];
      while (!this.isOp('}')) {
        if (items.length) this.expectOp(',');
        if (this.isOp('}')) break;
        const key = this.parseExpr();
        this.expectOp(':');
        items.push([key, this.parseExpr()]);
      }
      this.i++;
      return { k: 'dict', items, pos };
    }
    this.fail(`unexpected '${t.v}'`);
  }

  parsePostfix(node: Node): Node {
    for (;;) {
      const t = this.cur;
      if (t?.t !== 'op') return node;
      if (t.v === '.') {
        this.i++;
        const a = this.cur;
        if (a?.t === 'name') node = { k: 'getattr', obj: node, attr: a.v, pos: a.pos };
        else if (a?.t === 'num') node = { k: 'getitem', obj: node, idx: { k: 'const', v: parseNumber(a.v), pos: a.pos, built: false }, pos: a.pos };
        else this.fail('expected a name after "."');
        this.i++;
      } else if (t.v === '[') node = this.#subscript(node);
      else if (t.v === '(') node = this.#call(node);
      else return node;
    }
  }

  parseFilterExpr(node: Node): Node {
    for (;;) {
      if (this.isOp('|')) {
        this.i++;
        node = this.parseFilter(node);
      } else if (this.isName('is')) node = this.#test(node);
      else if (this.isOp('(')) node = this.#call(node);
      else return node;
    }
  }

  /** NAME('.' NAME)* ['(' args ')'], the filter after a '|' (or at the start of a filter block). */
  parseFilter(obj: Node): Node {
    const t = this.cur;
    if (t?.t !== 'name') this.fail('expected a filter name');
    this.i++;
    let name = t.v;
    while (this.isOp('.') && this.isName(undefined, this.i + 1)) {
      name += '.' + this.toks[this.i + 1]!.v;
      this.i += 2;
    }
    const node: Node = { k: 'filter', obj, name, args: [], kw: [], pos: t.pos };
    if (this.isOp('(')) this.#args(node.args, node.kw);
    return node;
  }

  #test(obj: Node): Node {
    const pos = this.cur!.pos;
    this.i++;
    let negated = false;
    if (this.isName('not')) {
      this.i++;
      negated = true;
    }
    const t = this.cur;
    if (t?.t !== 'name') this.fail('expected a test name');
    this.i++;
    let name = t.v;
    while (this.isOp('.') && this.isName(undefined, this.i + 1)) {
      name += '.' + this.toks[this.i + 1]!.v;
      this.i += 2;
    }
    const node: Node & { k: 'test' } = { k: 'test', obj, name, args: [], pos };
    const n = this.cur;
    if (this.isOp('(')) {
      const kw: [string, Node][] = [];
      this.#args(node.args, kw);
      node.args.push(...kw.map(([, v]) => v));
    } else if (n && (n.t === 'str' || n.t === 'num' || (n.t === 'name' && !['else', 'or', 'and'].includes(n.v)) || (n.t === 'op' && '([{'.includes(n.v)))) {
      if (this.isName('is')) this.fail('cannot chain tests with is');
      node.args.push(this.parsePostfix(this.parsePrimary()));
    }
    return negated ? { k: 'un', op: 'not', e: node, pos } : node;
  }

  #call(fn: Node): Node {
    const node: Node & { k: 'call' } = { k: 'call', fn, args: [], kw: [], pos: this.cur!.pos };
    this.#args(node.args, node.kw);
    return node;
  }

  /** '(' [arg (',' arg)* [',']] ')' with positional, NAME=value, *args and **kwargs. */
  #args(args: Node[], kw: [string, Node][]): void {
    this.expectOp('(');
    let first = true;
    while (!this.isOp(')')) {
      if (!first) this.expectOp(',');
      first = false;
      if (this.isOp(')')) break;
      if (this.isOp('*') || this.isOp('**')) {
        this.i++;
        args.push(this.parseExpr());
      } else if (this.isName() && this.isOp('=', this.i + 1)) {
        const key = this.cur!.v;
        this.i += 2;
        kw.push([key, this.parseExpr()]);
      } else args.push(this.parseExpr());
    }
    this.i++;
  }

  #subscript(obj: Node): Node {
    const pos = this.cur!.pos;
    this.i++;
    const idx: Node[] = [];
    while (!this.isOp(']')) {
      if (idx.length) this.expectOp(',');
      if (this.isOp(']')) break;
      idx.push(this.#subscribed());
    }
    this.i++;
    if (idx.length === 0) this.fail('empty subscript');
    return { k: 'getitem', obj, idx: idx.length === 1 ? idx[0]! : { k: 'seq', kind: 'tuple', items: idx, pos }, pos };
  }

  #subscribed(): Node {
    const pos = this.cur?.pos ?? this.#endPos;
    const parts: (Node | undefined)[] = [];
    let cur: Node | undefined = this.isOp(':') ? undefined : this.parseExpr();
    if (!this.isOp(':')) return cur!;
    parts.push(cur);
    while (this.isOp(':') && parts.length < 3) {
      this.i++;
      cur = this.isOp(':') || this.isOp(']') || this.isOp(',') ? undefined : this.parseExpr();
      parts.push(cur);
    }
    const s: Node & { k: 'slice' } = { k: 'slice', pos };
    if (parts[0]) s.a = parts[0];
    if (parts[1]) s.b = parts[1];
    if (parts[2]) s.c = parts[2];
    return s;
  }
}

export function parseNumber(src: string): number {
  const s = src.replace(/_/g, '');
  if (/^0[bB]/.test(s)) return parseInt(s.slice(2), 2);
  if (/^0[oO]/.test(s)) return parseInt(s.slice(2), 8);
  if (/^0[xX]/.test(s)) return parseInt(s.slice(2), 16);
  return Number(s);
}
