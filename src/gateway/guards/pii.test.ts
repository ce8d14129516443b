/** PII detector: e-mail, phones, cards, IBANs, SSN, NINO, DNI/NIE, Aadhaar; checksums keep look-alikes out. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gatewayGuardsSchema } from '../../config/gateway-guards.ts';
import { GuardSet } from './guard-set.ts';
import { BENIGN } from './test-corpus.ts';
import { makeIban, withLuhn, withVerhoeff } from './test-fakes.ts';

const set = new GuardSet(gatewayGuardsSchema.parse({ input: { secrets: 'off', pii: 'redact', injection: 'off' } }));

function found(text: string): [string, string][] {
  return set.inspect(text, 'input').findings.map((f) => [f.rule, text.slice(f.start, f.end)]);
}

test('e-mail addresses: exact spans, sentence punctuation left out', () => {
  assert.deepEqual(found('Write to jane.doe+billing@example.co.uk.'), [['pii.email', 'jane.doe+billing@example.co.uk']]);
  assert.deepEqual(found('<a href="mailto:ops-team@mail.acme-corp.io">'), [['pii.email', 'ops-team@mail.acme-corp.io']]);
  assert.deepEqual(found('a@b.cd, x_y@sub.domain.museum; "Ünïcode" <u.ser@xn--bcher-kva.example>'), [['pii.email', 'a@b.cd'], ['pii.email', 'x_y@sub.domain.museum'], ['pii.email', 'u.ser@xn--bcher-kva.example']]);
  for (const s of ['@scope/pkg and user@localhost', 'icon@2x.png, pkg@1.2.3', 'foo@-bar.com', 'ends.@example.com', '.@x.com', `${'a'.repeat(65)}@example.com`]) {
    assert.deepEqual(found(s), [], s);
  }
});

test('phone numbers: E.164 and NANP/UK formats with separators', () => {
  for (const p of ['+44 20 7946 0958', '+1 (202) 555-0143', '+1-202-555-0143', '+33 1 09 75 83 51', '+4930901820', '(202) 555-0143', '202-555-0143', '202.555.0143', '1-800-555-0199', '020 7946 0958', '07700 900123', '01632 960123']) {
    assert.deepEqual(found(`call me on ${p} today`), [['pii.phone', p]], p);
  }
  for (const s of ['+12 34', '123-456-7890 (area 123)', '555 123 4567', '911-555-0143', '2025550143', '+0 123 456 789', 'version 202.555.0143.1', '12:30:45', '192.168.100.200']) {
    assert.deepEqual(found(s).filter(([r]) => r === 'pii.phone'), [], s);
  }
});

test('payment cards: Luhn-valid numbers in known issuer ranges, plain or grouped', () => {
  for (const c of ['4111 1111 1111 1111', '4111-1111-1111-1111', '4111111111111111', '5555 5555 5555 4444', '3782 822463 10005', '6011 1111 1111 1117', '3530111333300000', '2223 0031 2200 3222', '3056 930902 5904', withLuhn('453201511283036')]) {
    assert.deepEqual(found(`card: ${c}.`), [['pii.card', c]], c);
  }
  for (const s of ['4111 1111 1111 1112', '4111-1111 1111-1111', '1234 5678 9012 3456', '41 11 11 11 11 11 11 11', '9781492052203', '1700000000000', `x${'4111111111111111'}`, '4111111111111111111111']) {
    assert.deepEqual(found(s).filter(([r]) => r === 'pii.card'), [], s);
  }
});

test('IBANs: country length and mod 97, with or without groups; trailing words are not taken', () => {
  const es = makeIban('ES', '21000418450200051332');
  for (const i of ['DE89 3704 0044 0532 0130 00', 'GB82 WEST 1234 5698 7654 32', 'FR14 2004 1010 0505 0001 3M02 606', 'NL91ABNA0417164300', es]) {
    assert.deepEqual(found(`IBAN ${i} IS MINE`), [['pii.iban', i]], i);
  }
  for (const s of ['DE89 3704 0044 0532 0130 01', 'XX89 3704 0044 0532 0130 00', 'DE89370400440532013000123', 'GB82WEST1234569876543']) {
    assert.deepEqual(found(s).filter(([r]) => r === 'pii.iban'), [], s);
  }
});

test('national ids: SSN rules, NINO prefixes, DNI/NIE letters, Aadhaar Verhoeff', () => {
  assert.deepEqual(found('SSN 536-22-1870'), [['pii.us-ssn', '536-22-1870']]);
  assert.deepEqual(found('social security number: 536221870'), [['pii.us-ssn', '536221870']]);
  for (const s of ['000-22-1870', '666-22-1870', '912-22-1870', '536-00-1870', '536-22-0000', '2024-01-15', '536221870 alone']) {
    assert.deepEqual(found(s).filter(([r]) => r === 'pii.us-ssn'), [], s);
  }
  assert.deepEqual(found('NI number AB 12 34 56 C and CE123456D'), [['pii.uk-nino', 'AB 12 34 56 C'], ['pii.uk-nino', 'CE123456D']]);
  assert.deepEqual(found('QQ 12 34 56 C, GB123456A, AB123456E'), []);
  assert.deepEqual(found('DNI 12345678Z, NIE X1234567L'), [['pii.es-dni', '12345678Z'], ['pii.es-dni', 'X1234567L']]);
  assert.deepEqual(found('12345678A X1234567Z'), []);
  const a = withVerhoeff('23456789012');
  const spaced = `${a.slice(0, 4)} ${a.slice(4, 8)} ${a.slice(8)}`;
  assert.deepEqual(found(`Aadhaar ${spaced}`), [['pii.in-aadhaar', spaced]]);
  const wrong = `${spaced.slice(0, -1)}${(Number(spaced.at(-1)) + 1) % 10}`;
  assert.deepEqual(found(`Aadhaar ${wrong}`), []);
});

test('several findings of several kinds in one text keep their order and spans', () => {
  const text = 'Jane (jane@example.com, +44 20 7946 0958) paid with 4111 1111 1111 1111 from DE89 3704 0044 0532 0130 00.';
  assert.deepEqual(found(text).map(([r]) => r), ['pii.email', 'pii.phone', 'pii.card', 'pii.iban']);
});

test('benign corpus: no PII findings', () => {
  for (const text of BENIGN) assert.deepEqual(found(text), [], text.slice(0, 80));
});
