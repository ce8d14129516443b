/**
 * Fuzzing: mutated corpus files and generated opcode streams never crash the scanner (only coded
 * findings come out, never SCAN_UNREADABLE), never hang, and keep memory bounded.
 * PERIMETER_FUZZ_RUNS sets the number of cases per property (default 300).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BufferBlob } from '../blob.ts';
import { RULES } from '../rules.ts';
import { SEVERITY_RANK, type Finding } from '../types.ts';
import { ATTACKS } from '../../../test/corpus/pickle-attacks.ts';
import { joblibFile, legacyTorchFile, numpyArrayPickle, sklearnLike, torchStateDict } from '../../../test/corpus/pickle-corpus.ts';
import { dumps } from '../../../test/corpus/pickle-writer.ts';
import { runStream } from './exec.ts';
import { OPCODES } from './opcodes.ts';
import { StreamReader } from './reader.ts';
import { scanBytes } from './test-ctx.ts';

const RUNS = Number(process.env.PERIMETER_FUZZ_RUNS ?? 300);
const LIMITS = { maxOpcodes: 20_000, maxBytes: 1 << 20, timeoutMs: 10_000 };
const T = [{ key: 'w', shape: [4, 4] }, { key: 'b', shape: [4], storage: 'HalfStorage' }];

const SEEDS: Buffer[] = [
  ...[2, 3, 4, 5].map((p) => torchStateDict(T, p)),
  numpyArrayPickle([2, 3], 'f4', 2), numpyArrayPickle([3], 'i8', 4, true), numpyArrayPickle([2], 'f8', 0),
  joblibFile([{ shape: [3] }, { shape: [2], spec: 'O8', objects: ['x'] }]), legacyTorchFile([{ key: 'w', shape: [3] }]), sklearnLike(),
  dumps({ a: [1, 2.5, 'x', null, true], b: { c: Buffer.from('zz') } }, 0), dumps([1, 'two', 3], 1),
  ...Object.values(ATTACKS).filter((f) => f.length === 0).map((f) => (f as () => Buffer)()),
];

async function checkScan(buf: Buffer): Promise<Finding[]> {
  const t = performance.now();
  const fs = await scanBytes(buf, 'fuzz.pkl', LIMITS);
  const ms = performance.now() - t;
  assert.ok(ms < 5000, `scan took ${ms} ms`);
  for (const f of fs) {
    assert.ok(RULES[f.ruleId], `unknown rule ${f.ruleId}`);
    assert.ok(f.severity in SEVERITY_RANK);
    assert.notEqual(f.ruleId, 'SCAN_UNREADABLE', `scanner threw: ${f.message}`);
    assert.notEqual(f.ruleId, 'SCAN_TIMEOUT');
  }
  return fs;
}

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('opcode' as const), at: fc.nat(), byte: fc.constantFrom(...OPCODES.filter((o) => o).map((o) => o!.code)) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 16 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 32 }) }),
  fc.record({ kind: fc.constant('dup' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('splice' as const), at: fc.nat(), seed: fc.nat(), from: fc.nat(), len: fc.integer({ min: 1, max: 128 }) }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

function mutate(seed: Buffer, ms: Mutation[]): Buffer {
  let b = Buffer.from(seed);
  for (const m of ms) {
    const at = b.length ? m.at % b.length : 0;
    if (m.kind === 'flip' || m.kind === 'opcode') { if (b.length) b[at] = m.byte; }
    else if (m.kind === 'insert') b = Buffer.concat([b.subarray(0, at), Buffer.from(m.bytes), b.subarray(at)]);
    else if (m.kind === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.len)]);
    else if (m.kind === 'dup') b = Buffer.concat([b.subarray(0, at + m.len), b.subarray(at)]);
    else if (m.kind === 'truncate') b = b.subarray(0, at);
    else {
      const s = SEEDS[m.seed % SEEDS.length]!;
      const from = s.length ? m.from % s.length : 0;
      b = Buffer.concat([b.subarray(0, at), s.subarray(from, from + m.len), b.subarray(at)]);
    }
  }
  return b;
}

test('byte mutations of the corpus: only coded findings, no hang', async () => {
  await fc.assert(
    fc.asyncProperty(fc.nat(), fc.array(mutation, { minLength: 1, maxLength: 8 }), async (i, ms) => {
      await checkScan(mutate(SEEDS[i % SEEDS.length]!, ms));
    }),
    { numRuns: RUNS },
  );
});

// Structure-aware: streams of real opcodes with arguments that are plausible, or deliberately not.
const NAMES = ['os', 'system', 'builtins', 'eval', 'torch._utils', '_rebuild_tensor_v2', 'collections', 'OrderedDict', 'numpy', 'dtype', 'joblib.numpy_pickle', 'NumpyArrayWrapper', 'torch.storage', '_load_from_bytes', '_codecs', 'encode', 'f8', 'shape', 'latin1', ''];
const u32 = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32LE(n >>> 0); return b; };
const u64 = (n: number): Buffer => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(n)); return b; };
const token: fc.Arbitrary<Buffer> = fc.oneof(
  fc.constantFrom(...'N()]}tl.d0a2eusb1R\x81\x85\x86\x87\x88\x89\x8f\x90\x91\x92\x93\x94\x97\x98Q'.split('')).map((c) => Buffer.from(c, 'latin1')),
  fc.constantFrom(...NAMES).map((s) => Buffer.concat([Buffer.from([0x8c, Buffer.byteLength(s)]), Buffer.from(s)])),
  fc.constantFrom(...NAMES).map((s) => Buffer.from(`S'${s}'\n`)),
  fc.tuple(fc.constantFrom(...NAMES), fc.constantFrom(...NAMES)).map(([m, n]) => Buffer.from(`c${m}\n${n}\n`)),
  fc.tuple(fc.constantFrom(...NAMES), fc.constantFrom(...NAMES)).map(([m, n]) => Buffer.from(`i${m}\n${n}\n`)),
  fc.integer({ min: 0, max: 300 }).map((k) => Buffer.from([0x71, k & 0xff])), // BINPUT
  fc.integer({ min: 0, max: 300 }).map((k) => Buffer.from([0x68, k & 0xff])), // BINGET
  fc.integer({ min: 0, max: 300 }).map((k) => Buffer.from(`g${k}\n`)),
  fc.integer().map((n) => Buffer.concat([Buffer.from('J'), u32(n)])),
  fc.integer({ min: 0, max: 255 }).map((n) => Buffer.from([0x4b, n])),
  fc.uint8Array({ maxLength: 12 }).map((b) => Buffer.concat([Buffer.from([0x8a, b.length]), Buffer.from(b)])), // LONG1
  fc.oneof(fc.nat(64), fc.constant(0xffffffff)).map((n) => Buffer.concat([Buffer.from('B'), u32(n), Buffer.alloc(Math.min(n, 64), 0x41)])),
  fc.oneof(fc.nat(64), fc.constant(2 ** 40)).map((n) => Buffer.concat([Buffer.from([0x95]), u64(n)])), // FRAME
  fc.integer({ min: 0, max: 70000 }).map((c) => (c < 256 ? Buffer.from([0x82, c]) : Buffer.concat([Buffer.from([0x84]), u32(c)]))), // EXT
  fc.integer({ min: 0, max: 7 }).map((v) => Buffer.from([0x80, v])),
);

test('generated opcode streams: only coded findings, no hang', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(token, { maxLength: 60 }), fc.boolean(), async (toks, proto) => {
      await checkScan(Buffer.concat([proto ? Buffer.from([0x80, 4]) : Buffer.alloc(0), ...toks, Buffer.from('.')]));
    }),
    { numRuns: RUNS },
  );
});

const heapMB = (): number => process.memoryUsage().heapUsed / 2 ** 20;
const direct = (buf: Buffer, extra: object = {}) =>
  runStream(new StreamReader(new BufferBlob(buf), 0, 1 << 30), { maxOpcodes: 50_000_000, maxBytes: 1 << 30, probe: false, policy: { torchscript: false }, tick: () => {}, depth: 0, ...extra });

test('memory and time stay bounded against stack, mark, memo, call-chain and line bombs', () => {
  const before = heapMB();
  const dup = direct(Buffer.concat([Buffer.from('N'), Buffer.alloc(3_000_000, 0x32)]));
  assert.equal(dup.stop?.kind, 'limit');
  assert.match(dup.stop!.message, /stack deeper/);
  const marks = direct(Buffer.alloc(3_000_000, 0x28));
  assert.equal(marks.stop?.kind, 'limit');
  const memo = direct(Buffer.concat([Buffer.alloc(200_000, 0x7d), Buffer.from('\x94'.repeat(50_000), 'latin1')]), { maxMemo: 10_000 });
  assert.equal(memo.stop?.kind, 'limit');
  assert.match(memo.stop!.message, /memo entries/);
  // 500k nested calls of calls: cost stays linear, one finding.
  const chain = direct(Buffer.concat([Buffer.from('cmod\nf\n'), Buffer.from(')R'.repeat(500_000)), Buffer.from('.')]));
  assert.equal(chain.stop, undefined);
  assert.deepEqual(chain.events.map((e) => [e.ruleId, e.evidence]), [['PICKLE_INDIRECT_CALL', 'mod.f(...)']]);
  const line = direct(Buffer.concat([Buffer.from('S'), Buffer.alloc(8 << 20, 0x78)]));
  assert.equal(line.stop?.kind, 'truncated');
  assert.ok(heapMB() - before < 200, `heap grew by ${heapMB() - before} MB`);
});
