/**
 * Fuzzing the format scanners: byte mutations of generated safetensors, GGUF, NumPy, ONNX,
 * SavedModel and HDF5 files, and random template strings. Every input must end in coded findings
 * (no SCAN_UNREADABLE, which is what an escaped exception becomes), quickly, without memory
 * growth. Budget: PERIMETER_FUZZ_RUNS (default 300).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { gguf, GGUF_TENSORS, ggufModelKv, hdf5Like, keras2Config, npy, safetensors, SMALL_TENSORS } from '../../../test/corpus/format-writers.ts';
import { BENIGN_ONNX, BENIGN_TF_NODES, onnxModel, savedModel } from '../../../test/corpus/protobuf-writer.ts';
import { BENIGN_TEMPLATES } from '../../../test/corpus/templates.ts';
import { BufferBlob } from '../blob.ts';
import { scanBlob } from '../context.ts';
import { RULES } from '../rules.ts';
import { analyzeTemplate } from './template.ts';

const RUNS = Number(process.env.PERIMETER_FUZZ_RUNS ?? 300);
const MAX_MS = 500;

/** Byte-level mutations, mostly inside the first `focus` bytes (the headers): flips, deletions, insertions, cuts. */
const mutated = (seed: Buffer, focus: number) =>
  fc.array(fc.tuple(fc.nat(), fc.nat(255), fc.constantFrom('flip', 'flip', 'del', 'ins', 'cut', 'len'), fc.boolean()), { minLength: 1, maxLength: 6 }).map((ops) => {
    let b = Buffer.from(seed);
    for (const [pos, byte, op, wide] of ops) {
      const range = wide ? b.length : Math.min(b.length, focus);
      const i = range ? pos % range : 0;
      if (op === 'flip') b[i] = byte;
      else if (op === 'del') b = Buffer.concat([b.subarray(0, i), b.subarray(i + 1)]);
      else if (op === 'ins') b = Buffer.concat([b.subarray(0, i), Buffer.from([byte]), b.subarray(i)]);
      else if (op === 'cut') b = b.subarray(0, i);
      else if (i + 8 <= b.length) b.writeBigUInt64LE(BigInt(byte) << BigInt((pos % 8) * 8), i); // plausible-looking lengths
    }
    return b;
  });

async function checkScan(bytes: Buffer, name: string): Promise<void> {
  const t0 = performance.now();
  const state = await scanBlob(new BufferBlob(bytes), name, { timeoutMs: 10_000 });
  const ms = performance.now() - t0;
  const escaped = state.findings.filter((f) => f.ruleId === 'SCAN_UNREADABLE' || f.ruleId === 'SCAN_TIMEOUT');
  assert.deepEqual(escaped, [], `${name}: uncoded failure`);
  for (const f of state.findings) assert.ok(f.ruleId in RULES, f.ruleId);
  assert.ok(ms < MAX_MS, `${name}: scan took ${ms.toFixed(0)} ms`);
}

const seeds: [string, Buffer, number][] = [
  ['model.safetensors', safetensors(SMALL_TENSORS, { metadata: { format: 'pt', chat_template: '{{ messages[0].content }}' } }), 600],
  ['model.gguf', gguf(ggufModelKv(BENIGN_TEMPLATES.INST_TURNS, 16), GGUF_TENSORS).bytes, 4096],
  ['a.npy', npy('<f4', [2, 2], { data: Buffer.alloc(16) }), 128],
  ['model.onnx', onnxModel(BENIGN_ONNX), 2048],
  ['saved_model.pb', savedModel(BENIGN_TF_NODES), 2048],
  ['model.h5', hdf5Like(keras2Config(true), 1024), 1024],
];

for (const [name, seed, focus] of seeds) {
  test(`fuzz: mutated ${name} never escapes as an exception`, async () => {
    await fc.assert(fc.asyncProperty(mutated(seed, focus), (b) => checkScan(b, name)), { numRuns: RUNS });
  });
}

const JINJA_BITS = ['{{', '}}', '{%', '%}', '{#', '#}', '{%-', '-%}', "'", '"', '\\', '\\x5f', '(', ')', '[', ']', '{', '}', '.', ',', ':', '|', '~', '+', '*', '**', '%', '_', '__class__', 'for', 'in', 'endfor', 'if', 'else', 'endif', 'set', '=', ' ', 'x', 'messages', '1', '9', 'range', 'attr', 'join', 'format', "'%c'", 'raw', 'endraw', 'is', 'not', 'macro', 'call', 'namespace', '\n'];

test('fuzz: random templates are analysed without exceptions, quickly', () => {
  const template = fc.oneof(fc.array(fc.constantFrom(...JINJA_BITS), { maxLength: 200 }).map((a) => a.join('')), fc.string({ maxLength: 400 }), fc.tuple(fc.constantFrom(...Object.values(BENIGN_TEMPLATES)), fc.nat(), fc.string({ maxLength: 8 })).map(([t, i, s]) => t.slice(0, i % t.length) + s + t.slice(i % t.length)));
  fc.assert(
    fc.property(template, (src) => {
      const t0 = performance.now();
      const issues = analyzeTemplate(src);
      assert.ok(performance.now() - t0 < 250, 'template analysis took over 250 ms');
      for (const i of issues) assert.ok(i.ruleId in RULES, i.ruleId);
    }),
    { numRuns: RUNS * 3 },
  );
});

test('fuzz: memory stays bounded', () => {
  const rss = process.memoryUsage().rss;
  assert.ok(rss < 1024 * 1024 * 1024, `RSS ${Math.round(rss / 1048576)} MiB after fuzzing`);
});
