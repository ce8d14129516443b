import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ATTACKS } from '../../../test/corpus/pickle-attacks.ts';
import { torchStateDict } from '../../../test/corpus/pickle-corpus.ts';
import { PickleWriter, dumps, tuple } from '../../../test/corpus/pickle-writer.ts';
import { brief, scanBytes, verdict } from './test-ctx.ts';

const P = (s: string): Buffer => Buffer.from(s, 'latin1');

test('os.system via GLOBAL + REDUCE (protocol 0): one dangerous finding with evidence and offset', async () => {
  const fs = await scanBytes(ATTACKS.osSystemGlobal());
  assert.deepEqual(brief(fs), ['PICKLE_DANGEROUS_GLOBAL:dangerous']);
  assert.equal(fs[0]!.evidence, 'os.system via GLOBAL, called by REDUCE');
  assert.equal(fs[0]!.offset, 0);
  assert.match(fs[0]!.remediation, /safetensors/);
});

test('posix.system, pip.main, subprocess forms are dangerous', async () => {
  for (const [buf, ev] of [
    [ATTACKS.posixSystem(), /^posix\.system via GLOBAL, called by REDUCE$/],
    [ATTACKS.pipMain(), /^pip\.main via STACK_GLOBAL, called by REDUCE$/],
  ] as const) {
    const fs = await scanBytes(buf);
    assert.deepEqual(brief(fs), ['PICKLE_DANGEROUS_GLOBAL:dangerous']);
    assert.match(fs[0]!.evidence!, ev);
  }
});

test('a submodule of a denied package counts (asyncio.unix_events, protocol 4 dotted name)', async () => {
  const fs = await scanBytes(ATTACKS.asyncioSubmodule());
  assert.deepEqual(brief(fs), ['PICKLE_DANGEROUS_GLOBAL:dangerous']);
  assert.match(fs[0]!.evidence!, /^asyncio\.unix_events\._UnixSubprocessTransport\._start via STACK_GLOBAL, not called/);
});

test('STACK_GLOBAL fed by protocol 0 STRING opcodes is still seen', async () => {
  const fs = await scanBytes(ATTACKS.stackGlobalFromStrings());
  assert.deepEqual(brief(fs), ['PICKLE_DANGEROUS_GLOBAL:dangerous']);
  assert.equal(fs[0]!.evidence, 'os.system via STACK_GLOBAL (operands from STRING), called by REDUCE');
});

test('STACK_GLOBAL from every other string opcode', async () => {
  for (const how of ['BINSTRING', 'SHORT_BINSTRING', 'UNICODE', 'BINUNICODE8'] as const) {
    const fs = await scanBytes(ATTACKS.stackGlobalFrom(how));
    assert.deepEqual(brief(fs), ['PICKLE_DANGEROUS_GLOBAL:dangerous'], how);
    assert.match(fs[0]!.evidence!, /^subprocess\.getoutput via STACK_GLOBAL/, how);
  }
});

test('names and callables assembled through the memo (PUT, POP, ..., GET) are seen', async () => {
  const names = await scanBytes(ATTACKS.memoAssembledNames());
  assert.deepEqual(brief(names), ['PICKLE_DANGEROUS_GLOBAL:dangerous']);
  assert.equal(names[0]!.evidence, 'builtins.eval via STACK_GLOBAL from memo, called by REDUCE');
  const callable = await scanBytes(ATTACKS.memoAssembledCallable());
  assert.deepEqual(brief(callable), ['PICKLE_DANGEROUS_GLOBAL:dangerous']);
  assert.equal(callable[0]!.evidence, 'subprocess.check_output via GLOBAL, called by REDUCE after a memo GET');
});

