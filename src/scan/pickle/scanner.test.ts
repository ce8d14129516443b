import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BufferBlob } from '../blob.ts';
import { scanBlob } from '../context.ts';
import { legacyTorchFile, numpyArrayPickle, sklearnLike, torchStateDict } from '../../../test/corpus/pickle-corpus.ts';
import { PickleWriter, dumps, tuple } from '../../../test/corpus/pickle-writer.ts';
import { CountingBlob, brief, fakeContext, scanBytes, scanMemberBytes } from './test-ctx.ts';
import { isTorchScriptContext, scanPickles } from './scanner.ts';

const TENSORS = [
  { key: 'encoder.layer.0.attention.weight', shape: [16, 16] },
  { key: 'encoder.layer.0.attention.bias', shape: [16], storage: 'HalfStorage' },
  { key: 'lm_head.weight', shape: [8, 4, 2], storage: 'BFloat16Storage' },
  { key: 'position_ids', shape: [1, 512], storage: 'LongStorage' },
];

test('benign torch state_dicts in protocols 2, 3, 4 and 5: zero findings', async () => {
  for (const proto of [2, 3, 4, 5]) {
    const st = await scanBlob(new BufferBlob(torchStateDict(TENSORS, proto)), 'archive/data.pkl');
    assert.deepEqual(st.findings, [], `protocol ${proto}`);
    assert.deepEqual([...st.formats.keys()], ['pickle']);
  }
});

test('legacy torch file: five pickles, raw storage after them is not parsed (clean) and barely read', async () => {
  const tensors = [{ key: 'w', shape: [1024, 1024] }, { key: 'b', shape: [1024] }];
  const buf = legacyTorchFile(tensors); // raw data is 0x80 0x80 ...: a PROTO opcode to a careless parser
  assert.ok(buf.length > 4 * 1024 * 1024);
  const blob = new CountingBlob(new BufferBlob(buf));
  const st = await scanBlob(blob, 'old.pt');
  assert.deepEqual(st.findings, []);
  assert.ok(blob.bytesRead <= 1.1 * 1024 * 1024, `read ${blob.bytesRead} bytes`);
  // Negative: the same raw data after an ordinary (non-legacy) pickle is parsed, and is garbage.
  const notLegacy = Buffer.concat([dumps({ a: 1 }, 2), Buffer.alloc(64, 0x80)]);
  assert.deepEqual(brief(await scanBytes(notLegacy)), ['PICKLE_MALFORMED:suspicious']);
});

test('numpy arrays: numpy 1.x and 2.x module names, protocols 0, 2, 4, 5 (in-band buffer): clean', async () => {
  for (const [proto, np2] of [[0, false], [2, false], [3, false], [4, true], [5, true]] as const) {
    assert.deepEqual(await scanBytes(numpyArrayPickle([3, 4], 'f4', proto, np2)), [], `protocol ${proto}`);
  }
  const w = new PickleWriter(5).proto().global('numpy._core.numeric', '_frombuffer').mark().bin(Buffer.alloc(48), 'BYTEARRAY8');
  w.global('numpy', 'dtype').dump(tuple('f8', false, true)).reduce().dump(tuple(2, 3)).dump('C').tuple().reduce();
  assert.deepEqual(await scanBytes(w.stop().bytes()), []);
});

test('an unknown global (scikit-learn estimator) is suspicious, not dangerous', async () => {
  const fs = await scanBytes(sklearnLike());
  assert.deepEqual(brief(fs), ['PICKLE_UNKNOWN_GLOBAL:suspicious']);
  assert.equal(fs[0]!.evidence, 'sklearn.linear_model._base.LinearRegression via STACK_GLOBAL, called by NEWOBJ');
});

test('opcode limit: PICKLE_LIMIT, dangerous when a payload came before it', async () => {
  const big = dumps(Array.from({ length: 500 }, (_, i) => ({ i })), 4);
  assert.deepEqual(brief(await scanBytes(big, 'a.pkl', { maxOpcodes: 100 })), ['PICKLE_LIMIT:suspicious']);
  assert.deepEqual(await scanBytes(big, 'a.pkl', { maxOpcodes: 100_000 }), []);
  const evil = new PickleWriter(4).proto().mark().global('os', 'system').dump(tuple('id')).reduce().dump(Array.from({ length: 500 }, (_, i) => i)).tuple().stop().bytes();
  assert.deepEqual(brief(await scanBytes(evil, 'a.pkl', { maxOpcodes: 100 })), ['PICKLE_DANGEROUS_GLOBAL:dangerous', 'PICKLE_LIMIT:dangerous']);
});

test('byte limit: a pickle longer than maxBytes stops with PICKLE_LIMIT', async () => {
  const big = dumps({ blob: Buffer.alloc(5000), more: 'x' }, 4);
  const fs = await scanBytes(big, 'a.pkl', { maxBytes: 1000 });
  assert.deepEqual(brief(fs), ['PICKLE_LIMIT:suspicious']);
  assert.match(fs[0]!.message, /byte limit/);
  assert.deepEqual(await scanBytes(big, 'a.pkl', { maxBytes: 10_000 }), []);
});

