import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pae, paeCompatV02, pythonBytesRepr } from './dsse.ts';

test('PAE follows DSSE v1 byte layout', () => {
  const out = pae(Buffer.from('hello world'), 'http://example.com/HelloWorld');
  assert.equal(out.toString('utf8'), 'DSSEv1 29 http://example.com/HelloWorld 11 hello world');
});

test('PAE counts bytes, not characters', () => {
  const body = Buffer.from('é', 'utf8');
  assert.equal(pae(body, 't').toString('utf8'), 'DSSEv1 1 t 2 é');
});

test('pythonBytesRepr matches CPython for quotes, escapes and non-ASCII', () => {
  // Expected strings are what CPython 3.11 prints for repr(b"...") of the same bytes.
  assert.equal(pythonBytesRepr(Buffer.from('{"a": 1}\n')), `b'{"a": 1}\\n'`);
  assert.equal(pythonBytesRepr(Buffer.from("it's")), `b"it's"`);
  assert.equal(pythonBytesRepr(Buffer.from(`it's "x"`)), `b'it\\'s "x"'`);
  assert.equal(pythonBytesRepr(Buffer.from([0x00, 0x7f, 0xff, 0x5c, 0x09, 0x0d])), `b'\\x00\\x7f\\xff\\\\\\t\\r'`);
});

test('compat PAE is the v0.2.0 form (capital V, python repr body)', () => {
  assert.equal(paeCompatV02(Buffer.from('{}'), 't').toString('utf8'), "DSSEV1 1 t 2 b'{}'");
});
