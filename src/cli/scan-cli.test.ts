/** `perimeter scan` as a user runs it: exit codes, formats, help. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTree, tempDir } from '../../test/helpers.ts';
import { ATTACKS } from '../../test/corpus/pickle-attacks.ts';
import { SMALL_TENSORS, safetensors } from '../../test/corpus/format-writers.ts';
import { makeZip, torchZipEntries } from '../../test/corpus/zip-writer.ts';

const BIN = new URL('../../bin/perimeter.js', import.meta.url).pathname;
const cli = (args: string[], cwd?: string) => {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd, env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

test('scan: clean folder exits 0; a payload exits 1 and names the member; a missing path exits 2', () => {
  const clean = makeTree({ 'model.safetensors': safetensors(SMALL_TENSORS), 'config.json': '{"model_type": "llama"}' });
  const ok = cli(['scan', clean]);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /2 clean; threshold suspicious: PASS/);

  const bad = makeTree({ 'pytorch_model.bin': makeZip(torchZipEntries(ATTACKS.pipMain())) });
  const r = cli(['scan', bad]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /✘ dangerous\s+.*pytorch_model\.bin/);
  assert.match(r.stdout, /PICKLE_DANGEROUS_GLOBAL\s+archive\/data\.pkl @\d+: .*\[pip\.main/);

  assert.equal(cli(['scan', join(tempDir(), 'missing.pt')]).code, 2);
  assert.equal(cli(['scan', clean, '--format', 'xml']).code, 2);
  assert.equal(cli(['scan', clean, '--max-bytes', 'lots']).code, 2);
});

test('scan --format json and --format sarif --output', () => {
  const dir = makeTree({ 'evil.pkl': ATTACKS.osSystemGlobal(), 'ok.safetensors': safetensors(SMALL_TENSORS) });
  const j = JSON.parse(cli(['scan', dir, '--format', 'json']).stdout);
  assert.equal(j.verdict, 'dangerous');
  assert.equal(j.files.length, 2);
  const evil = j.findings.find((f: { ruleId: string }) => f.ruleId === 'PICKLE_DANGEROUS_GLOBAL');
  assert.match(evil.evidence, /^os\.system/);
  assert.ok(evil.remediation.length > 20);

  const out = join(tempDir(), 'scan.sarif');
  const s = cli(['scan', dir, '--format', 'sarif', '--output', out]);
  assert.equal(s.code, 1);
  const sarif = JSON.parse(readFileSync(out, 'utf8'));
  assert.equal(sarif.version, '2.1.0');
  assert.equal(sarif.runs[0].results[0].ruleId, 'PICKLE_DANGEROUS_GLOBAL');
  assert.equal(sarif.runs[0].results[0].level, 'error');
  assert.match(s.stderr, /dangerous/, 'a human summary still goes to stderr');
});

test('scan --strict fails on low findings that pass by default', () => {
  const dir = makeTree({ 'modeling_custom.py': 'import torch\nclass Model(torch.nn.Module):\n    pass\n', 'config.json': '{"auto_map": {"AutoModel": "modeling_custom.Model"}}' });
  const normal = cli(['scan', dir]);
  assert.equal(normal.code, 0, normal.stdout);
  assert.match(normal.stdout, /low/);
  assert.equal(cli(['scan', dir, '--strict']).code, 1);
});

test('scan --help says what the scanner cannot promise', () => {
  const h = cli(['scan', '--help']).stdout;
  assert.match(h, /heuristic/);
  assert.match(h, /never reported clean/);
  assert.match(h, /safetensors/);
});
