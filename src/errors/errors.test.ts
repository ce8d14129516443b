import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERROR_CODES, PerimeterError, asPerimeterError } from './errors.ts';
import { renderErrorsDoc } from '../../scripts/errors-doc.ts';

test('docs/errors.md is generated from the registry and up to date', () => {
  const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  assert.equal(doc, renderErrorsDoc(), 'run `npm run docs:errors`');
});

test('codes follow PERIM_E_* and every code has a kind and summary', () => {
  for (const [code, v] of Object.entries(ERROR_CODES)) {
    assert.match(code, /^PERIM_E_[A-Z0-9_]+$/);
    assert.ok(['invalid', 'usage', 'io'].includes(v.kind));
    assert.ok(v.summary.length > 10);
  }
});

test('asPerimeterError keeps coded errors, maps fs errors, wraps the rest as internal', () => {
  const e = new PerimeterError('PERIM_E_TLOG', 'x');
  assert.equal(asPerimeterError(e), e);
  const enoent = Object.assign(new Error('nope'), { code: 'ENOENT', path: '/x' });
  assert.equal(asPerimeterError(enoent).code, 'PERIM_E_MODEL_NOT_FOUND');
  assert.equal(asPerimeterError(Object.assign(new Error('x'), { code: 'EACCES' })).code, 'PERIM_E_IO');
  const wrapped = asPerimeterError(new TypeError('boom'));
  assert.equal(wrapped.code, 'PERIM_E_INTERNAL');
  assert.ok(wrapped.cause instanceof TypeError);
});
