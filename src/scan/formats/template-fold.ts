/**
 * Constant folding over the expression tree: only literals and a few pure string operations
 * (concatenation, repetition, printf/str.format, join, replace, reverse, slicing, case changes).
 * Every result is capped, so a folded expression can never cost more than MAX_LEN characters.
 */
import type { Node, Val } from './template-expr.ts';

export const MAX_LEN = 4096;
export interface Folded {
  v: Val;
  /** The value was computed from more than one literal (the way payloads spell names). */
  built: boolean;
}

const size = (v: Val): number => (typeof v === 'string' || Array.isArray(v) ? v.length : 1);
const ok = (v: Val, built: boolean): Folded | undefined => (size(v) <= MAX_LEN ? { v, built } : undefined);

function str(v: Val): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : undefined;
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (v === null) return 'None';
  return undefined;
}

/** Python '%' formatting for %s %c %d %i %x %%. */
function printf(fmt: string, argv: Val): string | undefined {
  const args = Array.isArray(argv) ? argv : [argv];
  let k = 0;
  let bad = false;
  const out = fmt.replace(/%([%scdixr])/g, (_m, c: string) => {
    if (c === '%') return '%';
    const a = args[k++];
    if (a === undefined) return ((bad = true), '');
    if (c === 'c') return typeof a === 'number' && a >= 0 && a <= 0x10ffff ? String.fromCodePoint(a) : typeof a === 'string' && a.length === 1 ? a : ((bad = true), '');
    if (c === 'd' || c === 'i') return typeof a === 'number' ? String(Math.trunc(a)) : ((bad = true), '');
    if (c === 'x') return typeof a === 'number' ? Math.trunc(a).toString(16) : ((bad = true), '');
    return str(a) ?? ((bad = true), '');
  });
  return bad || k !== args.length ? undefined : out;
}

/** str.format with {} and {n} fields. */
function pyFormat(fmt: string, args: Val[]): string | undefined {
  let auto = 0;
  let bad = false;
  const out = fmt.replace(/\{\{|\}\}|\{(\d*)\}/g, (m, n: string | undefined) => {
    if (m === '{{') return '{';
    if (m === '}}') return '}';
    const a = args[n ? Number(n) : auto++];
    return (a === undefined ? undefined : str(a)) ?? ((bad = true), '');
  });
  // Any other field ({0.attr}, {0[key]}, {:fmt}) is not folded.
  return bad || /[{}]/.test(fmt.replace(/\{\{|\}\}|\{\d*\}/g, '')) ? undefined : out;
}

function index(v: Val, i: Val): Val | undefined {
  if ((typeof v !== 'string' && !Array.isArray(v)) || typeof i !== 'number' || !Number.isInteger(i)) return undefined;
  const j = i < 0 ? v.length + i : i;
  return j >= 0 && j < v.length ? v[j] : undefined;
}

function slice(v: Val, a: Val | undefined, b: Val | undefined, c: Val | undefined): Val | undefined {
  if (typeof v !== 'string' && !Array.isArray(v)) return undefined;
  const step = c === undefined || c === null ? 1 : c;
  if (typeof step !== 'number' || step === 0 || !Number.isInteger(step)) return undefined;
  const items = [...v];
  const n = items.length;
  const norm = (x: Val | undefined, dflt: number): number | undefined => {
    if (x === undefined || x === null) return dflt;
    if (typeof x !== 'number' || !Number.isInteger(x)) return undefined;
    const y = x < 0 ? x + n : x;
    return step > 0 ? Math.min(Math.max(y, 0), n) : Math.min(Math.max(y, -1), n - 1);
  };
  const start = norm(a, step > 0 ? 0 : n - 1);
  const stop = norm(b, step > 0 ? n : -1);
  if (start === undefined || stop === undefined) return undefined;
  const out: Val[] = [];
  for (let i = start; step > 0 ? i < stop : i > stop; i += step) out.push(items[i] as Val);
  return typeof v === 'string' ? (out as string[]).join('') : out;
}

