/**
 * Pickle scanning throughput against a same-run Python baseline:
 *   file      = pickle.dumps([{'id': i, 'name': f'item{i}', 'score': i*0.5} for i in range(N)], protocol=4),
 *               written by our own pickle writer (byte-identical to CPython's for protocols 0-3;
 *               protocol 4 differs only in where frames split)
 *   perimeter = scanBlob on the file from disk (warm page cache), best of 5
 *   baseline  = python3 walking the same file with pickletools.genops (what picklescan is built on,
 *               before picklescan's own per-opcode work), best of 5
 * The issue's target: >= 50 MB/s.
 *
 *   npx node bench/pickle.ts                # N = 120000
 *   npx node bench/pickle.ts --items 220000 --protocol 2
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BufferBlob, FileBlob } from '../src/scan/blob.ts';
import { scanBlob } from '../src/scan/context.ts';
import { runStream } from '../src/scan/pickle/exec.ts';
import { StreamReader } from '../src/scan/pickle/reader.ts';
import { dumps, float } from '../test/corpus/pickle-writer.ts';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const items = arg('--items', 120_000);
const protocol = arg('--protocol', 4);
const RUNS = 5;

const dir = mkdtempSync(join(tmpdir(), 'perimeter-bench-pickle-'));
const path = join(dir, 'list.pkl');
try {
  const data = dumps(Array.from({ length: items }, (_, i) => ({ id: i, name: `item${i}`, score: float(i * 0.5) })), protocol);
  writeFileSync(path, data);
  const opcodes = runStream(new StreamReader(new BufferBlob(data), 0, data.length), {
    maxOpcodes: Infinity, maxBytes: data.length, probe: false, policy: { torchscript: false }, tick: () => {}, depth: 0,
  }).opcodes;

  const times: number[] = [];
  for (let i = 0; i < RUNS + 1; i++) {
    const blob = new FileBlob(path);
    const t = process.hrtime.bigint();
    const st = await scanBlob(blob, path);
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    blob.close();
    if (st.findings.length) throw new Error(`benchmark file should scan clean: ${JSON.stringify(st.findings)}`);
    if (i > 0) times.push(ms); // the first run warms the JIT and the page cache
  }
  const best = Math.min(...times);

  const py = spawnSync('python3', ['-c', `
import json, pickletools, sys, time
path, runs = sys.argv[1], int(sys.argv[2])
best = None
for _ in range(runs):
    t = time.perf_counter()
    with open(path, 'rb') as f:
        n = sum(1 for _ in pickletools.genops(f.read()))
    dt = time.perf_counter() - t
    best = dt if best is None else min(best, dt)
print(json.dumps({"best_ms": best * 1000, "opcodes": n, "python": sys.version.split()[0]}))
`, path, String(RUNS)], { encoding: 'utf8' });
  const base = py.status === 0 ? (JSON.parse(py.stdout) as { best_ms: number; opcodes: number; python: string }) : undefined;

  const MBps = (ms: number): number => Number((data.length / 1e6 / (ms / 1e3)).toFixed(1));
  console.log(JSON.stringify({
    file: { items, protocol, bytes: data.length, MB: Number((data.length / 1e6).toFixed(2)), opcodes },
    perimeter: { best_ms: Number(best.toFixed(1)), MBps: MBps(best), runs: times.map((t) => Number(t.toFixed(1))), node: process.version },
    python_genops: base ? { best_ms: Number(base.best_ms.toFixed(1)), MBps: MBps(base.best_ms), opcodes: base.opcodes, python: base.python } : { error: py.stderr || 'python3 not available' },
    speedup: base ? Number((base.best_ms / best).toFixed(1)) : null,
    target_MBps: 50,
    meets_target: MBps(best) >= 50,
  }, null, 2));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
