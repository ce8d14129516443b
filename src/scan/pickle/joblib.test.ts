import { test } from 'node:test';
import assert from 'node:assert/strict';
import { joblibFile } from '../../../test/corpus/pickle-corpus.ts';
import { call, glob, tuple } from '../../../test/corpus/pickle-writer.ts';
import { dtypeInfo, wrapperLayout } from './joblib.ts';
import { brief, scanBytes } from './test-ctx.ts';
import { ENC, K, type StrV, type Val } from './values.ts';

// The raw array bytes joblibFile writes by default spell out "cos\nsystem\n(S'echo hi'\ntR.":
// skipping one byte too few or too many turns them into findings.

test('joblib numeric arrays: raw data skipped exactly, every protocol, aligned and pre-1.2 unaligned', async () => {
  for (const proto of [2, 3, 4, 5]) {
    for (const aligned of [true, false]) {
      const buf = joblibFile([{ shape: [3, 5] }, { shape: [7], spec: 'i4', aligned }, { shape: [2, 2, 2], spec: 'u1' }], proto);
      assert.deepEqual(await scanBytes(buf, 'model.joblib'), [], `protocol ${proto} aligned ${aligned}`);
    }
  }
});

test('joblib edge shapes and dtypes: 0-d, empty, unicode, bool, complex, structured', async () => {
  const arrays = [
    { shape: [] }, { shape: [0, 4] }, { shape: [3], spec: 'U5' }, { shape: [9], spec: 'b1' }, { shape: [2], spec: 'c16' },
    { shape: [4], spec: 'V12', fields: [['a', 'f8'], ['b', 'i4']] as [string, string][] },
  ];
  assert.deepEqual(await scanBytes(joblibFile(arrays), 'm.joblib'), []);
});

test('joblib object arrays: the inline protocol 2 pickle is analysed (clean and malicious)', async () => {
  const clean = joblibFile([{ shape: [2], spec: 'O8', objects: ['a', { b: 1 }] }, { shape: [3] }]);
  assert.deepEqual(await scanBytes(clean, 'm.joblib'), []);
  const evil = joblibFile([{ shape: [1], spec: 'O8', objects: [call('os', 'system', 'id')] }, { shape: [3] }]);
  assert.deepEqual(brief(await scanBytes(evil, 'm.joblib')), ['PICKLE_DANGEROUS_GLOBAL:dangerous']);
  // A structured dtype with an object field is an object array too.
  const structured = joblibFile([{ shape: [1], spec: 'V16', fields: [['a', 'f8'], ['o', 'O8']], objects: [glob('builtins', 'eval')] }]);
  assert.deepEqual(brief(await scanBytes(structured, 'm.joblib')), ['PICKLE_DANGEROUS_GLOBAL:dangerous']);
});

test('joblib with a payload after the arrays is dangerous', async () => {
  const buf = joblibFile([{ shape: [4, 4] }], 4, call('subprocess', 'check_output', ['id']));
  const fs = await scanBytes(buf, 'm.joblib');
  assert.deepEqual(brief(fs), ['PICKLE_DANGEROUS_GLOBAL:dangerous']);
  assert.match(fs[0]!.evidence!, /^subprocess\.check_output/);
});

test('joblib array whose length cannot be worked out: suspicious, no guessing', async () => {
  const fs = await scanBytes(joblibFile([{ shape: [3], spec: 'x9' }]), 'm.joblib');
  assert.deepEqual(brief(fs), ['PICKLE_JOBLIB_ARRAY:suspicious']);
  assert.match(fs[0]!.message, /unrecognised dtype kind x/);
});

test('joblib raw data running past the end of the file is malformed', async () => {
  const buf = joblibFile([{ shape: [100] }]);
  const fs = await scanBytes(buf.subarray(0, buf.length - 400), 'm.joblib');
  assert.deepEqual(brief(fs), ['PICKLE_MALFORMED:suspicious']);
  assert.match(fs[0]!.message, /raw array data/);
});

// ---- unit level
const str = (s: string): StrV => ({ k: K.STR, off: 0, len: s.length, enc: ENC.UTF8, s, memo: false });
const text = (s: StrV): string | undefined => s.s;
const dtype = (spec: string, state?: Val): Val => ({
  k: K.OBJ, fn: { k: K.GLOBAL, g: { module: 'numpy', name: 'dtype', full: 'numpy.dtype', offset: 0, via: 'GLOBAL' }, memo: false },
  args: { k: K.TUPLE, items: [str(spec)], n: 1 }, state, off: 0,
});
const ints = (...xs: number[]): Val => ({ k: K.TUPLE, items: xs.map((v) => ({ k: K.INT, v })), n: xs.length });
const dict = (o: Record<string, Val>): Val => ({ k: K.DICT, kv: Object.entries(o).flatMap(([k, v]) => [str(k), v]), n: Object.keys(o).length });

test('wrapperLayout: bytes = prod(shape) x itemsize; padding only when the alignment attribute is an int', () => {
  assert.deepEqual(wrapperLayout(dict({ shape: ints(3, 4), dtype: dtype('f8'), numpy_array_alignment_bytes: { k: K.INT, v: 16 } }), text), { kind: 'raw', nbytes: 96, padded: true });
  assert.deepEqual(wrapperLayout(dict({ shape: ints(2), dtype: dtype('U10') }), text), { kind: 'raw', nbytes: 80, padded: false });
  assert.deepEqual(wrapperLayout(dict({ shape: ints(5), dtype: dtype('O8'), numpy_array_alignment_bytes: { k: K.NONE } }), text), { kind: 'pickle' });
  assert.equal(wrapperLayout(dict({ shape: ints(-1), dtype: dtype('f8') }), text).kind, 'unknown');
  assert.equal(wrapperLayout(dict({ shape: str('3') as Val, dtype: dtype('f8') }), text).kind, 'unknown');
  assert.equal(wrapperLayout(dict({ shape: ints(2 ** 40, 2 ** 20), dtype: dtype('f8') }), text).kind, 'unknown');
  assert.equal(wrapperLayout(undefined, text).kind, 'unknown');
});

test('dtypeInfo: kinds, sizes, structured fields with objects, sub-arrays refused', () => {
  assert.deepEqual(dtypeInfo(dtype('<i2'), text), { itemsize: 2, hasObject: false });
  assert.deepEqual(dtypeInfo(dtype('M8'), text), { itemsize: 8, hasObject: false });
  const fields = (f: Val): Val => ({ k: K.TUPLE, items: [ints(3), str('|'), { k: K.NONE }, { k: K.NONE }, f], n: 5 });
  const withObj = dict({ a: { k: K.TUPLE, items: [dtype('O8'), ints(0)], n: 2 } });
  assert.deepEqual(dtypeInfo(dtype('V8', fields(withObj)), text), { itemsize: 8, hasObject: true });
  const sub: Val = { k: K.TUPLE, items: [ints(3), str('|'), ints(2), { k: K.NONE }, { k: K.NONE }], n: 5 };
  assert.match(String(dtypeInfo(dtype('V16', sub), text)), /sub-array/);
  assert.match(String(dtypeInfo(dtype('float64'), text)), /unrecognised dtype string/);
  assert.match(String(dtypeInfo(tuple() as unknown as Val, text)), /not a numpy.dtype/);
});
