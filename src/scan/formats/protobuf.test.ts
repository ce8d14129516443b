import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BENIGN_ONNX, BENIGN_TF_NODES, int, len, msg, onnxModel, savedModel, varint } from '../../../test/corpus/protobuf-writer.ts';
import { BufferBlob } from '../blob.ts';
import { locationProblem } from './onnx.ts';
import { ProtoReader } from './protobuf.ts';
import { has, scanBytes } from './test-scan.ts';

const fieldsOf = (b: Buffer) => [...new ProtoReader(new BufferBlob(b)).fields(0, b.length)];

test('protobuf reader: varints, lengths, fixed fields', () => {
  const b = Buffer.concat([int(1, 300), len(2, 'abc'), Buffer.from([0x1d, 1, 2, 3, 4]), Buffer.from([0x21, 1, 2, 3, 4, 5, 6, 7, 8]), int(5, 2n ** 63n)]);
  const f = fieldsOf(b);
  assert.deepEqual(f.map((x) => [x.no, x.wire]), [[1, 0], [2, 2], [3, 5], [4, 1], [5, 0]]);
  assert.equal(f[0]!.num, 300);
  assert.equal(f[4]!.num, 2 ** 63);
  assert.equal(new ProtoReader(new BufferBlob(b)).text(f[1]!), 'abc');
});

test('protobuf reader refuses malformed input', () => {
  const bad = [
    Buffer.from([0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]), // 11-byte varint
    Buffer.from([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]), // overflows 64 bits
    Buffer.from([0x12, 0x05, 0x61]), // length past the end
    Buffer.from([0x0b]), // group start (wire 3)
    Buffer.from([0x0e]), // wire type 6
    Buffer.from([0x00, 0x01]), // field number 0
    Buffer.from([0x08]), // varint cut off
    Buffer.from([0x1d, 0x01]), // fixed32 cut off
  ];
  for (const b of bad) assert.throws(() => fieldsOf(b), /./, b.toString('hex'));
  assert.equal(varint(2n ** 64n - 1n).length, 10);
});

test('SavedModel: benign graph clean; PyFunc in the graph or a function body is dangerous', async () => {
  assert.deepEqual((await scanBytes(savedModel(BENIGN_TF_NODES), 'saved_model.pb')).findings, []);
  const py = await scanBytes(savedModel([...BENIGN_TF_NODES, { name: 'py', op: 'PyFunc', s: { token: 'pyfunc_0' } }]), 'saved_model.pb');
  assert.ok(has(py.findings, 'TF_PYFUNC', 'dangerous'));
  assert.match(py.findings[0]!.evidence!, /pyfunc_0/);
  const inFn = await scanBytes(savedModel(BENIGN_TF_NODES, [{ name: '__inference_call_42', nodes: [{ name: 'e', op: 'EagerPyFunc' }] }]), 'saved_model.pb');
  assert.ok(inFn.findings.some((f) => f.ruleId === 'TF_PYFUNC' && /function __inference_call_42/.test(f.evidence!)));
});

test('SavedModel: file I/O ops and checkpoint ops with fixed outside paths', async () => {
  const read = await scanBytes(savedModel([...BENIGN_TF_NODES, { name: 'r', op: 'ReadFile', inputs: ['p'] }]), 'saved_model.pb');
  assert.ok(has(read.findings, 'TF_FILE_IO', 'low'));
  const write = await scanBytes(savedModel([...BENIGN_TF_NODES, { name: 'w', op: 'WriteFile' }]), 'saved_model.pb');
  assert.ok(has(write.findings, 'TF_FILE_IO', 'suspicious'));
  const print = await scanBytes(savedModel([...BENIGN_TF_NODES, { name: 'p', op: 'PrintV2', s: { output_stream: 'file:///tmp/x' } }]), 'saved_model.pb');
  assert.ok(has(print.findings, 'TF_FILE_IO', 'suspicious'));
  const save = await scanBytes(savedModel([...BENIGN_TF_NODES, { name: 'path', op: 'Const', strings: { value: ['/etc/cron.d/job'] } }, { name: 's2', op: 'SaveV2', inputs: ['path:0', 'tensor_names'] }]), 'saved_model.pb');
  assert.ok(save.findings.some((f) => f.ruleId === 'TF_FILE_IO' && f.evidence === '/etc/cron.d/job'));
});

