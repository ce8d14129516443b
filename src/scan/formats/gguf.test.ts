import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gguf, GGUF_TENSORS, ggufModelKv, type GgufOptions, type GgufTensor, type GgufValue } from '../../../test/corpus/format-writers.ts';
import { BENIGN_TEMPLATES, MALICIOUS_TEMPLATES } from '../../../test/corpus/templates.ts';
import { BufferBlob } from '../blob.ts';
import { readGgufHeader, type GgufHeader } from './gguf.ts';
import { GGML_TYPES } from './gguf-types.ts';
import { aboveInfo, has, scanBytes } from './test-scan.ts';

const scan = (b: Buffer, limits = {}) => scanBytes(b, 'model.gguf', limits);
const file = (kv = ggufModelKv(), tensors: GgufTensor[] = GGUF_TENSORS, opts: GgufOptions = {}): Buffer => gguf(kv, tensors, opts).bytes;
const messages = async (b: Buffer, rule = 'GGUF_MALFORMED'): Promise<string[]> => (await scan(b)).findings.filter((f) => f.ruleId === rule).map((f) => f.message);

test('a realistic GGUF v3 file with each benign template scans clean', async () => {
  for (const [name, t] of Object.entries(BENIGN_TEMPLATES)) {
    const r = await scan(file(ggufModelKv(t)));
    assert.deepEqual(aboveInfo(r.findings), [], name);
    assert.equal(r.formats.get('gguf'), 1);
  }
  assert.deepEqual(aboveInfo((await scan(file(ggufModelKv(), GGUF_TENSORS, { version: 2 }))).findings), [], 'v2');
  assert.deepEqual(aboveInfo((await scan(file(ggufModelKv(), GGUF_TENSORS, { bigEndian: true }))).findings), [], 'big-endian v3');
  assert.deepEqual((await scan(file(ggufModelKv(), []))).findings, [], 'no tensors');
});

test('the header parser sees keys, templates and the data section', () => {
  const h: GgufHeader = { version: 0, bigEndian: false, nTensors: 0n, nKv: 0n, keys: [], templates: [], alignment: 0, tensors: 0, errors: [] };
  const kv: [string, GgufValue][] = [...ggufModelKv(), ['tokenizer.chat_template.tool_use', { t: 'str', v: '{{ x }}' }], ['general.alignment', { t: 'u32', v: 64 }]];
  const b = file(kv, GGUF_TENSORS, { alignment: 64 });
  readGgufHeader(new BufferBlob(b), b.length, () => {}, h);
  assert.deepEqual(h.errors, []);
  assert.equal(h.version, 3);
  assert.equal(h.alignment, 64);
  assert.equal(h.tensors, 4);
  assert.equal(h.dataStart! % 64, 0);
  assert.deepEqual(h.templates.map(([k]) => k), ['tokenizer.chat_template', 'tokenizer.chat_template.tool_use']);
});

test('malicious chat templates in GGUF are found, named templates included', async () => {
  for (const [src, rule] of MALICIOUS_TEMPLATES.slice(0, 12)) {
    assert.ok(has((await scan(file(ggufModelKv(src)))).findings, rule), src);
  }
  const named = file([...ggufModelKv(), ['tokenizer.chat_template.rag', { t: 'str', v: "{{ cycler.__init__.__globals__.os.popen('id').read() }}" }]]);
  const r = await scan(named);
  assert.ok(r.findings.some((f) => f.ruleId === 'TEMPLATE_DANGEROUS_CALL' && f.message.includes('tokenizer.chat_template.rag')));
});

