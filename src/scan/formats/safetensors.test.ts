import { test } from 'node:test';
import assert from 'node:assert/strict';
import { safetensors, SMALL_TENSORS, type StOptions } from '../../../test/corpus/format-writers.ts';
import { CHATML_TOOLS } from '../../../test/corpus/templates.ts';
import { parseStrictJson } from './json-strict.ts';
import { aboveInfo, has, scanBytes } from './test-scan.ts';

const scan = (b: Buffer, name = 'model.safetensors') => scanBytes(b, name);
const malformed = async (opts: StOptions, tensors = SMALL_TENSORS): Promise<string[]> =>
  (await scan(safetensors(tensors, opts))).findings.filter((f) => f.ruleId === 'SAFETENSORS_MALFORMED').map((f) => f.message);

test('a valid file, with and without metadata, scans clean', async () => {
  for (const opts of [{}, { metadata: { format: 'pt', total_size: '1234' } }]) {
    const r = await scan(safetensors(SMALL_TENSORS, opts));
    assert.deepEqual(r.findings, []);
    assert.equal(r.formats.get('safetensors'), 1);
  }
  assert.deepEqual((await scan(safetensors([]))).findings, [], 'no tensors at all');
  assert.deepEqual((await scan(safetensors([{ name: 'packed', dtype: 'F4', shape: [2, 3] }]))).findings, [], 'sub-byte dtype ending on a byte');
});

test('every header rule violation is SAFETENSORS_MALFORMED', async () => {
  const cases: [string, StOptions][] = [
    ['unknown dtype', { edit: (h) => ((h['lm_head.bias'] as { dtype: string }).dtype = 'F128') }],
    ['negative dim', { edit: (h) => ((h['lm_head.bias'] as { shape: number[] }).shape = [-1]) }],
    ['fractional dim', { edit: (h) => ((h['lm_head.bias'] as { shape: number[] }).shape = [1.5]) }],
    ['shape not a list', { edit: (h) => ((h['lm_head.bias'] as { shape: unknown }).shape = 3) }],
    ['three offsets', { edit: (h) => ((h['lm_head.bias'] as { data_offsets: number[] }).data_offsets = [440, 448, 456]) }],
    ['size mismatch', { edit: (h) => ((h['lm_head.bias'] as { shape: number[] }).shape = [2]) }],
    ['gap', { edit: (h) => ((h['lm_head.bias'] as { data_offsets: number[] }).data_offsets = [448, 456]), tail: 8 }],
    ['overlap', { edit: (h) => ((h['model.layers.0.input_layernorm.weight'] as { data_offsets: number[] }).data_offsets = [380, 412]) }],
    ['end before begin', { edit: (h) => ((h['lm_head.bias'] as { data_offsets: number[] }).data_offsets = [448, 440]) }],
    ['metadata not strings', { edit: (h) => (h.__metadata__ = { a: 1 }) }],
    ['metadata not an object', { edit: (h) => (h.__metadata__ = 'x') }],
    ['tensor not an object', { edit: (h) => (h.extra = [1, 2]) }],
    ['trailing bytes', { tail: 16 }],
    ['truncated', { tail: -4 }],
    ['not JSON', { headerJson: '{"a": ' }],
    ['JSON array', { headerJson: '[]' }],
    ['duplicate key', { headerJson: '{"t": {"dtype": "U8", "shape": [0], "data_offsets": [0, 0]}, "t": {"dtype": "U8", "shape": [0], "data_offsets": [0, 0]}}' }],
    ['odd sub-byte size', { headerJson: '{"p": {"dtype": "F4", "shape": [3], "data_offsets": [0, 1]}}' }],
    ['offset beyond u64', { headerJson: '{"t": {"dtype": "U8", "shape": [1], "data_offsets": [0, 18446744073709551616]}}' }],
    ['lone surrogate escape', { headerJson: '{"\\ud800": {"dtype": "U8", "shape": [0], "data_offsets": [0, 0]}}' }],
  ];
  for (const [what, opts] of cases) assert.ok((await malformed(opts)).length > 0, what);
});

test('header length, UTF-8 and file-size rules', async () => {
  const huge = Buffer.alloc(16);
  huge.writeBigUInt64LE(200_000_000n);
  huge[8] = 0x7b;
  assert.ok(has((await scan(huge)).findings, 'SAFETENSORS_MALFORMED'), 'over 100 MB');
  const past = safetensors(SMALL_TENSORS);
  past.writeBigUInt64LE(BigInt(past.length));
  assert.ok(has((await scan(past)).findings, 'SAFETENSORS_MALFORMED'), 'past the end');
  assert.ok(has((await scan(Buffer.from([1, 2, 3]))).findings, 'SAFETENSORS_MALFORMED'), 'shorter than 8 bytes');
  const bad = safetensors(SMALL_TENSORS, { metadata: { note: 'ab' } });
  bad[bad.indexOf('ab')] = 0xff;
  assert.ok(has((await scan(bad)).findings, 'SAFETENSORS_MALFORMED'), 'invalid UTF-8');
});

test('unknown tensor fields are unusual, not malformed', async () => {
  const r = await scan(safetensors(SMALL_TENSORS, { edit: (h) => ((h['lm_head.bias'] as Record<string, unknown>).note = 'x') }));
  assert.deepEqual(r.ids, ['SAFETENSORS_UNUSUAL']);
  assert.equal(r.findings[0]!.severity, 'low');
});

test('metadata holding a chat template is checked as one', async () => {
  const benign = await scan(safetensors(SMALL_TENSORS, { metadata: { chat_template: CHATML_TOOLS } }));
  assert.deepEqual(aboveInfo(benign.findings), []);
  assert.ok(has(benign.findings, 'SAFETENSORS_TEMPLATE_METADATA', 'info'));
  const evil = await scan(safetensors(SMALL_TENSORS, { metadata: { chat_template: "{{ ''.__class__.__mro__ }}" } }));
  assert.ok(has(evil.findings, 'TEMPLATE_DUNDER_ACCESS', 'dangerous'));
});

test('strict JSON: big integers exact, duplicates reported, depth capped', () => {
  const dups: string[] = [];
  const v = parseStrictJson('{"a": 18446744073709551615, "b": {"c": 1, "c": 2}}', dups) as Map<string, unknown>;
  assert.equal(v.get('a'), 18446744073709551615n);
  assert.deepEqual(dups, ['b.c']);
  assert.throws(() => parseStrictJson('['.repeat(200) + ']'.repeat(200)), /nesting/);
  for (const bad of ['{"a":1,}', "{'a':1}", '{"a":01}', '"\u0001"', '{"a":1} x', 'NaN']) assert.throws(() => parseStrictJson(bad), bad);
});

test('a file named .safetensors that is not one is still reported', async () => {
  assert.ok(has((await scan(Buffer.from('this is not a model at all'))).findings, 'SAFETENSORS_MALFORMED'));
});