test('cost follows opcodes: a 64 MiB bytes argument is skipped, not read', async () => {
  const head = new PickleWriter(4, { frames: false }).proto().raw(Buffer.from([0x8e]), (() => { const b = Buffer.alloc(8); b.writeBigUInt64LE(64n << 20n); return b; })()).bytes();
  const buf = Buffer.concat([head, Buffer.alloc(64 << 20), Buffer.from('.')]);
  const blob = new CountingBlob(new BufferBlob(buf));
  const st = await scanBlob(blob, 'big.pkl');
  assert.deepEqual(st.findings, []);
  assert.ok(blob.bytesRead < 2.1 * 1024 * 1024, `read ${blob.bytesRead}`);
});

test('trailing bytes: info with the offset; a protocol 0 pickle appended is analysed', async () => {
  const first = dumps([1, 2, 3], 2);
  const fs = await scanBytes(Buffer.concat([first, Buffer.from('\x00\x01hello')]));
  assert.deepEqual(brief(fs), ['PICKLE_TRAILING_DATA:info']);
  assert.equal(fs[0]!.offset, first.length);
  const text = await scanBytes(Buffer.concat([first, Buffer.from('Not a pickle, just notes')]));
  assert.deepEqual(brief(text), ['PICKLE_TRAILING_DATA:info']);
  const evil = await scanBytes(Buffer.concat([first, Buffer.from("cos\nsystem\n(S'id'\ntR.", 'latin1')]));
  assert.deepEqual(brief(evil), ['PICKLE_DANGEROUS_GLOBAL:dangerous']);
  assert.equal(evil[0]!.offset, first.length);
});

test('probe: text that merely starts like protocol 0 is silent; protocol 0 pickles are analysed fully', async () => {
  for (const text of ['(this is a README)\n', 'config = 1\nfoo = 2\n', ']] nothing here ]]', 'Idle thoughts\n', 'N.B. see notes']) {
    const st = await scanBlob(new BufferBlob(Buffer.from(text)), 'notes');
    assert.deepEqual([...st.formats.keys()], ['pickle-probe'], text);
    assert.deepEqual(st.findings, [], text);
  }
  assert.deepEqual(await scanBytes(dumps({ a: [1, 2.5, 'x'] }, 0), 'p0'), []);
  assert.deepEqual(await scanBytes(dumps({ a: [1, 2.5, 'x'] }, 1), 'p1'), []);
  // A code-free protocol 0 pickle followed by a malicious one: the second is found.
  const two = await scanBytes(Buffer.concat([dumps([1, 'a'], 0), Buffer.from("cos\nsystem\n(S'id'\ntR.")]), 'p');
  assert.deepEqual(brief(two), ['PICKLE_DANGEROUS_GLOBAL:dangerous']);
  // ...and a code-free one followed by junk stays silent (never confirmed to be pickle).
  assert.deepEqual(await scanBytes(Buffer.concat([dumps([1, 'a'], 0), Buffer.from('\x00junk')]), 'p'), []);
  // A protocol 0 pickle that imports something unknown, then breaks: both reported.
  assert.deepEqual(brief(await scanBytes(Buffer.from('cmylib\nThing\n(tRzz'), 'p')), ['PICKLE_UNKNOWN_GLOBAL:suspicious', 'PICKLE_MALFORMED:suspicious']);
});

test('TorchScript archives: __torch__ classes and torch.jit._pickle helpers are allowed only there', async () => {
  const w = new PickleWriter(2).proto();
  w.global('__torch__.model', 'Net').emptyTuple().newobj();
  w.emptyDict().dump('training').bool(false).setitem().dump('sizes');
  w.global('torch.jit._pickle', 'build_intlist').dump(tuple([1, 2, 3])).reduce().setitem().build();
  const buf = w.stop().bytes();
  const inside = await scanMemberBytes(buf, 'archive/data.pkl', ['model.pt', 'archive/data.pkl']);
  assert.deepEqual(inside.findings, []);
  assert.equal(isTorchScriptContext({ member: [], name: 'data.pkl' }), false);
  assert.deepEqual(brief(await scanBytes(buf, 'data.pkl')), ['PICKLE_UNKNOWN_GLOBAL:suspicious', 'PICKLE_DANGEROUS_GLOBAL:suspicious']);
  // torch.jit outside the helpers stays dangerous even inside an archive.
  const jit = new PickleWriter(2).proto().global('torch.jit', 'load').dump(tuple('x.pt')).reduce().stop().bytes();
  assert.deepEqual(brief((await scanMemberBytes(jit, 'archive/data.pkl')).findings), ['PICKLE_DANGEROUS_GLOBAL:dangerous']);
});

test('nested loads hand the embedded bytes to the context with format pickle', async () => {
  const inner = dumps({ x: 1 }, 2);
  const buf = new PickleWriter(3).proto().global('torch.storage', '_load_from_bytes').dump(tuple(inner)).reduce().stop().bytes();
  const f = await scanMemberBytes(buf, 'data.pkl');
  assert.equal(f.members.length, 1);
  assert.equal(f.members[0]!.format, 'pickle');
  assert.equal(f.members[0]!.size, inner.length);
});

test('a timeout keeps what was found so far and surfaces as SCAN_TIMEOUT', async () => {
  const evil = new PickleWriter(4).proto().mark().global('os', 'system').dump(Array.from({ length: 200_000 }, () => 1)).tuple().stop().bytes();
  const f = fakeContext('x.pkl', [], {}, Date.now() - 1);
  await assert.rejects(scanPickles(new BufferBlob(evil), f.ctx, false), { code: 'PERIM_E_SCAN_TIMEOUT' });
  assert.deepEqual(brief(f.findings), ['PICKLE_DANGEROUS_GLOBAL:dangerous']);
});