function method(obj: Val, name: string, args: Val[]): Val | undefined {
  if (typeof obj !== 'string') return undefined;
  const s0 = typeof args[0] === 'string' ? args[0] : undefined;
  switch (name) {
    case 'format':
      return pyFormat(obj, args);
    case 'join':
      return Array.isArray(args[0]) && args[0].every((x) => typeof x === 'string') ? (args[0] as string[]).join(obj) : typeof args[0] === 'string' ? [...args[0]].join(obj) : undefined;
    case 'replace':
      return s0 !== undefined && typeof args[1] === 'string' ? obj.split(s0).join(args[1]) : undefined;
    case 'upper':
      return obj.toUpperCase();
    case 'lower':
      return obj.toLowerCase();
    case 'strip':
    case 'trim':
      return obj.trim();
    case 'lstrip':
      return obj.trimStart();
    case 'rstrip':
      return obj.trimEnd();
    case 'swapcase':
      return [...obj].map((c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase())).join('');
    default:
      return undefined;
  }
}

function filter(name: string, obj: Val, args: Val[]): Val | undefined {
  switch (name) {
    case 'join': {
      const sep = args.length ? args[0] : '';
      if (typeof sep !== 'string') return undefined;
      const items = typeof obj === 'string' ? [...obj] : Array.isArray(obj) ? obj.map(str) : undefined;
      return items && items.every((x) => x !== undefined) ? (items as string[]).join(sep) : undefined;
    }
    case 'format':
      return typeof obj === 'string' ? printf(obj, args) : undefined;
    case 'replace':
    case 'upper':
    case 'lower':
    case 'trim':
      return method(obj, name, args);
    case 'reverse':
      return typeof obj === 'string' ? [...obj].reverse().join('') : Array.isArray(obj) ? [...obj].reverse() : undefined;
    case 'string':
      return str(obj);
    case 'list':
      return typeof obj === 'string' ? [...obj] : Array.isArray(obj) ? obj : undefined;
    case 'first':
      return index(obj, 0);
    case 'last':
      return index(obj, -1);
    case 'default':
    case 'd':
    case 'safe':
      return obj;
    default:
      return undefined;
  }
}

/**
 * Folds expressions to constants when they are built from literals only, memoised per node. `env`
 * holds constants assigned with {% set name = ... %} (or ns.attr) earlier in the template, so
 * `{% set u = '_' %}{{ x[u ~ u ~ 'class' ~ u ~ u] }}` folds too.
 */
export class Folder {
  readonly memo = new Map<Node, Folded | undefined>();
  readonly env = new Map<string, Folded>();
  /** Post-order over an explicit stack: a 100,000-term `a ~ b ~ ...` chain cannot overflow the call stack. */
  fold(root: Node): Folded | undefined {
    if (this.memo.has(root)) return this.memo.get(root);
    const stack: Node[] = [root];
    while (stack.length) {
      const n = stack[stack.length - 1]!;
      if (this.memo.has(n)) {
        stack.pop();
        continue;
      }
      const pending = children(n).filter((c) => !this.memo.has(c));
      if (pending.length) {
        stack.push(...pending);
        continue;
      }
      stack.pop();
      this.memo.set(n, fold1(n, this));
    }
    return this.memo.get(root);
  }
}

/** The sub-expressions fold1 looks at. */
function children(n: Node): Node[] {
  switch (n.k) {
    case 'seq':
      return n.items;
    case 'un':
      return [n.e];
    case 'bin':
      return [n.l, n.r];
    case 'getitem':
      return n.idx.k === 'slice' ? [n.obj, ...[n.idx.a, n.idx.b, n.idx.c].filter((x): x is Node => x !== undefined)] : [n.obj, n.idx];
    case 'filter':
      return [n.obj, ...n.args];
    case 'call':
      return n.fn.k === 'getattr' ? [n.fn.obj, ...n.args] : [];
    case 'cond':
      return n.b ? [n.test, n.a, n.b] : [n.test, n.a];
    default:
      return [];
  }
}

