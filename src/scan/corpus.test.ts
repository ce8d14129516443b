/**
 * The scanner against the labelled corpus (test/corpus/corpus.ts), through the public scanPath:
 * every trick gets its expected verdict and rules; every benign file of every format scans clean.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { scanPath } from './scan.ts';
import { benignFiles, maliciousFiles, writeTree } from '../../test/corpus/corpus.ts';
import { tempDir } from '../../test/helpers.ts';

const root = tempDir('perimeter-corpus-');
const benign = await benignFiles();
const { cases, files } = await maliciousFiles();
writeTree(join(root, 'benign'), benign);
writeTree(join(root, 'malicious'), files);

test('benign set: every format scans clean, zero findings above info', async () => {
  const r = await scanPath(join(root, 'benign'));
  assert.equal(r.files.length, Object.keys(benign).length);
  const noisy = r.findings.filter((f) => f.severity !== 'info');
  assert.deepEqual(noisy.map((f) => `${f.file} ${f.member.join('>')} ${f.ruleId}: ${f.message}`), []);
  assert.equal(r.verdict, 'clean');
  // The formats were really recognised, not skipped as unknown.
  const seen = new Set(r.files.flatMap((f) => Object.keys(f.formats)));
  for (const fmt of ['zip', 'pickle', 'safetensors', 'gguf', 'numpy', 'json', 'hdf5', 'tf-savedmodel', 'onnx', 'gzip', 'tar', '7z']) assert.ok(seen.has(fmt), `format ${fmt} seen`);
});

for (const c of cases) {
  test(`${c.expected}: ${c.trick}`, async () => {
    const r = await scanPath(join(root, 'malicious', c.path));
    assert.equal(r.verdict, c.expected, JSON.stringify(r.findings.map((f) => [f.ruleId, f.severity, f.message])));
    const fired = new Set(r.findings.map((f) => f.ruleId));
    for (const rule of c.rules) assert.ok(fired.has(rule), `${rule} fired (got ${[...fired].join(', ')})`);
    assert.equal(r.failed, true);
  });
}

test('the whole malicious folder fails with every file flagged', async () => {
  const r = await scanPath(join(root, 'malicious'));
  const clean = r.files.filter((f) => f.verdict === 'clean').map((f) => f.file);
  assert.deepEqual(clean, []);
  assert.equal(r.files.length, cases.length);
});
