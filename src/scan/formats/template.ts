/**
 * The chat-template checker. transformers, vLLM and llama.cpp front-ends render chat templates with
 * Jinja; known sandbox escapes walk from any object to Python through underscore attributes
 * (`''.__class__.__mro__[1].__subclasses__()`), through globals that carry `__globals__`
 * (lipsum, cycler, joiner, self), or through frame attributes of generators. Payloads dodge naive
 * filters by building the names: `'_' ~ '_'`, `['_','_']|join`, `'\x5f'`, `'%c' % 95`.
 *
 * Two passes: a token pass (attribute names, bare names, literal strings, `|attr('...')`,
 * `x['...']`) that works even when the parser gives up, and an expression pass that folds
 * literal-only expressions and checks computed names, ranges and repetitions (DoS).
 */
import type { ScanContext, Severity } from '../types.ts';
import { ParseError, type Node } from './template-expr.ts';
import { Folder, type Folded } from './template-fold.ts';
import { lexTemplate, type Tag, type Tok } from './template-lexer.ts';
import { parseTag, type ParsedTag } from './template-stmt.ts';

export const MAX_TEMPLATE_CHARS = 256 * 1024;
const MAX_ISSUES = 25;

export interface TemplateIssue {
  ruleId: string;
  severity?: Severity;
  message: string;
  evidence: string;
  offset?: number;
}

/** Names that reach processes, code or interpreter internals wherever they appear as attribute or name. */
const ALWAYS =
  /^(os|posix|nt|subprocess|popen[23]?|eval|exec|execfile|exec[lv]p?e?|spawn[lv]p?e?|fork|forkpty|__import__|import_module|importlib|builtins|getoutput|getstatusoutput|check_output|check_call|pty|ctypes|marshal|shutil|mro|gi_frame|gi_code|gi_yieldfrom|cr_frame|cr_code|cr_await|ag_frame|ag_code|f_globals|f_locals|f_builtins|f_back|f_code|tb_frame|tb_next|co_code|func_globals|func_code|im_func|im_self)$/;
/** Names that are only alarming when called (a variable called "system" is common in templates). */
const CALL_ONLY = new Set(['system', 'open', 'getattr', 'setattr', 'delattr', 'globals', 'locals', 'vars', 'breakpoint', 'compile', 'unlink', 'rmtree']);
const GADGETS = new Set(['self', 'lipsum', 'cycler', 'joiner', 'config', 'request', 'url_for', 'get_flashed_messages']);
const KNOWN_DUNDER =
  /__(class|mro|base|bases|subclasses|globals|builtins|import|init|dict|getattribute|getattr|getitem|loader|spec|code|func|self|module|reduce|reduce_ex|call|closure|defaults|kwdefaults|qualname|wrapped|objclass|new|setattr|delattr|enter|exit|file|name|doc|str|repr|format|init_subclass|class_getitem)__/;
const ATTR_FILTERS = new Set(['map', 'selectattr', 'rejectattr', 'sort', 'groupby', 'sum', 'unique', 'min', 'max', 'dictsort']);
const INCLUDES = new Set(['include', 'import', 'from', 'extends']);

