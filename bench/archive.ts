/**
 * Archive scanning cost: the scanner reads headers, not tensor data, so the time to scan a
 * PyTorch-layout zip must not grow with its size.
 *
 *   npx node bench/archive.ts            # 4 GiB sparse PyTorch zip + 10,000-member zips
 *   npx node bench/archive.ts --keep     # keep the generated files in the temp folder
 *
 * Prints JSON: per case the file size, members, median scan time over several runs (through
 * scanBlob, as the CLI scans), and the bytes actually read from the file.
 */
import { CountingBlob } from '../test/counting-blob.ts';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ZipWriter, type ZipEntrySpec } from '../test/corpus/zip-writer.ts';
import { FileBlob } from '../src/scan/blob.ts';
import { scanBlob } from '../src/scan/context.ts';

const keep = process.argv.includes('--keep');
const dir = mkdtempSync(join(tmpdir(), 'perimeter-bench-archive-'));
const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
/** A small pickle like torch.save's data.pkl: a dict of persistent-id tensors, hand-assembled. */
const DATA_PKL = Buffer.from('\x80\x02}q\x00(X\x01\x00\x00\x00wq\x01X\x01\x00\x00\x00bq\x02u.', 'latin1');


/** Writes a zip to disk through positional writes; sparse members become holes. */
function writeZip(path: string, entries: ZipEntrySpec[]): number {
  const fd = openSync(path, 'w');
  try {
    const w = new ZipWriter((buf, at) => {
      writeSync(fd, buf, 0, buf.length, at);
    });
    for (const e of entries) w.add(e);
    const size = w.finish({ zip64End: true });
    return size;
  } finally {
    closeSync(fd);
  }
}

async function timeScan(path: string, runs: number): Promise<{ medianMs: number; bytesRead: number; findings: string[] }> {
  const times: number[] = [];
  let bytesRead = 0;
  let findings: string[] = [];
  for (let i = 0; i < runs; i++) {
    const file = new FileBlob(path);
    const blob = new CountingBlob(file);
    const t0 = process.hrtime.bigint();
    const state = await scanBlob(blob, path);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    file.close();
    bytesRead = blob.bytesRead;
    findings = [...new Set(state.findings.map((f) => f.ruleId))];
  }
  times.sort((a, b) => a - b);
  return { medianMs: Math.round(times[times.length >> 1]! * 100) / 100, bytesRead, findings };
}

async function main(): Promise<void> {
  const results: Record<string, unknown> = {};
  try {
    // 1. PyTorch layout, 4 GiB of stored tensor storages (64 x 64 MiB), written sparse.
    const torchPath = join(dir, 'model-4g.pt');
    const storages = 64;
    const torchEntries: ZipEntrySpec[] = [
      { name: 'archive/data.pkl', data: DATA_PKL },
      { name: 'archive/byteorder', data: 'little' },
      ...Array.from({ length: storages }, (_, i) => ({ name: `archive/data/${i}`, sparseSize: (4 * GiB) / storages, zip64: true })),
      { name: 'archive/version', data: '3\n', zip64: true },
    ];
    let t0 = Date.now();
    const torchSize = writeZip(torchPath, torchEntries);
    const writeMs = Date.now() - t0;
    results.torchZip4GiB = { fileBytes: torchSize, members: torchEntries.length, writeMs, ...(await timeScan(torchPath, 7)) };

    // 2. The same layout at 64 MiB: the scan time should not change with size.
    const smallTorch = join(dir, 'model-64m.pt');
    writeZip(smallTorch, torchEntries.map((e) => (e.sparseSize ? { ...e, sparseSize: MiB } : e)));
    results.torchZip64MiB = { ...(await timeScan(smallTorch, 7)) };

    // 3. 10,000 small stored members, and 10,000 small deflated members.
    for (const method of [0, 8]) {
      const path = join(dir, `small-${method}.zip`);
      const entries: ZipEntrySpec[] = Array.from({ length: 10_000 }, (_, i) => ({ name: `files/${i}.json`, data: `{"id": ${i}, "pad": "${'x'.repeat(100)}"}`, method }));
      t0 = Date.now();
      const size = writeZip(path, entries);
      results[method === 0 ? 'members10kStored' : 'members10kDeflated'] = { fileBytes: size, members: entries.length, writeMs: Date.now() - t0, ...(await timeScan(path, 3)) };
    }
  } finally {
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
  console.log(JSON.stringify({ node: process.version, dir: keep ? dir : undefined, results }, null, 2));
}

await main();
