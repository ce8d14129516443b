import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BufferBlob } from '../blob.ts';
import { scanBlob } from '../context.ts';
import { runStream } from './exec.ts';
import { FAST_PATH_MIN_BYTES, pureDataPickleEnd } from './fastpath.ts';
import { MAX_MEMO, MAX_STACK } from './machine.ts';
import { StreamReader } from './reader.ts';
import { ATTACKS } from '../../../test/corpus/pickle-attacks.ts';
import { dumps, float } from '../../../test/corpus/pickle-writer.ts';

const LIMITS = { maxOpcodes: 50_000_000, maxBytes: 1 << 30, maxStack: MAX_STACK, maxMemo: MAX_MEMO };
const bigData = (n = 5000) => Array.from({ length: n }, (_, i) => ({ id: i, name: `item${i}`, v: float(i / 3), tags: ['a', `t${i % 5}`], ok: i % 2 === 0 }));

test('a large pure-data pickle is proven by the fast path, ending where the full executor ends', () => {
  for (const protocol of [2, 3, 4, 5]) {
    const data = dumps(bigData(), protocol);
    assert.ok(data.length > FAST_PATH_MIN_BYTES);
    const fast = pureDataPickleEnd(new BufferBlob(data), 0, LIMITS);
    assert.ok(fast, `protocol ${protocol}`);
    const full = runStream(new StreamReader(new BufferBlob(data), 0, data.length), { maxOpcodes: 1e9, maxBytes: data.length, probe: false, policy: { torchscript: false }, tick: () => {}, depth: 0 });
    assert.equal(fast.end, full.end);
    assert.equal(fast.opcodes, full.opcodes);
    assert.equal(full.globals.length, 0);
  }
});

test('every attack defers to the full executor, even buried after 64 KiB of data', async () => {
  for (const [name, make] of Object.entries(ATTACKS)) {
    if (typeof make !== 'function' || make.length > 0) continue;
    const attack = (make as () => Buffer)();
    // The attack's opcodes (without PROTO and STOP) placed as the last item of a big list.
    const big = dumps(bigData(), 2);
    const body = attack[0] === 0x80 ? attack.subarray(2) : attack;
    const spliced = Buffer.concat([big.subarray(0, big.length - 1), body]);
    assert.equal(pureDataPickleEnd(new BufferBlob(spliced), 0, LIMITS), undefined, name);
  }
  const r = await scanBlob(new BufferBlob(Buffer.concat([dumps(bigData(), 4), ATTACKS.osSystemGlobal()])), 'two.pkl');
  assert.ok(r.findings.some((f) => f.ruleId === 'PICKLE_DANGEROUS_GLOBAL'), 'a malicious pickle after a large data pickle is found');
});

test('structural errors defer, so the full executor reports them', async () => {
  const data = dumps(bigData(), 2);
  // Replace the final STOP with APPEND onto... the outer list is fine, so use SETITEM on a list instead.
  const broken = Buffer.concat([data.subarray(0, data.length - 1), Buffer.from('NNs.', 'latin1')]);
  assert.equal(pureDataPickleEnd(new BufferBlob(broken), 0, LIMITS), undefined);
  const r = await scanBlob(new BufferBlob(broken), 'broken.pkl');
  assert.ok(r.findings.some((f) => f.ruleId === 'PICKLE_MALFORMED'));
  const truncated = data.subarray(0, data.length - 100);
  assert.equal(pureDataPickleEnd(new BufferBlob(truncated), 0, LIMITS), undefined);
  assert.ok((await scanBlob(new BufferBlob(truncated), 't.pkl')).findings.some((f) => f.ruleId === 'PICKLE_MALFORMED'));
});

test('property: whenever the fast path accepts, the full executor finds nothing and ends at the same offset', () => {
  const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
    v: fc.oneof(
      { depthSize: 'small' },
      fc.integer(), fc.string(), fc.boolean(), fc.constant(null), fc.double({ noNaN: true }).map(float),
      fc.array(tie('v'), { maxLength: 5 }),
      fc.dictionary(fc.string({ maxLength: 6 }), tie('v'), { maxKeys: 5 }),
    ),
  })).v;
  fc.assert(
    fc.property(fc.array(value, { minLength: 1, maxLength: 40 }), fc.constantFrom(2, 3, 4, 5), fc.nat(), fc.nat(255), (items, protocol, pos, byte) => {
      const pad = 'x'.repeat(FAST_PATH_MIN_BYTES);
      const data = Buffer.from(dumps([pad, ...items], protocol));
      data[pos % data.length] = byte; // one mutated byte: the fast path must agree or defer
      const fast = pureDataPickleEnd(new BufferBlob(data), 0, LIMITS);
      if (!fast) return;
      const full = runStream(new StreamReader(new BufferBlob(data), 0, data.length), { maxOpcodes: 1e9, maxBytes: data.length, probe: false, policy: { torchscript: false }, tick: () => {}, depth: 0 });
      assert.equal(full.stop, undefined, `full executor stopped: ${full.stop?.message}`);
      assert.equal(full.end, fast.end);
      assert.equal(full.globals.length + full.events.length, 0);
    }),
    { numRuns: Number(process.env.PERIMETER_FUZZ_RUNS ?? 300) },
  );
});
