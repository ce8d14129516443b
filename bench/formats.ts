/**
 * Header-only scanning, measured: a 100 GB sparse safetensors file (2,000 tensors) and a GGUF file
 * with a real-sized vocabulary (152k tokens and merges, 400 Q4_K tensors, ~30 GB sparse data), each
 * scanned end to end through scanBlob. Target: milliseconds, independent of the payload size.
 *
 *   npx node bench/formats.ts          # prints JSON; the sparse files are removed afterwards
 */
import { closeSync, mkdtempSync, openSync, rmSync, ftruncateSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileBlob } from '../src/scan/blob.ts';
import { scanBlob } from '../src/scan/context.ts';
import { gguf, ggufModelKv, safetensorsHeader, type GgufTensor, type GgufValue } from '../test/corpus/format-writers.ts';

const dir = mkdtempSync(join(tmpdir(), 'perimeter-bench-formats-'));

function sparse(path: string, header: Buffer, size: number): void {
  const fd = openSync(path, 'w');
  writeSync(fd, header, 0, header.length, 0);
  ftruncateSync(fd, size);
  closeSync(fd);
}

async function timeScan(path: string, name: string, runs = 5): Promise<{ ms: { best: number; median: number }; findings: string[]; formats: Record<string, number> }> {
  const times: number[] = [];
  let last: Awaited<ReturnType<typeof scanBlob>> | undefined;
  for (let i = 0; i < runs; i++) {
    const blob = new FileBlob(path);
    const t = performance.now();
    last = await scanBlob(blob, name);
    times.push(performance.now() - t);
    blob.close();
  }
  times.sort((a, b) => a - b);
  return { ms: { best: +times[0]!.toFixed(2), median: +times[Math.floor(times.length / 2)]!.toFixed(2) }, findings: last!.findings.map((f) => `${f.ruleId}:${f.severity}`), formats: Object.fromEntries(last!.formats) };
}

try {
  // safetensors: 2,000 BF16 tensors of 5000 x 5000 = 50 MB each, 100 GB of (sparse) data.
  const tensors = Array.from({ length: 2000 }, (_, i) => ({ name: `model.layers.${Math.floor(i / 8)}.mlp.proj_${i % 8}.weight`, dtype: 'BF16', shape: [5000, 5000] }));
  const st = safetensorsHeader(tensors, { metadata: { format: 'pt' } });
  const stPath = join(dir, 'model.safetensors');
  sparse(stPath, st.header, st.header.length + st.dataBytes);
  const stResult = await timeScan(stPath, 'model.safetensors');

  // GGUF: a Qwen-sized vocabulary and merges, token types and scores, 400 Q4_K tensors.
  const vocab = 152_064;
  const kv: [string, GgufValue][] = ggufModelKv(undefined, vocab);
  kv.push(['tokenizer.ggml.merges', { t: 'arr', of: 'str', items: Array.from({ length: 151_387 }, (_, i) => ({ t: 'str', v: `t${i % 977} k${i}` })) }]);
  kv.push(['tokenizer.ggml.scores', { t: 'arr', of: 'f32', items: Array.from({ length: vocab }, (_, i) => ({ t: 'f32', v: -i })) }]);
  const kvDedup = kv.filter(([k], i) => kv.findLastIndex(([k2]) => k2 === k) === i);
  const gt: GgufTensor[] = Array.from({ length: 400 }, (_, i) => ({ name: `blk.${Math.floor(i / 8)}.ffn_${i % 8}.weight`, dims: [16384, 8192], type: 12 }));
  const g = gguf(kvDedup, gt, { headerOnly: true });
  const gPath = join(dir, 'model.gguf');
  sparse(gPath, g.header, g.size);
  const gResult = await timeScan(gPath, 'model.gguf');

  console.log(
    JSON.stringify(
      {
        safetensors: { fileBytes: st.header.length + st.dataBytes, headerBytes: st.header.length, tensors: tensors.length, ...stResult },
        gguf: { fileBytes: g.size, headerBytes: g.header.length, vocab, tensors: gt.length, ...gResult },
        node: process.version,
      },
      null,
      2,
    ),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
