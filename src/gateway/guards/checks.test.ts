/** Checksums and structural checks: Luhn, issuer ranges, IBAN, SSN, NINO, DNI, Verhoeff, JWT header. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cardNetwork, dniValid, IBAN_LENGTHS, ibanChecksumValid, ibanValid, jwtHeaderValid, luhnValid, ninoPrefixValid, shannonEntropy, ssnValid, verhoeffValid } from './checks.ts';
import { makeIban, withLuhn, withVerhoeff } from './test-fakes.ts';

test('Luhn: published test numbers pass, every single-digit change fails, non-digits fail', () => {
  for (const n of ['4111111111111111', '5555555555554444', '378282246310005', '6011111111111117', '3530111333300000', '30569309025904', '2223003122003222', '79927398713']) {
    assert.ok(luhnValid(n), n);
    for (let i = 0; i < n.length; i++) {
      const d = Number(n[i]);
      const changed = `${n.slice(0, i)}${(d + 1) % 10}${n.slice(i + 1)}`;
      assert.equal(luhnValid(changed), false, changed);
    }
  }
  assert.equal(luhnValid(''), false);
  assert.equal(luhnValid('4111-1111'), false);
  assert.ok(luhnValid(withLuhn('453201511283036')));
});

test('card issuer ranges and lengths', () => {
  assert.equal(cardNetwork('4111111111111111'), 'visa');
  assert.equal(cardNetwork('4222222222222'), 'visa');
  assert.equal(cardNetwork('411111111111111'), undefined, 'Visa has no 15-digit numbers');
  assert.equal(cardNetwork('5555555555554444'), 'mastercard');
  assert.equal(cardNetwork('2720990000000007'), 'mastercard');
  assert.equal(cardNetwork('2721000000000000'), undefined, 'just past the 2-series range');
  assert.equal(cardNetwork('378282246310005'), 'amex');
  assert.equal(cardNetwork('3782822463100050'), undefined, 'Amex is 15 digits');
  assert.equal(cardNetwork('6011111111111117'), 'discover');
  assert.equal(cardNetwork('6221260000000000'), 'discover');
  assert.equal(cardNetwork('3530111333300000'), 'jcb');
  assert.equal(cardNetwork('30569309025904'), 'diners');
  assert.equal(cardNetwork('6200000000000005'), 'unionpay');
  assert.equal(cardNetwork('1700000000000'), undefined, 'a millisecond timestamp');
  assert.equal(cardNetwork('9781492052203'), undefined, 'an ISBN-13');
});

test('IBAN: registry examples pass, check digits and lengths are enforced', () => {
  for (const iban of ['DE89370400440532013000', 'GB82WEST12345698765432', 'FR1420041010050500013M02606', 'NL91ABNA0417164300', 'BE68539007547034', 'NO9386011117947', 'CH9300762011623852957', 'MT84MALT011000012345MTLCAST001S']) {
    assert.ok(ibanValid(iban), iban);
    assert.equal(iban.length, IBAN_LENGTHS[iban.slice(0, 2)]);
  }
  assert.equal(ibanValid('DE89370400440532013001'), false, 'one digit changed');
  assert.equal(ibanValid('DE98370400440532013000'), false, 'check digits swapped');
  assert.equal(ibanValid('DE8937040044053201300'), false, 'one short');
  assert.equal(ibanValid('XX89370400440532013000'), false, 'unknown country');
  assert.equal(ibanChecksumValid('GB82WEST1234569876543!'), false);
  const made = makeIban('ES', '21000418450200051332');
  assert.ok(ibanValid(made), made);
  assert.equal(made.length, 24);
});

test('SSN: area, group and serial rules', () => {
  assert.ok(ssnValid('536', '22', '1870'));
  assert.ok(ssnValid('001', '01', '0001'));
  assert.ok(ssnValid('899', '99', '9999'));
  assert.ok(ssnValid('665', '12', '3456'));
  assert.ok(ssnValid('667', '12', '3456'));
  for (const [a, g, s] of [['000', '12', '3456'], ['666', '12', '3456'], ['900', '12', '3456'], ['999', '99', '9999'], ['536', '00', '1870'], ['536', '22', '0000'], ['078', '05', '1120'], ['219', '09', '9999']]) {
    assert.equal(ssnValid(a!, g!, s!), false, `${a}-${g}-${s}`);
  }
});

test('NINO prefixes, DNI/NIE letters, Verhoeff', () => {
  assert.ok(ninoPrefixValid('AB'));
  assert.ok(ninoPrefixValid('CE'));
  for (const p of ['BG', 'GB', 'NK', 'KN', 'TN', 'NT', 'ZZ', 'DA', 'FA', 'IA', 'QA', 'UA', 'VA', 'AO', 'AD', 'AQ', 'Ab']) assert.equal(ninoPrefixValid(p), false, p);
  assert.ok(dniValid('12345678', 'Z'));
  assert.equal(dniValid('12345678', 'A'), false);
  assert.ok(dniValid('X1234567', 'L'));
  assert.ok(dniValid('Y1234567', 'X'));
  assert.equal(dniValid('X1234567', 'Z'), false);
  assert.equal(dniValid('1234567', 'Z'), false);
  assert.ok(verhoeffValid('2363'));
  assert.equal(verhoeffValid('2364'), false);
  assert.equal(verhoeffValid('2336'), false, 'transposition is caught');
  const a = withVerhoeff('23456789012');
  assert.ok(verhoeffValid(a));
});

test('JWT header check and entropy', () => {
  const h = Buffer.from('{"alg":"ES256","typ":"JWT"}').toString('base64url');
  assert.ok(jwtHeaderValid(h));
  assert.equal(jwtHeaderValid(Buffer.from('{"typ":"JWT"}').toString('base64url')), false, 'no alg');
  assert.equal(jwtHeaderValid(Buffer.from('{"alg":5}').toString('base64url')), false);
  assert.equal(jwtHeaderValid(Buffer.from('["alg"]').toString('base64url')), false);
  assert.equal(jwtHeaderValid('eyJhbGciOi'), false, 'truncated');
  assert.equal(shannonEntropy(''), 0);
  assert.equal(shannonEntropy('aaaa'), 0);
  assert.equal(shannonEntropy('abcd'), 2);
});
