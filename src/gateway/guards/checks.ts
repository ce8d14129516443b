/**
 * Checksums and structural checks that keep the PII and secret detectors' false positives low:
 * Luhn and issuer ranges for payment cards, the IBAN country lengths and ISO 7064 mod 97-10,
 * US SSN area/group/serial rules, UK NINO prefixes, the Spanish DNI/NIE letter, Verhoeff for
 * Aadhaar, Shannon entropy, and "does this JWT header decode to JSON with alg".
 * Pure functions over ASCII; every one is cheap and allocation-light.
 */

/** Luhn (mod 10) over a string of ASCII digits. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return digits.length > 0 && sum % 10 === 0;
}

const between = (p: number, lo: number, hi: number): boolean => p >= lo && p <= hi;

/** The card network whose issuer (IIN) range and length fit, or undefined. */
export function cardNetwork(digits: string): string | undefined {
  const n = digits.length;
  const p1 = digits.charCodeAt(0) - 48;
  const p2 = Number(digits.slice(0, 2));
  const p3 = Number(digits.slice(0, 3));
  const p4 = Number(digits.slice(0, 4));
  const p6 = Number(digits.slice(0, 6));
  if (p1 === 4 && (n === 13 || n === 16 || n === 19)) return 'visa';
  if ((between(p2, 51, 55) || between(p4, 2221, 2720)) && n === 16) return 'mastercard';
  if ((p2 === 34 || p2 === 37) && n === 15) return 'amex';
  if ((p4 === 6011 || between(p3, 644, 649) || p2 === 65 || between(p6, 622126, 622925)) && between(n, 16, 19)) return 'discover';
  if (between(p4, 3528, 3589) && between(n, 16, 19)) return 'jcb';
  if ((between(p3, 300, 305) || p4 === 3095 || p2 === 36 || p2 === 38 || p2 === 39) && between(n, 14, 19)) return 'diners';
  if (p2 === 62 && between(n, 16, 19)) return 'unionpay';
  if (between(p4, 2200, 2204) && n === 16) return 'mir';
  if ([5018, 5020, 5038, 5893, 6304, 6759, 6761, 6762, 6763].includes(p4) && between(n, 13, 19)) return 'maestro';
  return undefined;
}

/** IBAN length per country (SWIFT IBAN registry). */
export const IBAN_LENGTHS: Readonly<Record<string, number>> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BI: 27, BR: 29, BY: 28,
  CH: 21, CR: 22, CY: 28, CZ: 24, DE: 22, DJ: 27, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18,
  FK: 18, FO: 18, FR: 27, GB: 22, GE: 22, GI: 23, GL: 18, GR: 27, GT: 28, HN: 28, HR: 21, HU: 28,
  IE: 22, IL: 23, IQ: 23, IS: 26, IT: 27, JO: 30, KW: 30, KZ: 20, LB: 28, LC: 32, LI: 21, LT: 20,
  LU: 20, LV: 21, LY: 25, MC: 27, MD: 24, ME: 22, MK: 19, MN: 20, MR: 27, MT: 31, MU: 30, NI: 28,
  NL: 18, NO: 15, OM: 23, PK: 24, PL: 28, PS: 29, PT: 25, QA: 29, RO: 24, RS: 22, RU: 33, SA: 24,
  SC: 31, SD: 18, SE: 24, SI: 19, SK: 24, SM: 27, SO: 23, ST: 25, SV: 28, TL: 23, TN: 24, TR: 26,
  UA: 29, VA: 22, VG: 24, XK: 20, YE: 30,
};

/** ISO 7064 mod 97-10 over an IBAN without spaces (upper case): true when the remainder is 1. */
export function ibanChecksumValid(iban: string): boolean {
  const n = iban.length;
  if (n < 5) return false;
  let rem = 0;
  for (let k = 0; k < n; k++) {
    const c = iban.charCodeAt((k + 4) % n);
    if (c >= 48 && c <= 57) rem = (rem * 10 + (c - 48)) % 97;
    else if (c >= 65 && c <= 90) rem = (rem * 100 + (c - 55)) % 97;
    else return false;
  }
  return rem === 1;
}

