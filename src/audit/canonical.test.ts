/** Canonical JSON, privacy digests and entry preparation. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { canonicalJson } from './canonical.ts';
import { prepareEntry } from './entry.ts';
import { contentDigest, contentReplacer, redactContent } from './privacy.ts';

test('canonical JSON: sorted keys (UTF-16 order), no whitespace, JS number form, escapes as JSON.stringify', () => {
  assert.equal(canonicalJson({ b: 1, a: [true, null, 'x'], c: { z: 1.5, y: -0 } }), '{"a":[true,null,"x"],"b":1,"c":{"y":0,"z":1.5}}');
  // RFC 8785 3.2.3's example: UTF-16 code units put U+1F600 (a surrogate pair) before U+FB33.
  const keys = { '\u20ac': 'Euro Sign', '\r': 'Carriage Return', '\ufb33': 'Hebrew Letter Dalet With Dagesh', '1': 'One', '\ud83d\ude00': 'Emoji: Grinning Face', '\u0080': 'Control', '\u00f6': 'Latin Small Letter O With Diaeresis' };
  const order = [...canonicalJson(keys).matchAll(/"((?:[^"\\]|\\.)*)":/g)].map((m) => JSON.parse(`"${m[1]}"`) as string);
  assert.deepEqual(order, ['\r', '1', '\u0080', '\u00f6', '\u20ac', '\ud83d\ude00', '\ufb33']);
  assert.equal(canonicalJson([1e21, 1e-7, 0.1 + 0.2, 333333333.33333329, -1.5e-300]), '[1e+21,1e-7,0.30000000000000004,333333333.3333333,-1.5e-300]');
  assert.equal(canonicalJson({ s: 'line\nquote"\u0001\u2028' }), '{"s":"line\\nquote\\"\\u0001\u2028"}');
  assert.equal(canonicalJson({ a: undefined, b: 1, d: new Date(0) }), '{"b":1,"d":"1970-01-01T00:00:00.000Z"}');
  assert.equal(canonicalJson(JSON.parse('{"__proto__":{"x":1}}')), '{"__proto__":{"x":1}}');
});

test('canonical JSON refuses what JSON cannot hold exactly', () => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  for (const v of [{ x: Number.NaN }, { x: Infinity }, { x: 1n }, { x: () => 1 }, { x: Symbol('s') }, [undefined], cyclic]) {
    assert.throws(() => canonicalJson(v), { code: 'PERIM_E_AUDIT_EVENT' });
  }
});

test('canonical JSON round-trips: parse then canonicalise gives the same bytes (what export verification relies on)', () => {
  fc.assert(
    fc.property(fc.jsonValue(), (v) => {
      const c = canonicalJson(v);
      assert.equal(canonicalJson(JSON.parse(c)), c);
      assert.deepEqual(JSON.parse(c), JSON.parse(JSON.stringify(v)));
    }),
    { numRuns: 500 },
  );
});

/** A deep copy with every object's keys inserted in sorted (or reverse sorted) order. */
function reorder(v: unknown, reverse: boolean): unknown {
  if (Array.isArray(v)) return v.map((x) => reorder(x, reverse));
  if (v === null || typeof v !== 'object') return v;
  const keys = Object.keys(v).sort();
  if (reverse) keys.reverse();
  const out: Record<string, unknown> = {};
  for (const k of keys) Object.defineProperty(out, k, { value: reorder((v as Record<string, unknown>)[k], reverse), enumerable: true, writable: true, configurable: true });
  return out;
}

test('the fast path (keys already in order) writes the same bytes as the general writer, with and without the content replacer', () => {
  const replacers = [undefined, contentReplacer(), contentReplacer({ contentFields: ['a', 'B'] })];
  const value = fc.oneof(fc.jsonValue(), fc.dictionary(fc.constantFrom('prompt', 'Messages', 'a', 'b', 'output', 'z'), fc.jsonValue(), { maxKeys: 5 }));
  fc.assert(
    fc.property(value, (v) => {
      for (const r of replacers) assert.equal(canonicalJson(reorder(v, false), r), canonicalJson(reorder(v, true), r));
    }),
    { numRuns: 500 },
  );
  // Not plain data: written as the general writer writes it, never as JSON.stringify would.
  assert.equal(canonicalJson({ s: new String('ab') }), '{"s":{"0":"a","1":"b"}}');
  assert.equal(canonicalJson({ n: Object.assign(Object.create(null), { a: 1 }) }), '{"n":{"a":1}}');
  assert.equal(canonicalJson({ a: 1, d: { toJSON: () => 'x' } }), '{"a":1,"d":"x"}');
  assert.equal(canonicalJson({ '10': 1, '9': 2 }), '{"10":1,"9":2}');
  assert.equal(canonicalJson({ a: 'k', prompt: 'p' }, contentReplacer()), `{"a":"k","prompt":"${contentDigest('p')}"}`);
  assert.throws(() => canonicalJson({ a: [1, Number.NaN] }), { code: 'PERIM_E_AUDIT_EVENT' });
});

test('privacy: content fields at any depth become sha256 digests; everything else stays', () => {
  const data = { model: 'm', Prompt: 'hi', request: { messages: [{ role: 'user', content: 'x' }], input: ['a'] }, list: [{ output: 'o' }], response: null };
  const r = redactContent(data);
  assert.deepEqual(r, {
    model: 'm',
    Prompt: `sha256:${createHash('sha256').update('hi').digest('hex')}`,
    request: { messages: contentDigest([{ role: 'user', content: 'x' }]), input: contentDigest(['a']) },
    list: [{ output: contentDigest('o') }],
    response: null,
  });
  assert.deepEqual(redactContent(r), r, 'digests are not digested again');
  assert.equal(redactContent(data, { keepContent: true }), data);
  assert.equal(redactContent({ body: 'b' }, { contentFields: ['body'] }).body, contentDigest('b'));
});

test('an entry is canonical JSON of the event with a version; the leaf hash is SHA-256(0x00 || entry)', () => {
  const e = prepareEntry({ type: 'registry.register', actor: 'cli:me', subject: 'sha256:ab', data: { prompt: 'p', n: 1 }, at: 5 }, contentReplacer());
  assert.equal(e.entry, `{"actor":"cli:me","at":5,"data":{"n":1,"prompt":"${contentDigest('p')}"},"subject":"sha256:ab","type":"registry.register","v":1}`);
  assert.equal(e.leaf.toString('hex'), createHash('sha256').update(Buffer.from([0])).update(e.entry).digest('hex'));
  assert.equal(prepareEntry({ type: 't', data: {} }, undefined, () => 42).at, 42);
  const ev = { type: 'x.y', actor: 'a"b', subject: 's', data: { z: [1, { y: null }], a: 'é' }, at: 7 };
  assert.equal(prepareEntry(ev, undefined).entry, canonicalJson({ v: 1, ...ev }));
  assert.equal(prepareEntry({ type: 'x', data: {}, at: 1 }, contentReplacer()).entry, '{"at":1,"data":{},"type":"x","v":1}');
  for (const bad of [{ type: 'has space', data: {} }, { type: 't', data: [] }, { type: 't', data: {}, at: -1 }, { type: 't', actor: 5, data: {} }]) {
    assert.throws(() => prepareEntry(bad as never, undefined), { code: 'PERIM_E_AUDIT_EVENT' });
  }
});
