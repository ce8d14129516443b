import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SEVERITY_RANK } from '../types.ts';
import { BENIGN_TEMPLATES, MALICIOUS_TEMPLATES, SYNTAX_TOUR } from '../../../test/corpus/templates.ts';
import { analyzeTemplate, looksLikeTemplate, MAX_TEMPLATE_CHARS } from './template.ts';
import { decodeString, lexTemplate } from './template-lexer.ts';

const sev = (i: { ruleId: string; severity?: string }): string => i.severity ?? (i.ruleId === 'TEMPLATE_DOS' ? 'low' : ['TEMPLATE_DUNDER_ACCESS', 'TEMPLATE_DANGEROUS_CALL'].includes(i.ruleId) ? 'dangerous' : 'suspicious');

test('benign templates: no issue at all', () => {
  for (const [name, src] of Object.entries(BENIGN_TEMPLATES)) assert.deepEqual(analyzeTemplate(src), [], name);
});

test('every Jinja construct of the syntax tour parses without a finding', () => {
  assert.deepEqual(analyzeTemplate(SYNTAX_TOUR), []);
});

test('each malicious template triggers its rule at its severity', () => {
  for (const [src, rule, severity] of MALICIOUS_TEMPLATES) {
    const issues = analyzeTemplate(src);
    const hit = issues.filter((i) => i.ruleId === rule);
    assert.ok(hit.length > 0, `${src}: expected ${rule}, got ${JSON.stringify(issues)}`);
    const top = Math.max(...hit.map((i) => SEVERITY_RANK[sev(i) as keyof typeof SEVERITY_RANK]));
    assert.ok(top >= SEVERITY_RANK[severity], `${src}: ${rule} only at ${top}`);
  }
});

test('string literals are decoded like Python', () => {
  assert.deepEqual(decodeString('\\x5f\\u005fa\\n'), { value: '__a\n', escapedIdent: true });
  assert.deepEqual(decodeString('\\n\\t\\\\'), { value: '\n\t\\', escapedIdent: false });
  assert.equal(decodeString('\\137').value, '_');
  assert.equal(decodeString('\\N{LOW LINE}').value, '_');
  assert.equal(decodeString('\\q').value, '\\q');
});

test('the lexer balances brackets before closing a tag, and skips raw blocks and comments', () => {
  const { tags, error } = lexTemplate("{{ {'a': {'b': 1}} }}{# {{ x.__class__ }} #}{% raw %}{{ y.__class__ }}{% endraw %}");
  assert.equal(error, undefined);
  assert.equal(tags.length, 1);
  assert.equal(tags[0]!.toks.filter((t) => t.v === '}').length, 2);
  assert.deepEqual(analyzeTemplate('{# {{ x.__class__ }} #}'), []);
  assert.deepEqual(analyzeTemplate('{% raw %}{{ x.__class__ }}{% endraw %}'), []);
});

test('plain text mentioning dunders outside tags is not code', () => {
  assert.deepEqual(analyzeTemplate('Explain what __init__ does in Python. {{ messages[0].content }}'), []);
});

test('a variable called system or a role string "system" is fine; calling .system() is not', () => {
  assert.deepEqual(analyzeTemplate("{% set system = messages[0] %}{{ system['content'] }}{% if m.role == 'system' %}{% endif %}"), []);
  assert.ok(analyzeTemplate("{{ m.system('id') }}").some((i) => i.ruleId === 'TEMPLATE_DANGEROUS_CALL'));
});

test('a variable the template binds itself is not a gadget global', () => {
  assert.deepEqual(analyzeTemplate('{% set config = namespace(x=1) %}{{ config.x }}{% for request in messages %}{{ request.content }}{% endfor %}'), []);
  assert.ok(analyzeTemplate('{{ config.x }}').some((i) => i.ruleId === 'TEMPLATE_GADGET'));
});

test('special-token strings with double underscores are not flagged unless they spell Python dunders', () => {
  assert.deepEqual(analyzeTemplate("{{ '<__media__>' }}"), []);
  assert.ok(analyzeTemplate("{{ '<__globals__>' }}").some((i) => i.ruleId === 'TEMPLATE_DUNDER_STRING'));
});

test('an oversized template is reported and still checked up to the limit', () => {
  const big = "{{ x.__class__ }}" + ' '.repeat(MAX_TEMPLATE_CHARS);
  const ids = analyzeTemplate(big).map((i) => i.ruleId);
  assert.ok(ids.includes('TEMPLATE_TOO_LARGE'));
  assert.ok(ids.includes('TEMPLATE_DUNDER_ACCESS'));
});

test('after a lexing error the rest is still searched for dunder names', () => {
  const issues = analyzeTemplate("{{ 'unterminated }} x.__globals__");
  assert.ok(issues.some((i) => i.ruleId === 'TEMPLATE_UNPARSEABLE'));
  assert.ok(issues.some((i) => i.ruleId === 'TEMPLATE_DUNDER_STRING' && i.evidence.includes('__globals__')));
});

test('deep nesting is refused, not a stack overflow', () => {
  const issues = analyzeTemplate('{{ ' + '('.repeat(5000) + '1' + ')'.repeat(5000) + ' }}');
  assert.ok(issues.some((i) => i.ruleId === 'TEMPLATE_UNPARSEABLE'));
});

test('findings per template are capped', () => {
  const src = Array.from({ length: 200 }, (_, i) => `{{ x.__a${i}__ }}`).join('');
  assert.ok(analyzeTemplate(src).length <= 25);
});

test('looksLikeTemplate', () => {
  assert.ok(looksLikeTemplate('{% for m in messages %}{% endfor %}'));
  assert.ok(!looksLikeTemplate('{"a": 1}'));
});
