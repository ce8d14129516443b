/**
 * End to end over a model folder on disk: every benign file of every format this room scans is
 * detected by name or content and produces no finding above info; one malicious file per format
 * is caught at its severity.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { makeTree } from '../../../test/helpers.ts';
import { gguf, GGUF_TENSORS, ggufModelKv, hdf5Like, keras2Config, KERAS3_LAMBDA, kerasConfig, npy, safetensors, SMALL_TENSORS } from '../../../test/corpus/format-writers.ts';
import { BENIGN_ONNX, BENIGN_TF_NODES, onnxModel, savedModel } from '../../../test/corpus/protobuf-writer.ts';
import { BENIGN_TEMPLATES } from '../../../test/corpus/templates.ts';
import { makeZip } from '../../../test/corpus/zip-writer.ts';
import { BufferBlob } from '../blob.ts';
import { FileBlob } from '../blob.ts';
import { scanBlob } from '../context.ts';
import { SEVERITY_RANK, type Finding } from '../types.ts';

async function scanFolder(root: string): Promise<Map<string, { findings: Finding[]; formats: string[] }>> {
  const out = new Map<string, { findings: Finding[]; formats: string[] }>();
  const walk = async (dir: string): Promise<void> => {
    for (const e of readdirSync(dir)) {
      const p = join(dir, e);
      if (statSync(p).isDirectory()) await walk(p);
      else {
        const blob = new FileBlob(p);
        try {
          const s = await scanBlob(blob, relative(root, p));
          out.set(relative(root, p), { findings: s.findings, formats: [...s.formats.keys()] });
        } finally {
          blob.close();
        }
      }
    }
  };
  await walk(root);
  return out;
}

const benignFolder = (): Record<string, Buffer | string> => ({
  'model.safetensors': safetensors(SMALL_TENSORS, { metadata: { format: 'pt' } }),
  'model-00001-of-00002.safetensors': safetensors(SMALL_TENSORS),
  'model.gguf': gguf(ggufModelKv(), GGUF_TENSORS).bytes,
  'embeddings.npy': npy('<f4', [4, 4], { data: Buffer.alloc(64) }),
  'labels.npy': npy('<U8', [2], { version: 3, data: Buffer.alloc(64) }),
  'config.json': JSON.stringify({ architectures: ['LlamaForCausalLM'], model_type: 'llama', torch_dtype: 'bfloat16' }),
  'tokenizer_config.json': JSON.stringify({ bos_token: '<s>', eos_token: '</s>', chat_template: BENIGN_TEMPLATES.CHATML_TOOLS }),
  'chat_template.jinja': BENIGN_TEMPLATES.HEADER_TURNS!,
  'generation_config.json': JSON.stringify({ do_sample: true, temperature: 0.7 }),
  'keras/config.json': kerasConfig(),
  'keras/model.h5': hdf5Like(keras2Config(false)),
  'tf/saved_model.pb': savedModel(BENIGN_TF_NODES),
  'onnx/model.onnx': onnxModel(BENIGN_ONNX),
});

test('a benign model folder: every file detected, nothing above info', async () => {
  const results = await scanFolder(makeTree(benignFolder()));
  assert.equal(results.size, Object.keys(benignFolder()).length);
  for (const [file, r] of results) {
    assert.ok(!r.formats.includes('unknown'), `${file} was not detected`);
    assert.deepEqual(r.findings.filter((f) => SEVERITY_RANK[f.severity] > 0), [], file);
  }
});

test('one malicious file per format is caught', async () => {
  const root = makeTree({
    'model.safetensors': safetensors(SMALL_TENSORS, { tail: 1024 }),
    'model.gguf': gguf(ggufModelKv("{{ cycler.__init__.__globals__.os.popen('id').read() }}"), GGUF_TENSORS).bytes,
    'obj.npy': npy('|O', [1], { data: Buffer.from([0x80, 0x04, 0x4e, 0x2e]) }),
    'tokenizer_config.json': JSON.stringify({ chat_template: "{{ ''.__class__.__mro__[1].__subclasses__() }}" }),
    'keras/config.json': kerasConfig([KERAS3_LAMBDA]),
    'keras/model.h5': hdf5Like(keras2Config(true)),
    'tf/saved_model.pb': savedModel([...BENIGN_TF_NODES, { name: 'p', op: 'PyFunc' }]),
    'onnx/model.onnx': onnxModel({ initializers: [{ name: 'w', location: '../../../etc/passwd' }] }),
    'modeling_evil.py': 'import os\nos.system("id")\n',
  });
  const want: Record<string, [string, string]> = {
    'model.safetensors': ['SAFETENSORS_MALFORMED', 'suspicious'],
    'model.gguf': ['TEMPLATE_DANGEROUS_CALL', 'dangerous'],
    'obj.npy': ['NUMPY_OBJECT_ARRAY', 'suspicious'],
    'tokenizer_config.json': ['TEMPLATE_DUNDER_ACCESS', 'dangerous'],
    'keras/config.json': ['KERAS_LAMBDA', 'dangerous'],
    'keras/model.h5': ['KERAS_LAMBDA', 'dangerous'],
    'tf/saved_model.pb': ['TF_PYFUNC', 'dangerous'],
    'onnx/model.onnx': ['ONNX_EXTERNAL_DATA_PATH', 'dangerous'],
    'modeling_evil.py': ['CODE_PYTHON_SOURCE', 'suspicious'],
  };
  const results = await scanFolder(root);
  for (const [file, [rule, severity]] of Object.entries(want)) {
    const fs = results.get(file)!.findings;
    assert.ok(fs.some((f) => f.ruleId === rule && f.severity === severity), `${file}: ${JSON.stringify(fs.map((f) => [f.ruleId, f.severity]))}`);
  }
});

test('inside archives: a .keras zip with a Lambda, an .npz with an object array, TorchScript code', async () => {
  const keras = makeZip([
    { name: 'metadata.json', data: JSON.stringify({ keras_version: '3.6.0', date_saved: '2025-01-01@00:00:00' }) },
    { name: 'config.json', data: kerasConfig([KERAS3_LAMBDA]), method: 8 },
    { name: 'model.weights.h5', data: hdf5Like(undefined) },
  ]);
  const k = await scanBlob(new BufferBlob(keras), 'model.keras');
  const lambda = k.findings.find((f) => f.ruleId === 'KERAS_LAMBDA');
  assert.equal(lambda?.severity, 'dangerous', JSON.stringify(k.findings.map((f) => f.ruleId)));
  assert.deepEqual(lambda.member, ['config.json']);
  const clean = await scanBlob(new BufferBlob(makeZip([{ name: 'config.json', data: kerasConfig() }, { name: 'model.weights.h5', data: hdf5Like(undefined) }])), 'model.keras');
  assert.deepEqual(clean.findings.filter((f) => SEVERITY_RANK[f.severity] > 0), []);

  const npz = makeZip([{ name: 'a.npy', data: npy('<f8', [2], { data: Buffer.alloc(16) }) }, { name: 'b.npy', data: npy('|O', [1], { data: Buffer.from([0x80, 0x04, 0x4e, 0x2e]) }) }]);
  const n = await scanBlob(new BufferBlob(npz), 'arrays.npz');
  assert.ok(n.findings.some((f) => f.ruleId === 'NUMPY_OBJECT_ARRAY' && f.member.join('/') === 'b.npy'), JSON.stringify(n.findings.map((f) => [f.ruleId, f.member])));

  const ts = makeZip([{ name: 'archive/code/__torch__.py', data: 'def forward(self, x):\n    return torch.ops.aten.from_file("/etc/passwd", None, 10)\n' }]);
  const t = await scanBlob(new BufferBlob(ts), 'model.pt');
  assert.ok(t.findings.some((f) => f.ruleId === 'CODE_TORCHSCRIPT_IO'), JSON.stringify(t.findings.map((f) => f.ruleId)));
});
