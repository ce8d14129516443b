import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { ATTACKS } from './pickle-attacks.ts';
import { joblibFile, legacyTorchFile, numpyArrayPickle, torchStateDict } from './pickle-corpus.ts';
import { PickleWriter, dumps, encodeLong, float, tuple } from './pickle-writer.ts';

test('encodeLong: shortest two\'s complement, as pickle.encode_long', () => {
  assert.deepEqual([...encodeLong(0n)], []);
  assert.deepEqual([...encodeLong(255n)], [0xff, 0x00]);
  assert.deepEqual([...encodeLong(-256n)], [0x00, 0xff]);
  assert.deepEqual([...encodeLong(0x1950a86a20f9469cfc6cn)], [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]);
});

test('small values in each protocol, byte for byte', () => {
  assert.equal(dumps(null, 0).toString('latin1'), 'N.');
  assert.equal(dumps([1, 'a'], 0).toString('latin1'), '(lp0\nI1\naVa\np1\na.');
  assert.equal(dumps(tuple(1, 2), 2).toString('latin1'), '\x80\x02K\x01K\x02\x86q\x00.');
  assert.equal(dumps({ a: float(1) }, 4, { frames: false }).toString('latin1'), '\x80\x04}\x94\x8c\x01a\x94G?\xf0\x00\x00\x00\x00\x00\x00s.');
  assert.equal(new PickleWriter(4, { frames: false }).proto().global('os', 'system').stop().bytes().toString('latin1'), '\x80\x04\x8c\x02os\x94\x8c\x06system\x94\x93\x94.');
  assert.equal(new PickleWriter(2).proto().global('builtins', 'eval').stop().bytes().toString('latin1'), '\x80\x02c__builtin__\neval\nq\x00.');
});

const python = spawnSync('python3', ['-c', 'import pickletools'], { encoding: 'utf8' }).status === 0;

test('dumps matches CPython pickle.dumps for protocols 0-3 (when python3 is available)', (t) => {
  if (!python) return t.skip('python3 not available');
  // Serialising our own literal data in Python (pickle.dumps) runs nothing from a file.
  const value = Array.from({ length: 1500 }, (_, i) => ({ id: i, name: `item${i}`, score: float(i * 0.5), tags: ['a', i % 3 ? 'b' : 'c'] }));
  for (const p of [0, 1, 2, 3]) {
    const py = spawnSync('python3', ['-c', `import pickle,sys; sys.stdout.buffer.write(pickle.dumps([{'id': i, 'name': f'item{i}', 'score': i*0.5, 'tags': ['a', 'b' if i % 3 else 'c']} for i in range(1500)], protocol=${p}))`], { maxBuffer: 1 << 26 });
    assert.equal(py.status, 0);
    assert.ok(dumps(value, p).equals(py.stdout), `protocol ${p}`);
  }
});

test('the corpus disassembles with CPython pickletools (when python3 is available)', (t) => {
  if (!python) return t.skip('python3 not available');
  const files: Record<string, Buffer> = {
    ...Object.fromEntries([2, 3, 4, 5].map((p) => [`torch${p}`, torchStateDict([{ key: 'w', shape: [2, 3] }], p)])),
    np0: numpyArrayPickle([2], 'f8', 0), np2: numpyArrayPickle([2, 2]), np4: numpyArrayPickle([3], 'i4', 4, true),
    legacyFirst: legacyTorchFile([{ key: 'w', shape: [2] }]).subarray(0, 15),
    joblibHead: joblibFile([{ shape: [2] }], 2, undefined),
    inst: ATTACKS.inst(), memo: ATTACKS.memoAssembledNames(), chain: ATTACKS.attrgetterChain(), bytes: ATTACKS.loadFromBytes(2),
  };
  for (const [name, buf] of Object.entries(files)) {
    // pickletools.dis only disassembles; it never imports or calls anything.
    const dis = spawnSync('python3', ['-c', 'import pickletools,sys,io; pickletools.dis(sys.stdin.buffer.read(), out=io.StringIO())'], { input: buf });
    const err = dis.stderr.toString();
    if (name === 'joblibHead') assert.match(err, /opcode .* unknown|exhausted/, name); // raw array bytes follow the wrapper
    else assert.equal(dis.status, 0, `${name}: ${err}`);
  }
});