test('each header violation is GGUF_MALFORMED', async () => {
  const kv = ggufModelKv();
  const t = GGUF_TENSORS;
  const cases: [string, Buffer][] = [
    ['duplicate key', file([...kv, ['general.name', { t: 'str', v: 'again' }]])],
    ['empty key', file([...kv, ['', { t: 'u8', v: 1 }]])],
    ['alignment not u32', file([...kv, ['general.alignment', { t: 'u64', v: 32n }]])],
    ['alignment not a power of two', file([...kv, ['general.alignment', { t: 'u32', v: 48 }]], t, { alignment: 48 })],
    ['nested array', file([...kv, ['x.nested', { t: 'arr', of: 'arr', items: [{ t: 'arr', of: 'u8', items: [{ t: 'u8', v: 1 }] }] }]])],
    ['invalid value type', file([...kv, ['x.bad', { t: 'raw', type: 13, bytes: Buffer.alloc(8) }]])],
    ['string longer than the file', file([...kv, ['x.bad', { t: 'raw', type: 8, bytes: Buffer.from([0xff, 0xff, 0xff, 0x0f, 0, 0, 0, 0]) }]])],
    ['string over GGUF_MAX_STRING_LENGTH', file([...kv, ['x.bad', { t: 'raw', type: 8, bytes: Buffer.from([0, 0, 0, 0x40, 1, 0, 0, 0]) }]])],
    ['array over GGUF_MAX_ARRAY_ELEMENTS', file([...kv, ['x.bad', { t: 'raw', type: 9, bytes: Buffer.concat([Buffer.from([0, 0, 0, 0]), Buffer.from([1, 0, 0, 0x40, 0, 0, 0, 0])]) }]])],
    ['duplicate tensor name', file(kv, [...t, { name: 'output.weight', dims: [32], type: 0 }])],
    ['tensor name of 64 bytes', file(kv, [...t, { name: 'n'.repeat(64), dims: [32], type: 0 }])],
    ['five dimensions', file(kv, [{ name: 'x', dims: [1, 1, 1, 1, 1], type: 0 }])],
    ['negative dimension', file(kv, [{ name: 'x', dims: [-1n & 0xffffffffffffffffn], type: 0 }])],
    ['unknown ggml type', file(kv, [{ name: 'x', dims: [32], type: 99 }])],
    ['removed ggml type', file(kv, [{ name: 'x', dims: [32], type: 4 }])],
    ['row not a multiple of the block', file(kv, [{ name: 'x', dims: [33], type: 2 }])],
    ['misaligned offset', file(kv, [{ name: 'a', dims: [8], type: 0 }, { name: 'b', dims: [8], type: 0, offset: 8n }])],
    ['overlapping tensors', file(kv, [{ name: 'a', dims: [64], type: 0 }, { name: 'b', dims: [8], type: 0, offset: 0n }])],
    ['data outside the file', gguf(kv, t, { cut: 100 }).bytes],
    ['truncated header', file(kv).subarray(0, 200)],
    ['n_kv larger than the pairs present', file(kv, t, { nKv: 1000n })],
    ['negative n_tensors', file(kv, t, { nTensors: 0xffffffffffffffffn })],
  ];
  for (const [what, b] of cases) assert.ok((await messages(b)).length > 0, what);
});

test('versions: v1 and v4 are unsupported, v0 malformed-or-unsupported, never clean', async () => {
  assert.ok(has((await scan(file(ggufModelKv(), [], { version: 1 }))).findings, 'GGUF_UNSUPPORTED'));
  assert.ok(has((await scan(file(ggufModelKv(), [], { version: 4 }))).findings, 'GGUF_UNSUPPORTED'));
  assert.ok(aboveInfo((await scan(file(ggufModelKv(), [], { version: 0 }))).findings).length > 0);
  assert.ok(has((await scanBytes(Buffer.from('GGUX and more bytes'), 'm.gguf')).findings, 'GGUF_MALFORMED'));
});

test('a header past the byte limit is reported, and tensor data is never needed', async () => {
  const kv: [string, GgufValue][] = [['tokenizer.ggml.tokens', { t: 'arr', of: 'str', items: Array.from({ length: 5000 }, (_, i) => ({ t: 'str', v: `token-${i}` })) }]];
  const r = await scan(file(kv, []), { maxBytes: 4096 });
  assert.ok(has(r.findings, 'GGUF_HEADER_TOO_LARGE', 'suspicious'));
  // A header whose tensors claim far more data than the 100-byte tail: found without reading it.
  const { header } = gguf(ggufModelKv(), [{ name: 'w', dims: [1 << 20, 1024], type: 0 }], { headerOnly: true });
  const m = await messages(header);
  assert.ok(m.some((x) => /outside the/.test(x)));
});

test('the ggml type table matches the block layouts of ggml-common.h', () => {
  assert.deepEqual(GGML_TYPES[2], ['Q4_0', 32, 18]);
  assert.deepEqual(GGML_TYPES[12], ['Q4_K', 256, 144]);
  assert.deepEqual(GGML_TYPES[14], ['Q6_K', 256, 210]);
  assert.deepEqual(GGML_TYPES[23], ['IQ4_XS', 256, 136]);
  assert.deepEqual(GGML_TYPES[39], ['MXFP4', 32, 17]);
  for (const removed of [4, 5, 31, 32, 33, 36, 37, 38]) assert.equal(GGML_TYPES[removed], undefined);
});
