/**
 * SCRAM-SHA-256 against RFC 7677's worked example, and PostgreSQL's md5 password form against a
 * hash PostgreSQL itself stores (`md5` + md5(password + user) for postgres/postgres).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { md5Password, scramFinal, scramServerOk, scramStart } from './pg-scram.ts';

// RFC 7677 section 3: user "user", password "pencil".
const CLIENT_NONCE = 'rOprNGfwEbeRWgbNEkqO';
const SERVER_FIRST = 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096';
const CLIENT_FINAL = 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=';
const SERVER_FINAL = 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=';

test('SCRAM-SHA-256: the client messages and the server signature of RFC 7677', () => {
  const start = scramStart('user', CLIENT_NONCE);
  assert.equal(start.clientFirst, `n,,n=user,r=${CLIENT_NONCE}`);
  const final = scramFinal(start, SERVER_FIRST, 'pencil');
  assert.equal(final.clientFinal, CLIENT_FINAL);
  assert.equal(scramServerOk(final, SERVER_FINAL), true);
});

test('SCRAM-SHA-256: a server that cannot prove the password, or that bends the exchange, is refused', () => {
  const start = scramStart('user', CLIENT_NONCE);
  const final = scramFinal(start, SERVER_FIRST, 'pencil');
  assert.equal(scramServerOk(final, 'v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='), false);
  assert.equal(scramServerOk(final, 'e=invalid-proof'), false);
  assert.equal(scramServerOk(scramFinal(start, SERVER_FIRST, 'pencils'), SERVER_FINAL), false, 'another password');
  assert.throws(() => scramFinal(start, 'r=someoneElse123,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096', 'pencil'), /nonce/);
  assert.throws(() => scramFinal(start, `r=${CLIENT_NONCE},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`, 'pencil'), /nonce/, 'the server added nothing');
  assert.throws(() => scramFinal(start, `r=${CLIENT_NONCE}x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0`, 'pencil'), /iteration/);
  assert.throws(() => scramFinal(start, `r=${CLIENT_NONCE}x,s=!!,i=4096`, 'pencil'), /salt/);
  assert.throws(() => scramFinal(start, 'garbage', 'pencil'), /malformed/);
  // A user name with the characters SCRAM escapes.
  assert.equal(scramStart('a=b,c', 'n').bare, 'n=a=3Db=2Cc,r=n');
});

test("md5 passwords: PostgreSQL's stored form salted with the server's four bytes", () => {
  const salt = Buffer.from([0x01, 0x02, 0x03, 0x04]);
  const stored = '3175bce1d3201d16594cebf9d7eb3f9d'; // pg_authid's md5 of password "postgres" for user "postgres"
  assert.equal(md5Password('postgres', 'postgres', salt), `md5${createHash('md5').update(Buffer.concat([Buffer.from(stored), salt])).digest('hex')}`);
});