test('INST, OBJ, NEWOBJ and NEWOBJ_EX calls', async () => {
  for (const [buf, by] of [[ATTACKS.inst(), 'INST'], [ATTACKS.obj(), 'OBJ'], [ATTACKS.newobj(), 'NEWOBJ'], [ATTACKS.newobjEx(), 'NEWOBJ_EX']] as const) {
    const fs = await scanBytes(buf);
    assert.deepEqual(brief(fs), ['PICKLE_DANGEROUS_GLOBAL:dangerous'], by);
    assert.match(fs[0]!.evidence!, new RegExp(`called by ${by}$`), by);
  }
});

test('builtins eval/exec/getattr/__import__, in protocol 2 (__builtin__) and 4', async () => {
  for (const name of ['eval', 'exec', 'getattr', '__import__'] as const) {
    for (const proto of [2, 4]) {
      const fs = await scanBytes(ATTACKS.builtinsCall(name, proto));
      assert.deepEqual(brief(fs), ['PICKLE_DANGEROUS_GLOBAL:dangerous'], `${name} ${proto}`);
      assert.match(fs[0]!.evidence!, new RegExp(`^builtins\\.${name} via`));
      if (proto === 2) assert.match(fs[0]!.evidence!, /written as __builtin__\./);
    }
  }
});

test('gadget chains: getattr(__import__(...)) and operator.attrgetter(...)(importlib.import_module(...))', async () => {
  assert.deepEqual(brief(await scanBytes(ATTACKS.getattrChain())), ['PICKLE_DANGEROUS_GLOBAL:dangerous', 'PICKLE_DANGEROUS_GLOBAL:dangerous', 'PICKLE_INDIRECT_CALL:suspicious']);
  const fs = await scanBytes(ATTACKS.attrgetterChain());
  assert.deepEqual(fs.map((f) => f.evidence?.split(' ')[0]), ['operator.attrgetter', 'importlib.import_module', 'operator.attrgetter(...)']);
  assert.equal(verdict(fs), 'dangerous');
});

test('a malicious second pickle after a benign first one', async () => {
  const buf = ATTACKS.secondPickle();
  const fs = await scanBytes(buf);
  assert.deepEqual(brief(fs), ['PICKLE_DANGEROUS_GLOBAL:dangerous']);
  assert.equal(fs[0]!.offset, dumps({ a: 1 }, 2).length + 2); // the GLOBAL after the second PROTO
  // Negative: the benign first pickle alone is clean.
  assert.deepEqual(await scanBytes(dumps({ a: 1 }, 2)), []);
});

test('nullifAI: payload, then a broken stream: dangerous, and the break itself is dangerous', async () => {
  for (const buf of [ATTACKS.nullifai(), ATTACKS.nullifaiTorch()]) {
    const fs = await scanBytes(buf);
    assert.deepEqual(brief(fs), ['PICKLE_DANGEROUS_GLOBAL:dangerous', 'PICKLE_MALFORMED:dangerous']);
    assert.match(fs[1]!.message, /already run/);
    assert.ok(fs[1]!.offset! > fs[0]!.offset!);
  }
  // Negative: the same break without a payload before it is only suspicious.
  const good = torchStateDict([{ key: 'w', shape: [2, 2] }], 2);
  assert.deepEqual(brief(await scanBytes(good.subarray(0, good.length - 10))), ['PICKLE_MALFORMED:suspicious']);
});

test('unknown opcode and truncated stream are malformed (suspicious)', async () => {
  const unknown = await scanBytes(P('\x80\x02X\x05\x00\x00\x00hello0\xff.'));
  assert.deepEqual(brief(unknown), ['PICKLE_MALFORMED:suspicious']);
  assert.match(unknown[0]!.message, /unknown opcode 0xff/);
  assert.equal(unknown[0]!.offset, 13);
  const truncated = await scanBytes(ATTACKS.truncated());
  assert.deepEqual(brief(truncated), ['PICKLE_MALFORMED:suspicious']);
  assert.match(truncated[0]!.message, /truncated/);
});

