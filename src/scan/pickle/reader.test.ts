import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BufferBlob } from '../blob.ts';
import { PickleStop, StreamReader } from './reader.ts';

const stopKind = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    if (e instanceof PickleStop) return e.kind;
    throw e;
  }
  return 'none';
};

test('fixed-width reads across the 1 MiB window boundary', () => {
  const buf = Buffer.alloc((1 << 20) + 16);
  buf.writeUInt32LE(0xdeadbeef, (1 << 20) - 2);
  const r = new StreamReader(new BufferBlob(buf), 0, buf.length);
  r.skip((1 << 20) - 2);
  assert.equal(r.u4(), 0xdeadbeef);
  assert.equal(r.pos, (1 << 20) + 2);
});

test('lines longer than the window grow it; a missing newline is truncation', () => {
  const long = 'x'.repeat(3 << 20);
  const r = new StreamReader(new BufferBlob(Buffer.from(`ab\n${long}\nc`)), 0, 1 << 30);
  assert.equal(r.line().text.toString(), 'ab');
  const l = r.line();
  assert.equal(l.text.length, long.length);
  assert.equal(l.offset, 3);
  assert.equal(stopKind(() => r.line()), 'truncated');
});

test('lineInt: fast path, sign, L suffix, slow path and rejects', () => {
  const r = new StreamReader(new BufferBlob(Buffer.from('12\n-5\n99L\n0x1f\n123456789012345678901\nzz\n')), 0, 1000);
  assert.equal(r.lineInt(), 12);
  assert.equal(r.lineInt(), -5);
  assert.equal(r.lineInt(true), 99);
  assert.equal(r.lineInt(), 31);
  assert.equal(r.lineInt(), 123456789012345678901n);
  assert.equal(r.lineInt(), undefined);
});

test('lengths are checked against the byte limit, then the file, before reading', () => {
  const blob = new BufferBlob(Buffer.alloc(100));
  assert.equal(stopKind(() => new StreamReader(blob, 0, 50).skip(60)), 'limit');
  assert.equal(stopKind(() => new StreamReader(blob, 0, 1000).skip(101)), 'truncated');
  assert.equal(stopKind(() => new StreamReader(blob, 0, 1000).check(-1)), 'malformed');
  assert.equal(stopKind(() => new StreamReader(blob, 95, 1000).u8()), 'truncated');
  const r = new StreamReader(blob, 0, 50);
  r.skip(40);
  assert.equal(stopKind(() => r.need(20)), 'limit');
});

test('raw data skips do not count against the byte limit but must fit in the file', () => {
  const r = new StreamReader(new BufferBlob(Buffer.alloc(1000)), 0, 100);
  r.skipRaw(800);
  r.skip(90);
  assert.equal(r.pos, 890);
  assert.equal(stopKind(() => r.skipRaw(200)), 'truncated');
});

test('an 8-byte length beyond 2^53 is reported, not wrapped', () => {
  const b = Buffer.alloc(8, 0xff);
  assert.equal(stopKind(() => new StreamReader(new BufferBlob(b), 0, 100).u8()), 'truncated');
});
