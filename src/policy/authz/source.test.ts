import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { charOffset, lineColAt, splitPolicies } from './source.ts';

describe('Cedar source helpers', () => {
  it('splits on ";" outside strings and comments, keeping offsets', () => {
    const text = [
      '// a comment; with "a quote',
      '@id("a;b")',
      'permit (principal, action, resource) when { resource.license like "x;\\"//y" };',
      '',
      '  forbid (principal, action, resource); // trailing; comment',
      '// only a comment at the end;',
    ].join('\n');
    const chunks = splitPolicies(text);
    assert.equal(chunks.length, 2);
    assert.equal(text.slice(chunks[0]!.first, chunks[0]!.first + 10), '@id("a;b")');
    assert.ok(chunks[0]!.text.endsWith('"x;\\"//y" };'));
    assert.equal(chunks[0]!.start, 0);
    assert.equal(chunks[1]!.start, chunks[0]!.start + chunks[0]!.text.length);
    assert.equal(text.slice(chunks[1]!.first).startsWith('forbid'), true);
    assert.deepEqual(lineColAt(text, chunks[1]!.first), { line: 5, column: 3 });
  });

  it('maps UTF-8 byte offsets to character offsets', () => {
    const text = 'aé€😀b';
    for (let i = 0; i <= text.length; i++) {
      if (i > 0 && /[\uDC00-\uDFFF]/.test(text[i]!)) continue; // inside a surrogate pair
      assert.equal(charOffset(text, Buffer.byteLength(text.slice(0, i))), i);
    }
    assert.equal(charOffset(text, 1000), text.length);
    assert.deepEqual(lineColAt('ab\ncd\n', 4), { line: 2, column: 2 });
    assert.deepEqual(lineColAt('ab', 0), { line: 1, column: 1 });
  });
});
