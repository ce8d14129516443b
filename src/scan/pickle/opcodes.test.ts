import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { BufferBlob } from '../blob.ts';
import { runStream } from './exec.ts';
import { OP, OPCODES, opName } from './opcodes.ts';
import { StreamReader } from './reader.ts';

const run = (bytes: string) => {
  const buf = Buffer.from(bytes, 'latin1');
  return runStream(new StreamReader(new BufferBlob(buf), 0, 1 << 20), {
    maxOpcodes: 1000, maxBytes: 1 << 20, probe: false, policy: { torchscript: false }, tick: () => {}, depth: 0,
  });
};

// One small valid program per opcode (the opcode under test is the one named); each must reach STOP.
const PROGRAMS: Record<string, string> = {
  INT: 'I42\n.', BININT: 'J\xff\xff\xff\xff.', BININT1: 'K\x01.', BININT2: 'M\x01\x02.', LONG: 'L123L\n.', LONG1: '\x8a\x02\x01\x02.', LONG4: '\x8b\x01\x00\x00\x00\x07.',
  STRING: "S'a\\n'\n.", BINSTRING: 'T\x01\x00\x00\x00a.', SHORT_BINSTRING: 'U\x01a.', BINBYTES: 'B\x01\x00\x00\x00a.', SHORT_BINBYTES: 'C\x01a.',
  BINBYTES8: '\x8e\x01\x00\x00\x00\x00\x00\x00\x00a.', BYTEARRAY8: '\x96\x01\x00\x00\x00\x00\x00\x00\x00a.', NEXT_BUFFER: '\x97.', READONLY_BUFFER: '\x97\x98.',
  NONE: 'N.', NEWTRUE: '\x88.', NEWFALSE: '\x89.', UNICODE: 'V\\u0041\n.', SHORT_BINUNICODE: '\x8c\x01a.', BINUNICODE: 'X\x01\x00\x00\x00a.',
  BINUNICODE8: '\x8d\x01\x00\x00\x00\x00\x00\x00\x00a.', FLOAT: 'F1.5\n.', BINFLOAT: 'G\x3f\xf0\x00\x00\x00\x00\x00\x00.',
  EMPTY_LIST: '].', APPEND: ']Na.', APPENDS: '](NNe.', LIST: '(Nl.', EMPTY_TUPLE: ').', TUPLE: '(Nt.', TUPLE1: 'N\x85.', TUPLE2: 'NN\x86.', TUPLE3: 'NNN\x87.',
  EMPTY_DICT: '}.', DICT: '(NNd.', SETITEM: '}NNs.', SETITEMS: '}(NNu.', EMPTY_SET: '\x8f.', ADDITEMS: '\x8f(N\x90.', FROZENSET: '(N\x91.',
  POP: 'NN0.', DUP: 'N2.', MARK: '(N.', POP_MARK: 'N(N1.', GET: 'Np0\n0g0\n.', BINGET: 'Nq\x010h\x01.', LONG_BINGET: 'Nr\x00\x00\x01\x000j\x00\x00\x01\x00.',
  PUT: 'Np1\n.', BINPUT: 'Nq\x01.', LONG_BINPUT: 'Nr\x01\x00\x00\x00.', MEMOIZE: 'N\x94.', EXT1: '\x82\x01.', EXT2: '\x83\x01\x01.', EXT4: '\x84\x01\x00\x00\x00.',
  GLOBAL: 'cmod\nname\n.', STACK_GLOBAL: '\x8c\x03mod\x8c\x04name\x93.', REDUCE: 'cmod\nname\n)R.', BUILD: 'cmod\nname\n)R}b.', INST: '(imod\nname\n.',
  OBJ: '(cmod\nname\no.', NEWOBJ: 'cmod\nname\n)\x81.', NEWOBJ_EX: 'cmod\nname\n)}\x92.', PROTO: '\x80\x05N.',
  STOP: 'N.', FRAME: '\x95\x02\x00\x00\x00\x00\x00\x00\x00N.', PERSID: 'P0\n.', BINPERSID: 'NQ.',
};

test('the table has every pickletools opcode of protocols 0-5, each with a distinct byte', () => {
  const ops = OPCODES.filter((o) => o !== undefined);
  assert.equal(ops.length, 68);
  assert.equal(new Set(ops.map((o) => o.name)).size, 68);
  assert.equal(OP.GLOBAL, 0x63);
  assert.equal(opName(0xff), '0xff');
  assert.deepEqual(Object.keys(PROGRAMS).sort(), ops.map((o) => o.name).sort());
});

test('the executor implements every opcode in the table (each program reaches STOP)', () => {
  for (const [name, prog] of Object.entries(PROGRAMS)) {
    assert.ok(prog.includes(String.fromCharCode(OP[name]!)), `${name} program uses ${name}`);
    const res = run(prog);
    assert.equal(res.stop?.message, undefined, name);
    assert.equal(res.end, prog.length, name);
  }
});

test('bytes that are not opcodes are reported as unknown opcodes', () => {
  for (let b = 0; b < 256; b++) {
    if (OPCODES[b]) continue;
    const res = run(`N${String.fromCharCode(b)}.`);
    assert.equal(res.stop?.kind, 'malformed');
    assert.match(res.stop!.message, /unknown opcode/);
    assert.equal(res.stop!.offset, 1);
  }
});

test('the table matches CPython pickletools (when python3 is available)', (t) => {
  const py = spawnSync('python3', ['-c', 'import pickletools\nfor o in pickletools.opcodes: print(ord(o.code), o.name, o.arg.name if o.arg else "none", o.proto)'], { encoding: 'utf8' });
  if (py.status !== 0) return t.skip('python3 not available');
  const rows = py.stdout.trim().split('\n').map((l) => l.split(' ') as [string, string, string, string]);
  assert.equal(rows.length, 68);
  for (const [code, name, arg, proto] of rows) {
    const o = OPCODES[Number(code)];
    assert.deepEqual([o?.name, o?.arg, o?.proto], [name, arg, Number(proto)], name);
  }
});
