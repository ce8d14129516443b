import { test } from 'node:test';
import assert from 'node:assert/strict';
import { npy } from '../../../test/corpus/format-writers.ts';
import { BufferBlob } from '../blob.ts';
import { numpyScanner, parseDescr, readNpyHeader } from './numpy.ts';
import { parsePyLiteral, PyDict, PyTuple } from './pyliteral.ts';
import { aboveInfo, has, runScanner, scanBytes } from './test-scan.ts';

test('python literal parser: dicts, tuples, strings, ints, bools, None', () => {
  const v = parsePyLiteral("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4L,), 'x': [None, True, -1, 1.5, b'a' 'b']}");
  assert.ok(v instanceof PyDict);
  assert.equal(v.get('descr'), '<f4');
  assert.deepEqual((v.get('shape') as PyTuple).items, [3n, 4n]);
  assert.deepEqual(v.get('x'), [null, true, -1n, 1.5, 'ab']);
  assert.ok(parsePyLiteral('(1)') === 1n, 'parenthesised value, not a tuple');
  assert.ok(parsePyLiteral('(1,)') instanceof PyTuple);
  for (const bad of ["{'a': __import__('os')}", "{'a': 1", "{'a' 1}", 'lambda: 0', "{'a': 1} x", "'\n'"]) assert.throws(() => parsePyLiteral(bad), bad);
  assert.throws(() => parsePyLiteral('['.repeat(100) + ']'.repeat(100)), /nested/);
});

test('descr parsing: sizes, structured and subarray dtypes, object detection', () => {
  assert.deepEqual(parseDescr('<f8'), { itemsize: 8n, hasObject: false });
  assert.deepEqual(parseDescr('<U10'), { itemsize: 40n, hasObject: false });
  assert.deepEqual(parseDescr('<M8[ns]'), { itemsize: 8n, hasObject: false });
  assert.deepEqual(parseDescr('|O'), { itemsize: 8n, hasObject: true });
  assert.deepEqual(parseDescr('object'), { itemsize: 8n, hasObject: true });
  const structured = parsePyLiteral("[('a', '<i4'), ('b', '|O'), ('c', '<f4', (2, 3))]");
  assert.deepEqual(parseDescr(structured), { itemsize: 4n + 8n + 24n, hasObject: true });
  assert.throws(() => parseDescr('<i3'));
  assert.throws(() => parseDescr('float128x'));
});

test('numeric arrays of every header version scan clean', async () => {
  for (const version of [1, 2, 3] as const) {
    const r = await scanBytes(npy('<f4', [2, 3], { version, data: Buffer.alloc(24) }), 'w.npy');
    assert.deepEqual(aboveInfo(r.findings), [], `v${version}`);
    assert.equal(r.formats.get('numpy'), 1);
  }
  const h = readNpyHeader(new BufferBlob(npy('<i8', [5], { data: Buffer.alloc(40) })));
  assert.equal(h.dataOffset % 64, 0, 'header padded like numpy writes it');
});

test('object arrays: suspicious finding and the payload handed to the pickle scanner', async () => {
  const payload = Buffer.from([0x80, 0x04, 0x4e, 0x2e]); // protocol 4: None, STOP
  const r = await scanBytes(npy('|O', [1], { data: payload }), 'obj.npy');
  assert.ok(has(r.findings, 'NUMPY_OBJECT_ARRAY', 'suspicious'));
  assert.equal(r.formats.get('pickle'), 1, 'pickle scanner ran on the data');
  const direct = await runScanner(numpyScanner, npy('|O', [1], { data: payload }), 'obj.npy');
  assert.deepEqual(direct.members, [['obj.npy:pickle', 'pickle']]);
  const structured = await scanBytes(npy('', [1], { header: "{'descr': [('a', '<i4'), ('b', '|O')], 'fortran_order': False, 'shape': (1,)}", data: payload }), 's.npy');
  assert.ok(has(structured.findings, 'NUMPY_OBJECT_ARRAY'));
});

test('truncated data, trailing data, bad headers', async () => {
  assert.ok(has((await scanBytes(npy('<f8', [10], { data: Buffer.alloc(79) }), 'a.npy')).findings, 'NUMPY_MALFORMED'));
  assert.ok(has((await scanBytes(npy('<f8', [1], { data: Buffer.alloc(9) }), 'a.npy')).findings, 'NUMPY_TRAILING_DATA', 'low'));
  const headers = [
    "{'descr': '<f8', 'shape': (1,)}",
    "{'descr': '<f8', 'fortran_order': 0, 'shape': (1,)}",
    "{'descr': '<f8', 'fortran_order': False, 'shape': (-1,)}",
    "{'descr': '<f8', 'fortran_order': False, 'shape': [1]}",
    "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'extra': 1}",
    "{'descr': __import__('os').system('id'), 'fortran_order': False, 'shape': (1,)}",
    "{'descr': '<f8', 'fortran_order': False, 'shape': (1,)",
  ];
  for (const header of headers) assert.ok(has((await scanBytes(npy('', [], { header, data: Buffer.alloc(8) }), 'a.npy')).findings, 'NUMPY_MALFORMED'), header);
  const big = npy('', [], { header: `{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }${' '.repeat(20_000)}`, data: Buffer.alloc(8) });
  assert.ok((await scanBytes(big, 'a.npy')).findings.some((f) => f.ruleId === 'NUMPY_MALFORMED' && /refuses headers/.test(f.message)));
  const v4 = npy('<f8', [1], { data: Buffer.alloc(8) });
  v4[6] = 4;
  assert.ok(has((await scanBytes(v4, 'a.npy')).findings, 'NUMPY_MALFORMED'));
});

test('an unknown descr is reported and the data still offered to the pickle scanner', async () => {
  const r = await scanBytes(npy('<q16', [1], { data: Buffer.from([0x80, 0x02, 0x4e, 0x2e]) }), 'a.npy');
  assert.ok(has(r.findings, 'NUMPY_MALFORMED'));
  assert.equal(r.formats.get('pickle-probe'), 1);
});

test('a .npy name without the magic is not clean', async () => {
  const r = await scanBytes(Buffer.from('just some text that is not an array'), 'weights.npy');
  assert.ok(has(r.findings, 'NUMPY_MALFORMED'));
});