/** A whole IBAN (no spaces): known country, that country's length, digits for the check, mod 97. */
export function ibanValid(iban: string): boolean {
  const len = IBAN_LENGTHS[iban.slice(0, 2)];
  return len === iban.length && /^[A-Z]{2}\d{2}[A-Z0-9]+$/.test(iban) && ibanChecksumValid(iban);
}

/** US SSN area/group/serial rules (SSA): area 001-899 except 666, group 01-99, serial 0001-9999. */
export function ssnValid(area: string, group: string, serial: string): boolean {
  const a = Number(area);
  if (a === 0 || a === 666 || a >= 900) return false;
  if (Number(group) === 0 || Number(serial) === 0) return false;
  // Numbers the SSA voided after they were published (the Woolworth wallet card, an ad).
  const whole = `${area}${group}${serial}`;
  return whole !== '078051120' && whole !== '219099999';
}

const NINO_BAD_PREFIX = new Set(['BG', 'GB', 'KN', 'NK', 'NT', 'TN', 'ZZ']);

/** UK National Insurance number prefix rules (HMRC): letters allowed in each place, unused pairs. */
export function ninoPrefixValid(prefix: string): boolean {
  return /^[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]$/.test(prefix) && !NINO_BAD_PREFIX.has(prefix);
}

const DNI_LETTERS = 'TRWAGMYFPDXBNJZSQVHLCKE';

/** Spanish DNI (8 digits) or NIE (X/Y/Z + 7 digits): the control letter is the number mod 23. */
export function dniValid(number: string, letter: string): boolean {
  let digits = number;
  const first = number[0];
  if (first === 'X' || first === 'Y' || first === 'Z') digits = `${'XYZ'.indexOf(first)}${number.slice(1)}`;
  if (!/^\d{8}$/.test(digits)) return false;
  return DNI_LETTERS[Number(digits) % 23] === letter;
}

const VERHOEFF_D = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 2, 3, 4, 0, 6, 7, 8, 9, 5], [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
  [3, 4, 0, 1, 2, 8, 9, 5, 6, 7], [4, 0, 1, 2, 3, 9, 5, 6, 7, 8], [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
  [6, 5, 9, 8, 7, 1, 0, 4, 3, 2], [7, 6, 5, 9, 8, 2, 1, 0, 4, 3], [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
  [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
];
const VERHOEFF_P = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 5, 7, 6, 2, 8, 3, 0, 9, 4], [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
  [8, 9, 1, 6, 0, 4, 3, 5, 2, 7], [9, 4, 5, 3, 1, 2, 6, 8, 7, 0], [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
  [2, 7, 9, 3, 8, 0, 6, 4, 1, 5], [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
];

/** Verhoeff check over digits whose last digit is the check digit (Aadhaar uses it). */
export function verhoeffValid(digits: string): boolean {
  let c = 0;
  for (let i = 0; i < digits.length; i++) {
    const d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (d < 0 || d > 9) return false;
    c = VERHOEFF_D[c]![VERHOEFF_P[i % 8]![d]!]!;
  }
  return digits.length > 0 && c === 0;
}

/** Shannon entropy in bits per character (UTF-16 code units). */
export function shannonEntropy(s: string): number {
  if (s.length === 0) return 0;
  const counts = new Map<number, number>();
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  let h = 0;
  for (const n of counts.values()) {
    const p = n / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}

/** How many of lower, upper, digit and other characters occur. */
export function charClasses(s: string): { lower: boolean; upper: boolean; digit: boolean; other: boolean } {
  let lower = false;
  let upper = false;
  let digit = false;
  let other = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 97 && c <= 122) lower = true;
    else if (c >= 65 && c <= 90) upper = true;
    else if (c >= 48 && c <= 57) digit = true;
    else other = true;
  }
  return { lower, upper, digit, other };
}

/** A base64url JWT header segment that decodes to a JSON object with a string "alg". */
export function jwtHeaderValid(segment: string): boolean {
  if (segment.length % 4 === 1) return false;
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    return false;
  }
  return typeof json === 'object' && json !== null && !Array.isArray(json) && typeof (json as { alg?: unknown }).alg === 'string';
}
