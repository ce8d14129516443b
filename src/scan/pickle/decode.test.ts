import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeLong, decodeRawUnicodeEscape, decodeStringnl, escapeDecode, isFloatText, isIdentifierPath, parseDecimal } from './decode.ts';

const B = (s: string): Buffer => Buffer.from(s, 'latin1');

test('STRING: quotes required and matched; Python escapes decoded', () => {
  assert.equal(decodeStringnl(B("'os'"))?.toString('latin1'), 'os');
  assert.equal(decodeStringnl(B('"sys"'))?.toString('latin1'), 'sys');
  assert.equal(decodeStringnl(B("'a\\x41\\n\\t\\\\\\'\\101\\0z'"))?.toString('latin1'), "aA\n\t\\'A\0z");
  assert.equal(decodeStringnl(B("'keep \\q'"))?.toString('latin1'), 'keep \\q');
  assert.equal(decodeStringnl(B('os')), undefined);
  assert.equal(decodeStringnl(B("'os\"")), undefined);
  assert.equal(decodeStringnl(B("'")), undefined);
  assert.equal(decodeStringnl(B("'bad \\x4'")), undefined);
  assert.equal(escapeDecode(B('trailing\\')), undefined);
});

test('UNICODE: raw-unicode-escape, only \\u and \\U are escapes', () => {
  assert.equal(decodeRawUnicodeEscape(B('plain')), 'plain');
  assert.equal(decodeRawUnicodeEscape(B('a\\u005cb\\U0001F600\\n')), 'a\\b\u{1F600}\\n');
  assert.equal(decodeRawUnicodeEscape(B('caf\xe9')), 'café');
  assert.equal(decodeRawUnicodeEscape(B('\\u12')), undefined);
  assert.equal(decodeRawUnicodeEscape(B('\\uZZZZ')), undefined);
  assert.equal(decodeRawUnicodeEscape(B('\\U00110000')), undefined);
});

test('integers as INT/LONG/PUT read them', () => {
  assert.equal(parseDecimal('42'), 42);
  assert.equal(parseDecimal(' -7 '), -7);
  assert.equal(parseDecimal('0x10'), 16);
  assert.equal(parseDecimal('1_000'), 1000);
  assert.equal(parseDecimal('007'), 7);
  assert.equal(parseDecimal('123456789012345678901234567890'), 123456789012345678901234567890n);
  for (const bad of ['', 'abc', '1.5', '--1', '0x']) assert.equal(parseDecimal(bad), undefined, bad);
});

test('floats as FLOAT reads them', () => {
  for (const ok of ['1.5', '-0.25', '1e10', '.5', '3.', 'inf', '-nan', ' 2.0 ']) assert.ok(isFloatText(ok), ok);
  for (const bad of ['', 'abc', '1.2.3', 'e5']) assert.ok(!isFloatText(bad), bad);
});

test('LONG1 bytes: two\'s complement little-endian, the torch legacy magic number', () => {
  assert.equal(decodeLong(Buffer.alloc(0)), 0);
  assert.equal(decodeLong(Buffer.from([0xff])), -1);
  assert.equal(decodeLong(Buffer.from([0x80, 0x00])), 128);
  assert.equal(decodeLong(Buffer.from([0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19])), 0x1950a86a20f9469cfc6cn);
  assert.equal(decodeLong(Buffer.from([0, 0, 0, 0, 0, 0, 0, 0x80])), -(2n ** 63n));
});

test('identifier paths', () => {
  assert.ok(isIdentifierPath('torch._utils'));
  assert.ok(isIdentifierPath('__torch__.a.b_c'));
  for (const bad of ['', 'a..b', '1abc', 'a b', 'onfig = 1', '.a']) assert.ok(!isIdentifierPath(bad), bad);
});