class Issues {
  readonly list: TemplateIssue[] = [];
  readonly #seen = new Set<string>();
  readonly #src: string;
  constructor(src: string) {
    this.#src = src;
  }
  add(ruleId: string, message: string, pos: number, severity?: Severity, what?: string): void {
    const evidence = (what ? `${what} in: ` : '') + snippet(this.#src, pos);
    const key = `${ruleId}|${severity ?? ''}|${what ?? evidence}`;
    if (this.#seen.has(key) || this.list.length >= MAX_ISSUES) return;
    this.#seen.add(key);
    const issue: TemplateIssue = { ruleId, message, evidence, offset: pos };
    if (severity) issue.severity = severity;
    this.list.push(issue);
  }
}

const snippet = (src: string, pos: number): string => src.slice(Math.max(0, pos - 24), pos + 56).replace(/\s+/g, ' ').trim();

/** Checks a name reached by attribute, subscript or attr(): underscores, process and code APIs. */
function checkName(out: Issues, name: string, via: string, pos: number, called: boolean): void {
  if (name.startsWith('__')) out.add('TEMPLATE_DUNDER_ACCESS', `template reaches ${name} through ${via}`, pos, undefined, name);
  else if (name.startsWith('_')) out.add('TEMPLATE_DUNDER_ACCESS', `template reaches private attribute ${name} through ${via}`, pos, 'suspicious', name);
  if (ALWAYS.test(name) || (CALL_ONLY.has(name) && (called || via === 'attr()'))) out.add('TEMPLATE_DANGEROUS_CALL', `template reaches ${name} through ${via}`, pos, undefined, name);
}

function checkLiteral(out: Issues, s: string, pos: number): void {
  if (/\{[^{}]*[.[]\s*_/.test(s)) out.add('TEMPLATE_DUNDER_ACCESS', 'format string reaches an underscore attribute ({0.__class__})', pos, undefined, JSON.stringify(s.slice(0, 80)));
  if (KNOWN_DUNDER.test(s) || (/__/.test(s) && /^[\w.]+$/.test(s))) out.add('TEMPLATE_DUNDER_STRING', 'string literal spells a dunder name', pos, undefined, JSON.stringify(s.slice(0, 80)));
}

const isValueEnd = (t: Tok | undefined): boolean => t !== undefined && (t.t === 'name' || t.t === 'str' || t.t === 'num' || (t.t === 'op' && (t.v === ')' || t.v === ']' || t.v === '}')));

function tokenPass(out: Issues, toks: Tok[], assigned: Set<string>): void {
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i]!;
    const prev = toks[i - 1];
    const next = toks[i + 1];
    const called = next?.t === 'op' && next.v === '(';
    if (t.t === 'name') {
      if (prev?.t === 'op' && prev.v === '.') checkName(out, t.v, 'an attribute', t.pos, called);
      else if (prev?.t === 'op' && prev.v === '|') {
        const arg = toks[i + 2];
        if (t.v === 'attr' && called && arg?.t === 'str') checkName(out, arg.v, 'attr()', arg.pos, toks[i + 4]?.v === '(');
      } else if (!(prev?.t === 'name' && (prev.v === 'is' || (prev.v === 'not' && toks[i - 2]?.v === 'is')))) {
        if (t.v.startsWith('__')) out.add('TEMPLATE_DUNDER_ACCESS', `template uses the name ${t.v}`, t.pos, t.v.endsWith('__') ? undefined : 'suspicious', t.v);
        if (ALWAYS.test(t.v) || (CALL_ONLY.has(t.v) && called)) out.add('TEMPLATE_DANGEROUS_CALL', `template uses ${t.v}`, t.pos, undefined, t.v);
        if (GADGETS.has(t.v) && !assigned.has(t.v)) out.add('TEMPLATE_GADGET', `template uses the global ${t.v}`, t.pos, undefined, t.v);
      }
    } else if (t.t === 'str') {
      if (t.escapedIdent) out.add('TEMPLATE_DUNDER_STRING', 'string literal spells identifier characters with escape sequences', t.pos, undefined, JSON.stringify(t.v.slice(0, 80)));
      checkLiteral(out, t.v, t.pos);
      if (prev?.v === '[' && prev.t === 'op' && next?.t === 'op' && next.v === ']' && isValueEnd(toks[i - 2])) checkName(out, t.v, 'a subscript', t.pos, toks[i + 2]?.v === '(' && toks[i + 2]?.t === 'op');
    }
  }
}

/** Walks a parsed expression: computed names, built dunder strings, ranges and repetitions. */
function exprPass(out: Issues, root: Node, folder: Folder): void {
  const stack: Node[] = [root];
  while (stack.length) {
    const n = stack.pop()!;
    const f = (x: Node): Folded | undefined => folder.fold(x);
    switch (n.k) {
      case 'getattr':
        stack.push(n.obj);
        break;
      case 'getitem': {
        if (!(n.idx.k === 'const' && !n.idx.built)) {
          const v = f(n.idx);
          if (typeof v?.v === 'string') checkName(out, v.v, 'a computed subscript', n.pos, false);
        }
        stack.push(n.obj, n.idx);
        break;
      }
      case 'filter': {
        const a0 = n.args[0];
        if (n.name === 'attr' && a0 && !(a0.k === 'const' && !a0.built)) {
          const v = f(a0);
          if (typeof v?.v === 'string') checkName(out, v.v, 'attr()', n.pos, false);
          else out.add('TEMPLATE_DUNDER_STRING', 'attr() with a name computed at render time', n.pos, undefined, 'attr(...)');
        }
        if (ATTR_FILTERS.has(n.name)) {
          const cands = [...n.kw.filter(([k]) => k === 'attribute').map(([, v]) => v), ...(n.name === 'selectattr' || n.name === 'rejectattr' || n.name === 'groupby' ? n.args.slice(0, 1) : [])];
          if (n.name === 'map' && a0 && f(a0)?.v === 'attr' && n.args[1]) cands.push(n.args[1]);
          for (const c of cands) {
            const v = f(c);
            if (typeof v?.v === 'string') for (const part of v.v.split('.')) checkName(out, part, `${n.name}()`, n.pos, false);
          }
        }
        stack.push(n.obj, ...n.args, ...n.kw.map(([, v]) => v));
        break;
      }
      case 'call': {
        if (n.fn.k === 'name' && n.fn.name === 'range') checkRange(out, n, folder);
        stack.push(n.fn, ...n.args, ...n.kw.map(([, v]) => v));
        break;
      }
      case 'bin': {
        if (n.op === '*') checkRepeat(out, n, folder);
        if (n.op === '**') checkPow(out, n, folder);
        stack.push(n.l, n.r);
        break;
      }
      case 'un':
        stack.push(n.e);
        break;
      case 'test':
        stack.push(n.obj, ...n.args);
        break;
      case 'cond':
        stack.push(n.a, n.test, ...(n.b ? [n.b] : []));
        break;
      case 'seq':
        stack.push(...n.items);
        break;
      case 'dict':
        for (const [k, v] of n.items) stack.push(k, v);
        break;
      case 'slice':
        for (const x of [n.a, n.b, n.c]) if (x) stack.push(x);
        break;
      default:
        break;
    }
    if (n.k !== 'const' && n.k !== 'name') {
      const v = f(n);
      if (v?.built && typeof v.v === 'string' && v.v.includes('__')) out.add('TEMPLATE_DUNDER_STRING', 'expression builds a dunder name out of pieces', n.pos, undefined, JSON.stringify(v.v.slice(0, 80)));
    }
  }
}

/** Elements a constant range() produces, or undefined. */
export function rangeCount(n: Node & { k: 'call' }, folder: Folder): number | undefined {
  const a = n.args.map((x) => folder.fold(x)?.v);
  if (a.length === 0 || a.length > 3 || !a.every((x) => typeof x === 'number')) return undefined;
  const [start, stop, step] = a.length === 1 ? [0, a[0] as number, 1] : [a[0] as number, a[1] as number, (a[2] as number | undefined) ?? 1];
  return step === 0 ? undefined : Math.max(0, Math.ceil((stop - start) / step));
}

function checkRange(out: Issues, n: Node & { k: 'call' }, folder: Folder): void {
  const c = rangeCount(n, folder);
  if (c !== undefined && c > 10_000) out.add('TEMPLATE_DOS', `range() of ${c} elements`, n.pos, c > 1_000_000 ? 'suspicious' : undefined, `range(${c})`);
}

function checkRepeat(out: Issues, n: Node & { k: 'bin' }, folder: Folder): void {
  const l = folder.fold(n.l)?.v;
  const r = folder.fold(n.r)?.v;
  const k = typeof r === 'number' ? r : typeof l === 'number' ? l : undefined;
  const seq = typeof r === 'number' ? l : r;
  if (k === undefined || k <= 10_000) return;
  const len = typeof seq === 'string' || Array.isArray(seq) ? seq.length : undefined;
  if (len !== undefined && len * k > 1_000_000) out.add('TEMPLATE_DOS', `repetition builds ${len * k} elements`, n.pos, 'suspicious', `* ${k}`);
  else if (len === undefined && typeof seq !== 'number') out.add('TEMPLATE_DOS', `value repeated ${k} times`, n.pos, k > 1_000_000 ? 'suspicious' : undefined, `* ${k}`);
}

/** log10 of the magnitude of a numeric expression built from literals, + and * and **. */
function magnitude(n: Node, folder: Folder, depth = 0): number | undefined {
  const v = folder.fold(n)?.v;
  if (typeof v === 'number') return Math.log10(Math.max(1, Math.abs(v)));
  if (n.k !== 'bin' || depth > 50) return undefined;
  const l = magnitude(n.l, folder, depth + 1);
  const r = magnitude(n.r, folder, depth + 1);
  if (l === undefined || r === undefined) return undefined;
  if (n.op === '**') return l * 10 ** r;
  if (n.op === '*') return l + r;
  if (n.op === '+' || n.op === '-') return Math.max(l, r) + 0.31;
  return undefined;
}

function checkPow(out: Issues, n: Node & { k: 'bin' }, folder: Folder): void {
  const m = magnitude(n, folder);
  if (m !== undefined && m > 10_000) out.add('TEMPLATE_DOS', 'power with a result of more than 10,000 digits', n.pos, 'suspicious', '**');
}

/** Names the template binds itself (set, for, with, macro parameters): a variable called config is not Flask's. */
function assignedNames(tags: Tag[]): Set<string> {
  const names = new Set<string>();
  for (const tag of tags) {
    const [kw, ...rest] = tag.toks;
    if (tag.kind !== 'block' || kw?.t !== 'name') continue;
    const stop = kw.v === 'for' ? 'in' : kw.v === 'set' || kw.v === 'with' ? '=' : undefined;
    if (stop) {
      for (const t of rest) {
        if (t.v === stop) break;
        if (t.t === 'name') names.add(t.v);
      }
    } else if (kw.v === 'macro') {
      rest.forEach((t, i) => {
        const next = rest[i + 1];
        if (t.t === 'name' && next?.t === 'op' && (next.v === '=' || next.v === ',' || next.v === ')')) names.add(t.v);
      });
    }
  }
  return names;
}

/** All findings for one template source. Never throws on any input. */
export function analyzeTemplate(src: string): TemplateIssue[] {
  const out = new Issues(src);
  let text = src;
  if (src.length > MAX_TEMPLATE_CHARS) {
    out.add('TEMPLATE_TOO_LARGE', `template of ${src.length} characters; only the first ${MAX_TEMPLATE_CHARS} were checked`, 0, undefined, 'size');
    text = src.slice(0, MAX_TEMPLATE_CHARS);
  }
  const { tags, error } = lexTemplate(text);
  if (error) {
    if (text.length === src.length) out.add('TEMPLATE_UNPARSEABLE', `template does not lex: ${error.message}`, error.pos, undefined, 'lex');
    // Whatever was not tokenised still gets a plain search for dunder names.
    for (const m of text.slice(error.pos).matchAll(/__\w+__/g)) out.add('TEMPLATE_DUNDER_STRING', 'dunder name in text the scanner could not tokenise', error.pos + m.index, undefined, m[0]);
  }
  const folder = new Folder();
  const assigned = assignedNames(tags);
  const loops: number[] = [];
  let nestReported = false;
  for (let t = 0; t < tags.length; t++) {
    const tag = tags[t]!;
    tokenPass(out, tag.toks, assigned);
    const end = tags[t + 1]?.pos ?? text.length;
    let parsed: ParsedTag;
    try {
      parsed = parseTag(tag, end);
    } catch (e) {
      if (!(e instanceof ParseError)) throw e;
      out.add('TEMPLATE_UNPARSEABLE', `template expression does not parse: ${e.message}`, e.pos, undefined, 'parse');
      continue;
    }
    for (const root of parsed.roots) exprPass(out, root, folder);
    if (parsed.target && parsed.roots.length === 1) {
      const v = folder.fold(parsed.roots[0]!);
      if (v) folder.env.set(parsed.target, v);
      else folder.env.delete(parsed.target);
    }
    if (parsed.kw && INCLUDES.has(parsed.kw)) out.add('TEMPLATE_INCLUDE', `template uses {% ${parsed.kw} %}`, tag.pos, undefined, parsed.kw);
    if (parsed.kw === 'for') {
      const it = parsed.iter;
      const count = it?.k === 'call' && it.fn.k === 'name' && it.fn.name === 'range' ? (rangeCount(it, folder) ?? 1) : 1;
      const product = (loops[loops.length - 1] ?? 1) * count; // loops holds running products
      loops.push(product);
      if (product > 10_000_000) out.add('TEMPLATE_DOS', `nested loops run ${product} iterations`, tag.pos, 'suspicious', 'nested ranges');
      if (loops.length >= 4 && !nestReported) {
        nestReported = true;
        out.add('TEMPLATE_DOS', `for-loops nested ${loops.length} deep`, tag.pos, undefined, 'nesting');
      }
    } else if (parsed.kw === 'endfor') loops.pop();
  }
  return out.list;
}

/** Runs the checker and reports each issue on `ctx`, prefixed with where the template was found. */
export function reportTemplate(ctx: ScanContext, src: string, where: string): void {
  for (const i of analyzeTemplate(src)) {
    const f: Parameters<ScanContext['report']>[0] = { ruleId: i.ruleId, message: `${where}: ${i.message}`, evidence: i.evidence };
    if (i.severity) f.severity = i.severity;
    ctx.report(f);
  }
}

/** Whether a string looks like a Jinja template at all (for metadata values). */
export function looksLikeTemplate(s: string): boolean {
  const a = s.indexOf('{{');
  const b = s.indexOf('{%');
  return (a >= 0 && s.indexOf('}}', a + 2) >= 0) || (b >= 0 && s.indexOf('%}', b + 2) >= 0);
}
