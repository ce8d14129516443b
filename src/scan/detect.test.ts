import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BufferBlob } from './blob.ts';
import { scanBlob } from './context.ts';
import { detectFormat } from './detect.ts';

const detect = (b: Buffer | string, name = 'x') => detectFormat(new BufferBlob(Buffer.isBuffer(b) ? b : Buffer.from(b, 'latin1')), name);

test('formats are detected by content, not by extension', () => {
  assert.equal(detect('\x80\x02K\x01.', 'weights.safetensors'), 'pickle');
  assert.equal(detect('PK\x03\x04rest', 'model.bin'), 'zip');
  assert.equal(detect('GGUF\x03\x00\x00\x00', 'a.bin'), 'gguf');
  assert.equal(detect('\x93NUMPY\x01\x00', 'a.bin'), 'numpy');
  assert.equal(detect('\x1f\x8b\x08\x00', 'a.pt'), 'gzip');
  assert.equal(detect('7z\xbc\xaf\x27\x1c', 'a.pt'), '7z');
});

test('a pickle without PROTO is probed whatever opcode it starts with', () => {
  assert.equal(detect('\x8c\x02os\x8c\x06system\x93.'), 'pickle-probe');
  assert.equal(detect('cos\nsystem\n.'), 'pickle-probe');
  assert.equal(detect('\x80\x02'), 'pickle');
});

test('random binary content without a magic number (raw tensors, tokenizer models) produces no finding above info', async () => {
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 4096 }), async (bytes) => {
      const b = Buffer.from(bytes);
      // Content with a magic number (gzip, zip, PROTO...) claims a format, and failing to parse it
      // is rightly a finding; this property is about content that only looks like a pickle by chance.
      fc.pre(['pickle-probe', 'unknown'].includes(detect(b, 'tensor.raw')));
      const s = await scanBlob(new BufferBlob(b), 'tensor.raw');
      const noisy = s.findings.filter((f) => f.severity !== 'info');
      assert.deepEqual(noisy.map((f) => f.ruleId), [], `first bytes ${b.subarray(0, 8).toString('hex')}`);
    }),
    { numRuns: Number(process.env.PERIMETER_FUZZ_RUNS ?? 300) },
  );
});

test('ordinary text files in model folders stay clean', async () => {
  for (const [name, text] of Object.entries({
    LICENSE: 'copyright 2024 The Authors\nLicensed under the Apache License',
    'vocab.txt': '[PAD]\n[UNK]\na\nb\n',
    'merges.txt': '#version: 0.2\nĠ t\n',
    'notes.md': 'cached results\nsee below\n(1) first\n',
  })) {
    const s = await scanBlob(new BufferBlob(Buffer.from(text)), name);
    assert.deepEqual(s.findings.filter((f) => f.severity !== 'info').map((f) => f.ruleId), [], name);
  }
});
