import { test } from 'node:test';
import assert from 'node:assert/strict';
import { torchscriptCodeScanner } from './code.ts';
import { detectFormat } from '../detect.ts';
import { BufferBlob } from '../blob.ts';
import { has, runScanner, scanBytes } from './test-scan.ts';

const TORCHSCRIPT = `class MyModule(Module):
  __parameters__ = ["weight", ]
  __buffers__ = []
  weight : Tensor
  training : bool
  def forward(self: __torch__.MyModule,
    x: Tensor) -> Tensor:
    _0 = torch.matmul(x, self.weight)
    return torch.relu(_0)
`;

const MODELING = `# coding=utf-8
import torch
from torch import nn
from transformers import PreTrainedModel

class TinyModel(PreTrainedModel):
    def __init__(self, config):
        super().__init__(config)
        self.proj = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, x):
        # os.system("never runs: a comment")
        return self.proj(x)
`;

test('TorchScript code: info when plain, suspicious when it reaches files or processes', async () => {
  assert.equal(detectFormat(new BufferBlob(Buffer.from(TORCHSCRIPT)), 'archive/code/__torch__.py'), 'torchscript-code');
  const plain = await runScanner(torchscriptCodeScanner, Buffer.from(TORCHSCRIPT), 'archive/code/__torch__.py');
  assert.deepEqual(plain.findings.map((f) => f.ruleId), ['CODE_TORCHSCRIPT']);
  assert.equal(plain.findings[0]!.severity, 'info');
  for (const line of ['_1 = torch.ops.aten.from_file("/etc/passwd", None, 100)', '_2 = torch.save(x, "/tmp/out")', '_3 = open("/etc/passwd")', '_4 = __import__("os")', '_5 = torch.ops.myns.save_file(x)']) {
    const r = await runScanner(torchscriptCodeScanner, Buffer.from(TORCHSCRIPT + '    ' + line + '\n'), 'archive/code/__torch__.py');
    assert.ok(has(r.findings, 'CODE_TORCHSCRIPT_IO', 'suspicious'), line);
  }
});

test('loose Python source: low, raised to suspicious with dangerous calls as evidence', async () => {
  const plain = await scanBytes(Buffer.from(MODELING), 'modeling_tiny.py');
  assert.deepEqual(plain.ids, ['CODE_PYTHON_SOURCE']);
  assert.equal(plain.findings[0]!.severity, 'low');
  const cases = ['os.system("curl x | sh")', 'subprocess.run(["id"])', 'exec(base64.b64decode(blob))', 'import requests', 'requests.post(url, data=open(p).read())', 's = socket.socket()', 'pickle.loads(data)', "__import__('os')"];
  for (const c of cases) {
    const r = await scanBytes(Buffer.from(MODELING + c + '\n'), 'modeling_tiny.py');
    assert.equal(r.findings[0]!.severity, 'suspicious', c);
    assert.match(r.findings[0]!.evidence!, /line \d+/);
  }
});