/** Folds one node whose children are already in the memo. */
function fold1(n: Node, folder: Folder): Folded | undefined {
  const f = (x: Node): Folded | undefined => folder.memo.get(x);
  switch (n.k) {
    case 'name':
      return folder.env.get(n.name);
    case 'getattr':
      return n.obj.k === 'name' ? folder.env.get(`${n.obj.name}.${n.attr}`) : undefined;
    case 'const':
      return { v: n.v, built: n.built };
    case 'seq': {
      const items = n.items.map(f);
      if (items.some((x) => x === undefined)) return undefined;
      return ok(items.map((x) => x!.v), items.some((x) => x!.built));
    }
    case 'un': {
      const e = f(n.e);
      if (!e) return undefined;
      if (n.op === '-' && typeof e.v === 'number') return { v: -e.v, built: e.built };
      if (n.op === '+' && typeof e.v === 'number') return e;
      if (n.op === 'not') return { v: !truthy(e.v), built: e.built };
      return undefined;
    }
    case 'bin': {
      const l = f(n.l);
      const r = f(n.r);
      if (!l || !r) return undefined;
      const { v: a } = l;
      const { v: b } = r;
      if (n.op === '~') {
        const s1 = str(a);
        const s2 = str(b);
        return s1 !== undefined && s2 !== undefined ? ok(s1 + s2, true) : undefined;
      }
      if (n.op === '+') {
        if (typeof a === 'string' && typeof b === 'string') return ok(a + b, true);
        if (typeof a === 'number' && typeof b === 'number') return { v: a + b, built: false };
        if (Array.isArray(a) && Array.isArray(b)) return ok([...a, ...b], l.built || r.built);
        return undefined;
      }
      if (n.op === '*') {
        const [seq, k] = typeof b === 'number' ? [a, b] : [b, a];
        if (typeof seq === 'number' && typeof k === 'number') return { v: seq * k, built: false };
        if (typeof k !== 'number' || !Number.isInteger(k) || (typeof seq !== 'string' && !Array.isArray(seq))) return undefined;
        if (k * seq.length > MAX_LEN) return undefined;
        return typeof seq === 'string' ? { v: seq.repeat(Math.max(0, k)), built: true } : { v: Array.from({ length: Math.max(0, k) }, () => seq).flat(), built: true };
      }
      if (n.op === '**' && typeof a === 'number' && typeof b === 'number') {
        const v = a ** b;
        return Number.isFinite(v) && Math.abs(v) < 2 ** 53 ? { v, built: false } : undefined;
      }
      if (n.op === '%' && typeof a === 'string') {
        const s = printf(a, b);
        return s === undefined ? undefined : ok(s, true);
      }
      return undefined;
    }
    case 'getitem': {
      const o = f(n.obj);
      if (!o) return undefined;
      if (n.idx.k === 'slice') {
        const parts = [n.idx.a, n.idx.b, n.idx.c].map((x) => (x ? f(x) : { v: null, built: false }));
        if (parts.some((x) => x === undefined)) return undefined;
        const v = slice(o.v, parts[0]!.v, parts[1]!.v, parts[2]!.v);
        return v === undefined ? undefined : { v, built: true };
      }
      const i = f(n.idx);
      if (!i) return undefined;
      const v = index(o.v, i.v);
      return v === undefined ? undefined : { v, built: true };
    }
    case 'filter': {
      const o = f(n.obj);
      const args = n.args.map(f);
      if (!o || args.some((x) => x === undefined) || n.kw.length) return undefined;
      const v = filter(n.name, o.v, args.map((x) => x!.v));
      return v === undefined ? undefined : ok(v, true);
    }
    case 'call': {
      if (n.fn.k !== 'getattr' || n.kw.length) return undefined;
      const o = f(n.fn.obj);
      const args = n.args.map(f);
      if (!o || args.some((x) => x === undefined)) return undefined;
      const v = method(o.v, n.fn.attr, args.map((x) => x!.v));
      return v === undefined ? undefined : ok(v, true);
    }
    case 'cond': {
      const t = f(n.test);
      if (!t) return undefined;
      if (truthy(t.v)) return f(n.a);
      return n.b ? f(n.b) : { v: '', built: false };
    }
    default:
      return undefined;
  }
}

const truthy = (v: Val): boolean => !(v === null || v === false || v === 0 || v === '' || (Array.isArray(v) && v.length === 0));
