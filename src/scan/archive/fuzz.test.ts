/**
 * Byte-level fuzzing of the archive readers: generated zips, tars, gzips and 7z/xz archives are
 * mutated (bytes overwritten, 32-bit fields saturated, cut short, junk inserted) and scanned.
 * Nothing may escape but a coded timeout; every scan ends in time and within the byte budget.
 * PERIMETER_FUZZ_RUNS sets the number of runs (default 300; 7z gets a tenth of them).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { make7z } from '../../../test/corpus/sevenzip-writer.ts';
import { makeTar } from '../../../test/corpus/tar-writer.ts';
import { makeZip, torchZipEntries } from '../../../test/corpus/zip-writer.ts';
import { isPerimeterError } from '../../errors/errors.ts';
import { BufferBlob } from '../blob.ts';
import type { FormatScanner } from '../types.ts';
import { gzipScanner } from './gzip.ts';
import { sevenZipScanner } from './sevenzip.ts';
import { tarScanner } from './tar.ts';
import { EVIL_PICKLE, RecordingContext } from './test-context.ts';
import { zipScanner } from './zip.ts';

const RUNS = Number(process.env.PERIMETER_FUZZ_RUNS ?? 300);
const MiB = 1024 * 1024;
const LIMITS = { maxBytes: 4 * MiB, maxTotalBytes: 16 * MiB, maxMembers: 2000, timeoutMs: 10_000 };
const lorem = Buffer.from('the quick brown fox jumps over the lazy dog\n'.repeat(200));

const ZIPS = [
  makeZip(torchZipEntries(EVIL_PICKLE, [Buffer.alloc(300), lorem]), { zip64End: true }),
  makeZip([{ name: 'a/x.pkl', data: EVIL_PICKLE, method: 8 }, { name: 'a/y', data: lorem, method: 8, zip64: true }, { name: 'a/z', data: lorem, descriptor: true }]),
  makeZip([{ name: 'a/x.pkl', data: EVIL_PICKLE, method: 8, descriptor: true }, { name: 'b', data: lorem }], { noCentral: true }),
  makeZip([{ name: 'k', data: Buffer.alloc(2 * MiB), method: 8 }, { name: 'k2', sameLocalAs: 0 }, { name: 'l', data: 'x', unixMode: 0o120777 }]),
  makeZip([{ name: 'in.zip', data: makeZip([{ name: 'p.pkl', data: EVIL_PICKLE }]), method: 8 }]),
];
const TARS = [
  makeTar([{ name: 'pickle', data: EVIL_PICKLE }, { name: 'storages', data: lorem }, { name: 'l', type: '2', linkName: '../x' }]),
  makeTar([{ name: 'x'.repeat(150), data: EVIL_PICKLE }, { name: 'y'.repeat(130), data: lorem, longName: 'pax' }, { name: 'b', data: EVIL_PICKLE, base256: true }]),
];
const GZIPS = [gzipSync(EVIL_PICKLE), Buffer.concat([gzipSync(lorem), gzipSync(makeTar([{ name: 'p', data: EVIL_PICKLE }]))])];

type Mutation = { kind: 'set'; at: number; byte: number } | { kind: 'sat'; at: number } | { kind: 'cut'; at: number } | { kind: 'insert'; at: number; bytes: Uint8Array };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('sat' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
);

function mutate(base: Buffer, muts: Mutation[]): Buffer {
  let b = Buffer.from(base);
  for (const m of muts) {
    if (b.length === 0) break;
    const at = m.at % b.length;
    if (m.kind === 'set') b[at] = m.byte;
    else if (m.kind === 'sat') b.fill(0xff, at, Math.min(b.length, at + 4));
    else if (m.kind === 'cut') b = b.subarray(0, at);
    else b = Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)]);
  }
  return b;
}

async function survives(scanner: FormatScanner, data: Buffer, name: string): Promise<void> {
  const ctx = new RecordingContext({ name, limits: LIMITS, readCap: 4096 });
  const t0 = Date.now();
  try {
    await scanner.scan(new BufferBlob(data), ctx);
  } catch (e) {
    if (!isPerimeterError(e, 'PERIM_E_SCAN_TIMEOUT')) throw e;
  }
  assert.ok(Date.now() - t0 < LIMITS.timeoutMs + 2000, 'scan overran its time budget');
  assert.ok(ctx.consumed <= LIMITS.maxTotalBytes + MiB, `inflated ${ctx.consumed}`);
  assert.ok(ctx.members.length <= 2 * LIMITS.maxMembers);
  assert.ok(process.memoryUsage().heapUsed < 1024 * MiB, 'heap over 1 GiB');
}

function fuzz(scanner: FormatScanner, bases: Buffer[], name: string, runs: number): Promise<void> {
  return fc.assert(
    fc.asyncProperty(fc.nat({ max: bases.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 6 }), async (i, muts) => {
      await survives(scanner, mutate(bases[i]!, muts), name);
    }),
    { numRuns: runs },
  );
}

describe('fuzzing the archive readers', () => {
  it(`zip survives ${RUNS} mutated archives`, () => fuzz(zipScanner, ZIPS, 'model.pt', RUNS));
  it(`tar survives ${RUNS} mutated archives`, () => fuzz(tarScanner, TARS, 'model.tar', RUNS));
  it(`gzip survives ${RUNS} mutated streams`, () => fuzz(gzipScanner, GZIPS, 'model.pkl.gz', RUNS));
  it(`7z and xz survive ${Math.ceil(RUNS / 10)} mutated archives each`, async () => {
    const sevens = [await make7z({ 'a/evil.pkl': EVIL_PICKLE, 'b.txt': lorem })];
    const xzs = [await make7z({ 'm.pkl': Buffer.concat([EVIL_PICKLE, lorem]) }, { type: 'xz' })];
    await fuzz(sevenZipScanner, sevens, 'model.7z', Math.ceil(RUNS / 10));
    await fuzz(sevenZipScanner, xzs, 'model.pkl.xz', Math.ceil(RUNS / 10));
  });
});