test('SavedModel: malformed protobuf or no meta graph', async () => {
  assert.ok(has((await scanBytes(Buffer.from([0x12, 0x7f, 1]), 'saved_model.pb')).findings, 'TF_MALFORMED'));
  assert.ok(has((await scanBytes(int(1, 1), 'saved_model.pb')).findings, 'TF_MALFORMED'));
  const wrongWire = Buffer.concat([int(1, 1), int(2, 5)]);
  assert.ok(has((await scanBytes(wrongWire, 'saved_model.pb')).findings, 'TF_MALFORMED'));
});

test('ONNX: external data inside the folder and standard domains are clean', async () => {
  assert.deepEqual((await scanBytes(onnxModel(BENIGN_ONNX), 'model.onnx')).findings, []);
  assert.deepEqual((await scanBytes(onnxModel({ nodes: [{ op: 'local_fn', domain: 'my.functions' }], functionDomain: 'my.functions' }), 'model.onnx')).findings, [], 'model-local function domain');
});

test('ONNX: external data locations outside the folder are dangerous, wherever the tensor is', async () => {
  for (const location of ['/etc/passwd', '../../../../etc/shadow', 'a/../../b', '..\\secret', 'C:\\Windows\\win.ini', '~/.ssh/id_rsa', 'file:///etc/passwd', '/proc/self/environ', 'x\0y']) {
    const top = await scanBytes(onnxModel({ initializers: [{ name: 'w', location }] }), 'model.onnx');
    assert.ok(has(top.findings, 'ONNX_EXTERNAL_DATA_PATH', 'dangerous'), location);
  }
  const nested = await scanBytes(onnxModel({ nodes: [{ op: 'Loop', subgraph: { nodes: [{ op: 'Constant', tensor: { name: 'c', location: '/etc/hosts' } }] } }] }), 'model.onnx');
  assert.ok(has(nested.findings, 'ONNX_EXTERNAL_DATA_PATH', 'dangerous'), 'Constant inside a Loop body');
  const inside = await scanBytes(onnxModel({ initializers: [{ name: 'w', location: 'a/../b.bin' }] }), 'model.onnx');
  assert.ok(has(inside.findings, 'ONNX_EXTERNAL_DATA_PATH', 'suspicious'), '.. that stays inside is still refused by onnx');
  assert.ok(has((await scanBytes(onnxModel({ initializers: [{ name: 'w', externalWithoutLocation: true }] }), 'model.onnx')).findings, 'ONNX_MALFORMED'));
});

test('ONNX: custom operator domains are low', async () => {
  const r = await scanBytes(onnxModel({ nodes: [{ op: 'MyOp', domain: 'com.example.ops' }], opsets: ['', 'com.example.ops'] }), 'model.onnx');
  assert.deepEqual(r.ids, ['ONNX_CUSTOM_DOMAIN']);
  assert.equal(r.findings[0]!.severity, 'low');
  assert.match(r.findings[0]!.evidence!, /MyOp/);
});

test('ONNX: malformed protobuf, empty model, subgraph nesting bound', async () => {
  assert.ok(has((await scanBytes(Buffer.from([0x3a, 0x10, 0x0a]), 'model.onnx')).findings, 'ONNX_MALFORMED'));
  assert.ok(has((await scanBytes(Buffer.alloc(0), 'model.onnx')).findings, 'ONNX_MALFORMED'));
  let g: Buffer = msg(1, len(4, 'Relu'));
  for (let i = 0; i < 80; i++) g = msg(1, len(4, 'If'), msg(5, len(1, 'then_branch'), msg(6, g)));
  assert.ok(has((await scanBytes(msg(7, g), 'model.onnx')).findings, 'ONNX_MALFORMED'));
});

test('location rules', () => {
  assert.equal(locationProblem('weights.bin'), undefined);
  assert.equal(locationProblem('sub/dir/./weights.bin'), undefined);
  assert.equal(locationProblem('/abs')?.severity, 'dangerous');
  assert.equal(locationProblem('a/../b')?.severity, 'suspicious');
  assert.equal(locationProblem('x'.repeat(5000))?.severity, 'suspicious');
});
