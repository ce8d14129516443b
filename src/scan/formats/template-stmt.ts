/**
 * Jinja statements (`{% for %}`, `{% set %}`, `{% macro %}`, ...): finds the expressions inside a
 * tag and parses them with ExprParser. Unknown statements (end tags, extensions) carry no
 * expression the checker needs.
 */
import { ExprParser, type Node } from './template-expr.ts';
import type { Tag } from './template-lexer.ts';

/** Skips a parenthesised parameter list, parsing every `= default`. Cursor on '('. */
function params(p: ExprParser, roots: Node[]): void {
  p.expectOp('(');
  let depth = 1;
  while (!p.atEnd && depth > 0) {
    if (depth === 1 && p.isOp('=')) {
      p.i++;
      roots.push(p.parseExpr());
      continue;
    }
    if (p.isOp('(') || p.isOp('[') || p.isOp('{')) depth++;
    else if (p.isOp(')') || p.isOp(']') || p.isOp('}')) depth--;
    p.i++;
  }
  if (depth > 0) p.fail("expected ')'");
}

export interface ParsedTag {
  kw?: string;
  roots: Node[];
  /** The iterable of a for-loop. */
  iter?: Node;
  /** `{% set name = ... %}` or `{% set ns.attr = ... %}`: the assigned name. */
  target?: string;
}

/** Parses the expressions inside one tag; throws ParseError when Jinja would refuse them. */
export function parseTag(tag: Tag, end: number): ParsedTag {
  const p = new ExprParser(tag.toks, end);
  if (tag.kind === 'var') {
    const roots = [p.parseTuple()];
    p.expectEnd();
    return { roots };
  }
  const first = p.cur;
  if (first?.t !== 'name') return p.fail('expected a statement name');
  const kw = first.v;
  p.i = 1;
  const r: ParsedTag = { kw, roots: [] };
  const { roots } = r;
  const emptyObj: Node = { k: 'const', v: '', pos: tag.pos, built: false };
  switch (kw) {
    case 'if':
    case 'elif':
    case 'do':
    case 'autoescape':
      roots.push(p.parseTuple());
      break;
    case 'for': {
      while (!p.atEnd && !p.isName('in')) p.i++;
      if (!p.isName('in')) p.fail("expected 'in'");
      p.i++;
      r.iter = p.parseTuple(false);
      roots.push(r.iter);
      if (p.isName('if')) {
        p.i++;
        roots.push(p.parseExpr());
      }
      if (p.isName('recursive')) p.i++;
      break;
    }
    case 'set': {
      while (p.isName() || p.isOp('.') || p.isOp(',')) p.i++;
      const target = p.toks.slice(1, p.i).map((t) => t.v).join('');
      if (p.isOp('=')) {
        if (/^[\p{L}_][\p{L}\p{N}_]*(\.[\p{L}_][\p{L}\p{N}_]*)?$/u.test(target)) r.target = target;
        p.i++;
        roots.push(p.parseTuple());
      } else if (p.isOp('|')) roots.push(p.parseFilterExpr(emptyObj));
      break;
    }
    case 'include':
    case 'import':
    case 'from':
    case 'extends':
      roots.push(p.parseExpr());
      p.i = p.toks.length;
      break;
    case 'filter':
      roots.push(p.parseFilterExpr(p.parseFilter(emptyObj)));
      break;
    case 'macro':
      if (p.isName()) p.i++;
      params(p, roots);
      break;
    case 'call':
      if (p.isOp('(')) params(p, roots);
      roots.push(p.parseExpr());
      break;
    case 'with':
      while (!p.atEnd) {
        while (p.isName() || p.isOp(',')) p.i++;
        p.expectOp('=');
        roots.push(p.parseExpr());
        if (p.isOp(',')) p.i++;
      }
      break;
    default:
      p.i = p.toks.length; // end tags, else, break, continue, block, generation, ...
  }
  p.expectEnd();
  return r;
}
