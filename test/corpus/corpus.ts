/**
 * The labelled scan corpus: every trick the scanner issue names, with its expected verdict and a
 * rule that must fire, and benign files of every format that must scan clean. All generated here
 * by the project's own writers; nothing is downloaded, nothing is ever loaded.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ATTACKS } from './pickle-attacks.ts';
import { call, joblibFile, legacyTorchFile, numpyArrayPickle, sklearnLike, torchStateDict } from './pickle-corpus.ts';
import { dumps } from './pickle-writer.ts';
import { makeZip, torchZipEntries } from './zip-writer.ts';
import { makeTar } from './tar-writer.ts';
import { make7z } from './sevenzip-writer.ts';
import { GGUF_TENSORS, SMALL_TENSORS, gguf, ggufModelKv, hdf5Like, keras2Config, kerasConfig, KERAS3_LAMBDA, npy, safetensors } from './format-writers.ts';
import { BENIGN_ONNX, BENIGN_TF_NODES, onnxModel, savedModel } from './protobuf-writer.ts';
import { BENIGN_TEMPLATES } from './templates.ts';

export interface MaliciousCase {
  /** Path under the corpus folder. */
  path: string;
  expected: 'dangerous' | 'suspicious';
  /** Rules that must all fire. */
  rules: string[];
  /** What the trick is, for the test name. */
  trick: string;
}

const STATE = [{ key: 'layer.weight', shape: [4, 4] }, { key: 'layer.bias', shape: [4] }];
const storages = [Buffer.alloc(64, 0x3f), Buffer.alloc(16, 0x3f)];
const tokenizerConfig = (template: string): string => JSON.stringify({ bos_token: '<s>', eos_token: '</s>', chat_template: template, model_max_length: 4096 });
const EVIL_TEMPLATE = "{{ self.__init__.__globals__.__builtins__.__import__('os').popen('id').read() }}";

/** Benign files of every format: relative path -> bytes. */
export async function benignFiles(): Promise<Record<string, Buffer | string>> {
  const zipOf = (entries: Parameters<typeof makeZip>[0]) => makeZip(entries);
  return {
    'torch/pytorch_model.bin': zipOf(torchZipEntries(torchStateDict(STATE, 2), storages)),
    'torch/model-p4.pt': zipOf(torchZipEntries(torchStateDict(STATE, 4), storages, 'model-p4')),
    'torch/legacy.pt': legacyTorchFile(STATE),
    'torch/raw-state.pkl': torchStateDict(STATE, 3),
    'safetensors/model.safetensors': safetensors(SMALL_TENSORS),
    'gguf/tiny-q4.gguf': gguf(ggufModelKv(BENIGN_TEMPLATES.CHATML_TOOLS), GGUF_TENSORS).bytes,
    'numpy/weights.npy': npy('<f4', [4, 4], { data: Buffer.alloc(64) }),
    'numpy/arrays.npz': zipOf([{ name: 'a.npy', data: npy('<f8', [2], { data: Buffer.alloc(16) }) }, { name: 'b.npy', data: npy('|u1', [3], { data: Buffer.alloc(3) }) }]),
    'numpy/array.pkl': numpyArrayPickle([3, 2], 'f8', 2),
    'sklearn/model.joblib': joblibFile([{ shape: [4, 3] }, { shape: [3], spec: 'i8' }]),
    'keras/model.keras': zipOf([{ name: 'metadata.json', data: '{"keras_version": "3.6.0"}' }, { name: 'config.json', data: kerasConfig() }, { name: 'model.weights.h5', data: hdf5Like(undefined) }]),
    'keras/model.h5': hdf5Like(keras2Config(false)),
    'tf/saved_model.pb': savedModel(BENIGN_TF_NODES),
    'onnx/model.onnx': onnxModel(BENIGN_ONNX),
    'hf/config.json': JSON.stringify({ architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: 64 }),
    'hf/tokenizer_config.json': tokenizerConfig(BENIGN_TEMPLATES.HEADER_TURNS!),
    'hf/generation_config.json': JSON.stringify({ do_sample: true, temperature: 0.6 }),
    'hf/README.md': '# A model card\n',
    'archives/weights.tar.gz': gzipSync(makeTar([{ name: 'model.safetensors', data: safetensors(SMALL_TENSORS) }])),
    'archives/weights.7z': await make7z({ 'model.safetensors': safetensors(SMALL_TENSORS), 'config.json': '{"model_type": "llama"}' }),
  };
}