test('stack errors: underflow, missing MARK, unknown memo key, non-callable REDUCE', async () => {
  for (const [bytes, re] of [
    ['\x80\x02X\x03\x00\x00\x00abc00.', /stack underflow/],
    ['\x80\x02X\x03\x00\x00\x00abct.', /without a MARK/],
    ['\x80\x02X\x03\x00\x00\x00abch\x07.', /memo key 7/],
    ['\x80\x02K\x01X\x03\x00\x00\x00abc\x85R.', /not callable/],
    ['\x80\x02X\x03\x00\x00\x00abc0(\x85.', /reached into a MARK/],
  ] as const) {
    const fs = await scanBytes(P(bytes));
    assert.deepEqual(brief(fs), ['PICKLE_MALFORMED:suspicious'], bytes);
    assert.match(fs[0]!.message, re);
  }
});

test('torch.hub.load as a dotted protocol 4 name, and a dunder walk', async () => {
  const hub = await scanBytes(ATTACKS.dottedName());
  assert.deepEqual(brief(hub), ['PICKLE_DANGEROUS_GLOBAL:dangerous']);
  assert.match(hub[0]!.evidence!, /^torch\.hub\.load /);
  const dunder = await scanBytes(ATTACKS.dunderWalk());
  assert.deepEqual(brief(dunder), ['PICKLE_DANGEROUS_GLOBAL:dangerous']);
  assert.match(dunder[0]!.message, /dunder/);
});

test('monkey-patching a module and computed global names are dangerous', async () => {
  const mut = await scanBytes(ATTACKS.globalMutation());
  assert.ok(brief(mut).includes('PICKLE_GLOBAL_MUTATION:dangerous'));
  const dyn = await scanBytes(ATTACKS.dynamicGlobal());
  assert.ok(brief(dyn).includes('PICKLE_DYNAMIC_GLOBAL:dangerous'));
});

test('extension codes and out-of-band buffers are suspicious', async () => {
  const ext = await scanBytes(ATTACKS.extension());
  assert.deepEqual(brief(ext), ['PICKLE_EXTENSION_CODE:suspicious']);
  const oob = new PickleWriter(5, { frames: false }).proto().dump('some padding').pop().nextBuffer().readonlyBuffer().stop().bytes();
  assert.deepEqual(brief(await scanBytes(oob)), ['PICKLE_OUT_OF_BAND_BUFFER:suspicious']);
});

test('torch.storage._load_from_bytes: the embedded pickle is scanned as a nested member', async () => {
  for (const proto of [1, 2, 3, 4]) {
    const fs = await scanBytes(ATTACKS.loadFromBytes(proto));
    assert.deepEqual(brief(fs), ['PICKLE_NESTED_LOAD:suspicious', 'PICKLE_DANGEROUS_GLOBAL:dangerous'], `protocol ${proto}`);
    assert.match(fs[1]!.member[0]!, /^torch\.storage\._load_from_bytes@\d+$/);
    assert.equal(fs[1]!.evidence, 'os.system via GLOBAL, called by REDUCE');
  }
  // Benign embedded bytes: only the nested-load finding.
  const benign = new PickleWriter(2).proto().global('torch.storage', '_load_from_bytes').dump(tuple(dumps([1, 2], 2))).reduce().stop().bytes();
  assert.deepEqual(brief(await scanBytes(benign)), ['PICKLE_NESTED_LOAD:suspicious']);
});

test('each distinct dangerous global is reported once per stream, at its first use', async () => {
  const w = new PickleWriter(2).proto().mark();
  for (let i = 0; i < 3; i++) w.globalOp('os', 'system').dump(tuple('id')).reduce();
  w.globalOp('os', 'popen').tuple().stop();
  const buf = w.bytes();
  const fs = await scanBytes(buf);
  assert.deepEqual(fs.map((f) => [f.evidence?.split(' ')[0], f.offset]), [['os.system', 3], ['os.popen', buf.indexOf('cos\npopen')]]);
});
