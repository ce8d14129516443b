import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hdf5Like, keras2Config, KERAS3_LAMBDA, kerasConfig } from '../../../test/corpus/format-writers.ts';
import { BENIGN_TEMPLATES, CHATML_TOOLS } from '../../../test/corpus/templates.ts';
import { BufferBlob } from '../blob.ts';
import { extractJsonObject } from './hdf5.ts';
import { analyzeKerasConfig } from './keras.ts';
import { aboveInfo, has, scanBytes } from './test-scan.ts';

const json = (v: unknown): Buffer => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));

test('tokenizer_config.json: chat_template as a string and as a list of named templates', async () => {
  const benign = await scanBytes(json({ bos_token: '<s>', chat_template: CHATML_TOOLS }), 'tokenizer_config.json');
  assert.deepEqual(benign.findings, []);
  const list = await scanBytes(json({ chat_template: [{ name: 'default', template: BENIGN_TEMPLATES.HEADER_TURNS }, { name: 'tool_use', template: "{{ x|attr('__class__') }}" }] }), 'tokenizer_config.json');
  assert.ok(list.findings.some((f) => f.ruleId === 'TEMPLATE_DUNDER_ACCESS' && f.message.includes('tool_use')));
  const ct = await scanBytes(json({ chat_template: "{{ lipsum.__globals__ }}" }), 'chat_template.json');
  assert.ok(has(ct.findings, 'TEMPLATE_DUNDER_ACCESS', 'dangerous'));
});

test('.jinja files are checked as templates whatever they start with', async () => {
  assert.deepEqual((await scanBytes(Buffer.from(BENIGN_TEMPLATES.INST_TURNS!), 'chat_template.jinja')).findings, []);
  const r = await scanBytes(Buffer.from("Hello {{ ''.__class__ }}"), 'chat_template.jinja');
  assert.ok(has(r.findings, 'TEMPLATE_DUNDER_ACCESS', 'dangerous'));
});

test('auto_map and custom_pipelines are low findings with the code references', async () => {
  const r = await scanBytes(json({ architectures: ['MyModel'], auto_map: { AutoConfig: 'configuration_my.MyConfig', AutoModel: 'modeling_my.MyModel' } }), 'config.json');
  assert.deepEqual(r.ids, ['JSON_AUTO_MAP']);
  assert.equal(r.findings[0]!.severity, 'low');
  assert.match(r.findings[0]!.evidence!, /modeling_my\.MyModel/);
  assert.deepEqual((await scanBytes(json({ architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: 64 }), 'config.json')).findings, []);
});

test('invalid or oversized JSON: suspicious for model configs only', async () => {
  assert.ok(has((await scanBytes(Buffer.from('{"a": 1,'), 'config.json')).findings, 'JSON_MALFORMED', 'suspicious'));
  assert.ok(has((await scanBytes(Buffer.from('not json'), 'tokenizer_config.json')).findings, 'JSON_MALFORMED'));
  assert.deepEqual((await scanBytes(Buffer.from('{"a": 1,'), 'results.json')).findings, []);
  assert.ok(has((await scanBytes(json({ a: 'x'.repeat(2000) }), 'config.json', { maxBytes: 1000 })).findings, 'JSON_TOO_LARGE', 'suspicious'));
});

test('Keras config.json: clean without Lambda, dangerous with one', async () => {
  assert.deepEqual((await scanBytes(json(kerasConfig()), 'config.json')).findings, []);
  const r = await scanBytes(json(kerasConfig([KERAS3_LAMBDA])), 'config.json');
  assert.deepEqual(r.ids, ['KERAS_LAMBDA'], 'one finding for the layer, not another for its __lambda__');
  assert.equal(r.findings[0]!.severity, 'dangerous');
});

test('Keras: custom objects, unsafe modules, TFOpLambda, bare __lambda__', () => {
  const ids = (layer: unknown): string[] => analyzeKerasConfig(JSON.parse(kerasConfig([layer]))).map((i) => i.ruleId);
  assert.deepEqual(ids({ module: 'my_package.layers', class_name: 'Custom', config: {}, registered_name: 'my_package>Custom' }), ['KERAS_CUSTOM_OBJECT']);
  assert.deepEqual(ids({ module: 'keras.layers', class_name: 'Dense', config: { name: 'd', activation: { module: 'builtins', class_name: 'function', config: 'eval', registered_name: 'function' } } }), ['KERAS_UNSAFE_MODULE']);
  assert.deepEqual(ids({ module: 'os', class_name: 'function', config: 'system', registered_name: null }), ['KERAS_UNSAFE_MODULE']);
  assert.deepEqual(ids({ class_name: 'TFOpLambda', config: { name: 'tf.math.add', function: 'math.add' } }), ['KERAS_TF_OP_LAMBDA']);
  assert.deepEqual(ids({ module: 'keras.layers', class_name: 'Dense', config: { name: 'd', kernel_initializer: { class_name: '__lambda__', config: { value: ['AA==', null, null] } } } }), ['KERAS_LAMBDA']);
  assert.deepEqual(ids({ module: 'keras_hub.src.models.gemma', class_name: 'GemmaBackbone', config: {}, registered_name: 'keras_hub>GemmaBackbone' }), []);
});

test('HDF5: model_config found by the heuristic search and checked', async () => {
  const clean = await scanBytes(hdf5Like(keras2Config(false)), 'model.h5');
  assert.deepEqual(aboveInfo(clean.findings), []);
  assert.ok(has(clean.findings, 'KERAS_CONFIG_ONLY', 'info'));
  const lambda = await scanBytes(hdf5Like(keras2Config(true)), 'model.h5');
  assert.ok(has(lambda.findings, 'KERAS_LAMBDA', 'dangerous'));
  const weightsOnly = await scanBytes(hdf5Like(undefined), 'model.weights.h5');
  assert.deepEqual(weightsOnly.ids, ['KERAS_CONFIG_ONLY']);
  const late = Buffer.concat([hdf5Like(undefined, 8192), Buffer.from(keras2Config(true))]);
  assert.ok(has((await scanBytes(late, 'model.h5', { maxBytes: 4096 })).findings, 'KERAS_H5_LIMIT', 'suspicious'), 'config beyond the limit');
});

test('HDF5 search survives decoys: unclosed objects and non-JSON after the needle', async () => {
  const decoys = Buffer.concat([hdf5Like(undefined, 1024), Buffer.from('{"class_name" oops '.repeat(500)), Buffer.from('{"class_name": "x", "config": {\x00'), Buffer.from(keras2Config(true))]);
  assert.ok(has((await scanBytes(decoys, 'model.h5')).findings, 'KERAS_LAMBDA'));
  assert.equal(extractJsonObject(new BufferBlob(Buffer.from('{"a": "}", "b": [1, {"c": 2}]} tail')), 0, 1000), '{"a": "}", "b": [1, {"c": 2}]}');
  assert.equal(extractJsonObject(new BufferBlob(Buffer.from('{"a": [1, 2')), 0, 1000), undefined);
});