/** Malicious files: each case and its bytes. */
export async function maliciousFiles(): Promise<{ cases: MaliciousCase[]; files: Record<string, Buffer | string> }> {
  const cases: MaliciousCase[] = [];
  const files: Record<string, Buffer | string> = {};
  const add = (path: string, data: Buffer | string, expected: MaliciousCase['expected'], rules: string[], trick: string): void => {
    files[path] = data;
    cases.push({ path, expected, rules, trick });
  };
  const payload = ATTACKS.osSystemGlobal();
  const torchZip = (pkl: Buffer, extra: object = {}) => makeZip(torchZipEntries(pkl, storages).map((e) => (e.name.endsWith('data.pkl') ? { ...e, ...extra } : e)));

  add('pickle/os-system.pkl', payload, 'dangerous', ['PICKLE_DANGEROUS_GLOBAL'], 'os.system through GLOBAL + REDUCE');
  add('pickle/pip-main.pkl', ATTACKS.pipMain(), 'dangerous', ['PICKLE_DANGEROUS_GLOBAL'], 'pip.main (missing from picklescan\'s list)');
  add('pickle/asyncio-submodule.pkl', ATTACKS.asyncioSubmodule(), 'dangerous', ['PICKLE_DANGEROUS_GLOBAL'], 'submodule asyncio.unix_events');
  add('pickle/stack-global-strings.pkl', ATTACKS.stackGlobalFromStrings(), 'dangerous', ['PICKLE_DANGEROUS_GLOBAL'], 'STACK_GLOBAL fed by protocol-0 STRING opcodes');
  add('pickle/memo-callable.pkl', ATTACKS.memoAssembledCallable(), 'dangerous', ['PICKLE_DANGEROUS_GLOBAL'], 'callable assembled through the memo');
  add('pickle/memo-names.pkl', ATTACKS.memoAssembledNames(), 'dangerous', ['PICKLE_DANGEROUS_GLOBAL'], 'module and name fetched from the memo');
  add('pickle/inst.pkl', ATTACKS.inst(), 'dangerous', ['PICKLE_DANGEROUS_GLOBAL'], 'INST opcode');
  add('pickle/obj.pkl', ATTACKS.obj(), 'dangerous', ['PICKLE_DANGEROUS_GLOBAL'], 'OBJ opcode');
  add('pickle/newobj.pkl', ATTACKS.newobj(), 'dangerous', ['PICKLE_DANGEROUS_GLOBAL'], 'NEWOBJ opcode');
  add('pickle/newobj-ex.pkl', ATTACKS.newobjEx(), 'dangerous', ['PICKLE_DANGEROUS_GLOBAL'], 'NEWOBJ_EX opcode');
  add('pickle/builtins-eval.pkl', ATTACKS.builtinsCall('eval'), 'dangerous', ['PICKLE_DANGEROUS_GLOBAL'], 'builtins.eval');
  add('pickle/second-pickle.pkl', ATTACKS.secondPickle(), 'dangerous', ['PICKLE_DANGEROUS_GLOBAL'], 'benign pickle followed by a malicious one');
  add('pickle/nullifai.pkl', ATTACKS.nullifai(), 'dangerous', ['PICKLE_DANGEROUS_GLOBAL', 'PICKLE_MALFORMED'], 'payload then a deliberately broken stream (nullifAI)');
  add('pickle/torch-hub-dotted.pkl', ATTACKS.dottedName(), 'dangerous', ['PICKLE_DANGEROUS_GLOBAL'], 'torch.hub.load via a protocol 4 dotted name');
  add('pickle/load-from-bytes.pkl', ATTACKS.loadFromBytes(), 'dangerous', ['PICKLE_NESTED_LOAD', 'PICKLE_DANGEROUS_GLOBAL'], 'torch.load of embedded bytes');
  add('pickle/unknown-opcode.pkl', ATTACKS.unknownOpcode(), 'suspicious', ['PICKLE_MALFORMED'], 'unknown opcode: never clean');
  add('pickle/truncated.pkl', ATTACKS.truncated(), 'suspicious', ['PICKLE_MALFORMED'], 'truncated stream: never clean');
  add('pickle/sklearn.pkl', sklearnLike(), 'suspicious', ['PICKLE_UNKNOWN_GLOBAL'], 'global on neither list');
  add('pickle/no-proto-short-binunicode.bin', Buffer.from('\x8c\x02os\x8c\x06system\x93\x8c\x02id\x85R.', 'latin1'), 'dangerous', ['PICKLE_DANGEROUS_GLOBAL'], 'no PROTO opcode, first opcode from protocol 4');
  add('pickle/raw-pickle.bin', payload, 'dangerous', ['PICKLE_DANGEROUS_GLOBAL'], 'raw pickle named .bin');

  add('zip/torch-payload.pt', torchZip(ATTACKS.pipMain()), 'dangerous', ['PICKLE_DANGEROUS_GLOBAL'], 'PyTorch zip with a payload in data.pkl');
  add('zip/data-txt.zip', makeZip([{ name: 'model/data.txt', data: payload }, { name: 'model/version', data: '3\n' }]), 'dangerous', ['PICKLE_DANGEROUS_GLOBAL'], 'pickle stored as data.txt inside a zip');
  for (const flag of [0x1, 0x20, 0x40]) {
    add(`zip/flag-${flag.toString(16)}.pt`, torchZip(payload, { flags: flag }), 'dangerous', ['ARCHIVE_EVASION', 'PICKLE_DANGEROUS_GLOBAL'], `zip flag bit 0x${flag.toString(16)} (Python's zipfile refuses, PyTorch loads)`);
  }
  add('zip/bad-crc.pt', torchZip(payload, { crc: 0xdeadbeef }), 'dangerous', ['ARCHIVE_EVASION', 'PICKLE_DANGEROUS_GLOBAL'], 'wrong CRC');
  add('zip/name-mismatch.pt', torchZip(payload, { localName: 'archive/other.pkl' }), 'dangerous', ['ARCHIVE_EVASION', 'PICKLE_DANGEROUS_GLOBAL'], 'local and central file names differ');
  add('zip/raw-bin-member.zip', makeZip([{ name: 'pytorch_model.bin', data: payload, method: 8 }]), 'dangerous', ['PICKLE_DANGEROUS_GLOBAL'], 'raw pickle named .bin inside a zip, deflated');
  add('zip/nested.zip', makeZip([{ name: 'inner.zip', data: makeZip([{ name: 'innermost.tar', data: makeTar([{ name: 'p.pkl', data: payload }]) }]) }]), 'dangerous', ['PICKLE_DANGEROUS_GLOBAL'], 'payload nested zip > zip > tar');
  add('zip/bomb.zip', makeZip([{ name: 'zeros.bin', data: Buffer.alloc(64 * 1024 * 1024), method: 8 }]), 'suspicious', ['SCAN_LIMIT'], 'compression-ratio bomb stops cleanly');
  add('zip/torchscript.pt', makeZip([{ name: 'model/data.pkl', data: dumps({ a: 1 }, 2) }, { name: 'model/code/__torch__/m.py', data: 'def forward(self, x):\n    return torch.ops.aten.from_file("/etc/passwd", None, 10)\n' }, { name: 'model/constants.pkl', data: dumps([], 2) }]), 'suspicious', ['CODE_TORCHSCRIPT_IO'], 'TorchScript code reaching file APIs');

  add('torch/legacy-payload.tar', makeTar([{ name: 'sys_info', data: dumps({ protocol_version: 1000 }, 2) }, { name: 'pickle', data: payload }, { name: 'storages', data: Buffer.alloc(8) }, { name: 'tensors', data: Buffer.alloc(8) }]), 'dangerous', ['PICKLE_DANGEROUS_GLOBAL'], 'legacy PyTorch tar with a payload');
  add('archives/payload.pkl.gz', gzipSync(payload), 'dangerous', ['PICKLE_DANGEROUS_GLOBAL'], 'gzip-compressed pickle');
  add('archives/nullifai.7z', await make7z({ 'archive/data.pkl': ATTACKS.nullifaiTorch(), 'archive/version': '3\n' }), 'dangerous', ['PICKLE_DANGEROUS_GLOBAL', 'PICKLE_MALFORMED'], 'nullifAI: 7z-compressed PyTorch file, stream broken after the payload');
  add('archives/payload.xz', await make7z({ 'model.pkl': payload }, { type: 'xz' }), 'dangerous', ['PICKLE_DANGEROUS_GLOBAL'], 'xz-compressed pickle');

  add('numpy/object.npy', Buffer.concat([npy('|O', [1]), payload]), 'dangerous', ['NUMPY_OBJECT_ARRAY', 'PICKLE_DANGEROUS_GLOBAL'], 'NumPy object array carrying a pickle');
  add('numpy/object.npz', makeZip([{ name: 'x.npy', data: Buffer.concat([npy('|O', [1]), payload]) }]), 'dangerous', ['PICKLE_DANGEROUS_GLOBAL'], '.npz with an object array');
  add('sklearn/payload.joblib', joblibFile([{ shape: [2] }], 4, call('os', 'system', 'id')), 'dangerous', ['PICKLE_DANGEROUS_GLOBAL'], 'joblib file with a payload after its arrays');

  add('keras/lambda.keras', makeZip([{ name: 'metadata.json', data: '{"keras_version": "3.6.0"}' }, { name: 'config.json', data: kerasConfig([KERAS3_LAMBDA]) }]), 'dangerous', ['KERAS_LAMBDA'], 'Keras .keras with a Lambda layer');
  add('keras/lambda.h5', hdf5Like(keras2Config(true)), 'dangerous', ['KERAS_LAMBDA'], 'Keras .h5 with a Lambda layer');
  add('tf/pyfunc/saved_model.pb', savedModel([...BENIGN_TF_NODES, { name: 'py', op: 'EagerPyFunc' }]), 'dangerous', ['TF_PYFUNC'], 'TensorFlow SavedModel with an EagerPyFunc op');
  add('onnx/escape.onnx', onnxModel({ initializers: [{ name: 'w', location: '../../../etc/passwd' }] }), 'dangerous', ['ONNX_EXTERNAL_DATA_PATH'], 'ONNX external data leaving the model folder');
  const bad = safetensors(SMALL_TENSORS);
  add('safetensors/truncated.safetensors', bad.subarray(0, bad.length - 4), 'suspicious', ['SAFETENSORS_MALFORMED'], 'safetensors whose byte counts do not match the file');
  add('gguf/evil-template.gguf', gguf(ggufModelKv(EVIL_TEMPLATE), GGUF_TENSORS).bytes, 'dangerous', ['TEMPLATE_DUNDER_ACCESS'], 'GGUF chat template escaping the Jinja sandbox');
  add('hf-evil/tokenizer_config.json', tokenizerConfig("{{ ''.__class__.__mro__[1].__subclasses__() }}"), 'dangerous', ['TEMPLATE_DUNDER_ACCESS'], 'tokenizer_config.json chat_template escape');
  return { cases, files };
}

export function writeTree(root: string, files: Record<string, Buffer | string>): void {
  for (const [rel, data] of Object.entries(files)) {
    const p = join(root, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, data);
  }
}
