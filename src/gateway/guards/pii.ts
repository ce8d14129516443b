/**
 * Personal data: e-mail addresses, phone numbers (E.164, NANP and UK formats), payment cards
 * (Luhn + issuer range), IBANs (country length + mod 97), US SSNs, UK NINOs, Spanish DNI/NIE
 * (mod 23 letter) and Indian Aadhaar numbers (Verhoeff). Every number shape is validated by its
 * checksum or allocation rules, and the looser shapes require separators, to keep false positives
 * low in code, logs and tables.
 */
import { cardNetwork, dniValid, IBAN_LENGTHS, ibanChecksumValid, luhnValid, ninoPrefixValid, ssnValid, verhoeffValid } from './checks.ts';
import { regexRule, type RawMatch, type Rule } from './rule.ts';

const KIND = 'pii' as const;
const NUM_L = '(?<![\\w+\\-.])';
const NUM_R = '(?![\\w]|[-.]\\d)';

const isLocal = (c: number): boolean => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 46 || c === 95 || c === 37 || c === 43 || c === 45;
const isDomain = (c: number): boolean => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 46 || c === 45;
const MAX_LOCAL = 64;
const MAX_DOMAIN = 150;
/** File extensions that look like TLDs in names such as icon@2x.png or pkg@1.2.3.js. */
const NOT_TLD = new Set(['png', 'jpg', 'jpeg', 'gif', 'svg', 'webp', 'bmp', 'ico', 'js', 'mjs', 'cjs', 'ts', 'tsx', 'jsx', 'css', 'scss', 'json', 'yaml', 'yml', 'lock', 'txt', 'log', 'html', 'htm', 'xml', 'map', 'wasm', 'py', 'rb', 'go', 'rs', 'java', 'md', 'zip', 'gz', 'tar']);

function domainValid(d: string): boolean {
  const labels = d.split('.');
  if (labels.length < 2) return false;
  for (const l of labels) if (l.length === 0 || l.length > 63 || l.startsWith('-') || l.endsWith('-')) return false;
  const tld = labels[labels.length - 1]!;
  return (/^[A-Za-z]{2,24}$/.test(tld) || /^xn--[A-Za-z0-9-]{1,59}$/.test(tld)) && !NOT_TLD.has(tld.toLowerCase());
}

/** E-mail addresses, found from each "@" outwards (cheaper and more exact than one regex). */
const emailRule: Rule = {
  id: 'pii.email',
  kind: KIND,
  weight: 1,
  triggers: { cs: ['@'] },
  behind: MAX_LOCAL + 1,
  span: MAX_LOCAL + 1 + MAX_DOMAIN + 2,
  ahead: 2,
  find(text: string, from: number, rule: number, out: RawMatch[]) {
    // A match may not start before `from` nor inside the previous match; whether a local part is
    // too long is read from the text itself (look-behind), so a later scan from another starting
    // point decides every "@" the same way.
    let floor = from;
    let at = text.indexOf('@', from);
    while (at !== -1) {
      let s0 = at;
      while (s0 > 0 && at - s0 <= MAX_LOCAL && isLocal(text.charCodeAt(s0 - 1))) s0--;
      const tooLong = at - s0 > MAX_LOCAL;
      let s = s0;
      while (s < at && text.charCodeAt(s) === 46) s++;
      let e = at + 1;
      const max = Math.min(text.length, at + 1 + MAX_DOMAIN);
      while (e < max && isDomain(text.charCodeAt(e))) e++;
      const domainTooLong = e === at + 1 + MAX_DOMAIN && e < text.length && isDomain(text.charCodeAt(e));
      let d = e;
      while (d > at + 1 && (text.charCodeAt(d - 1) === 46 || text.charCodeAt(d - 1) === 45)) d--;
      // user@host:path is an SSH/SCP remote (git@github.com:org/repo.git), not an address.
      const scp = text.charCodeAt(d) === 58 && d + 1 < text.length && text.charCodeAt(d + 1) > 32;
      if (s0 >= floor && !tooLong && !domainTooLong && !scp && s < at && text.charCodeAt(at - 1) !== 46 && domainValid(text.slice(at + 1, d))) {
        out.push({ rule, anchor: s0, start: s, end: d, reach: d });
        floor = d;
        at = text.indexOf('@', d);
      } else {
        at = text.indexOf('@', at + 1);
      }
    }
  },
};

const digitsOf = (s: string): string => s.replace(/\D/g, '');

function e164Plausible(s: string): boolean {
  const n = digitsOf(s).length;
  if (n < 8 || n > 15) return false;
  if (/[^\d]{3}|\.\.|--|\(\(|\)\)/.test(s)) return false;
  const open = s.split('(').length - 1;
  const close = s.split(')').length - 1;
  return open === close && open <= 1 && (open === 0 || s.indexOf('(') < s.indexOf(')'));
}

/** Card groups: one kind of separator (or none), groups of 3 to 6 digits (last may be shorter). */
function cardGroupsPlausible(s: string): boolean {
  const space = s.includes(' ');
  const dash = s.includes('-');
  if (space && dash) return false;
  if (!space && !dash) return true;
  const groups = s.split(space ? ' ' : '-');
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i]!.length;
    if (g > 6 || (g < 3 && i < groups.length - 1) || g < 1) return false;
  }
  return true;
}

export const PII_RULES: readonly Rule[] = [
  emailRule,
  regexRule({
    id: 'pii.phone',
    kind: KIND,
    // E.164 / international: +<country><number>, 8-15 digits, single separators.
    re: `(?<![\\w+])\\+[1-9][0-9 .\\-()]{6,24}[0-9](?!\\w)`,
    triggers: { special: ['digits7'] },
    span: 28,
    validate: (m) => e164Plausible(m[0]),
  }),
  regexRule({
    id: 'pii.phone',
    kind: KIND,
    // NANP with separators: (202) 555-0143, 202-555-0143, 202.555.0143, 1-202-555-0143.
    re: `${NUM_L}(?:\\+?1[ .-]?)?(?:\\((\\d{3})\\) ?|(\\d{3})[-.])(\\d{3})[-.](\\d{4})${NUM_R}`,
    triggers: { special: ['digits7'] },
    span: 18,
    ahead: 2,
    validate: (m) => {
      const area = m[1] ?? m[2] ?? '';
      const ex = m[3] ?? '';
      return area[0]! >= '2' && ex[0]! >= '2' && !(area[1] === '1' && area[2] === '1') && !(ex[1] === '1' && ex[2] === '1');
    },
  }),
  regexRule({
    id: 'pii.phone',
    kind: KIND,
    // UK national numbers with spaces: 020 7946 0958, 01632 960123, 07700 900123.
    re: `${NUM_L}0[1235789](?:\\d \\d{4} \\d{4}|\\d{2} \\d{3} \\d{4}|\\d{3} \\d{6}|\\d{3} \\d{3} \\d{3}|\\d{3} \\d{5})(?![\\w]|[-. ]\\d)`,
    triggers: { special: ['digits7'] },
    span: 14,
    ahead: 2,
  }),
  regexRule({
    id: 'pii.card',
    kind: KIND,
    re: `${NUM_L}\\d(?:[ -]?\\d){12,18}${NUM_R}`,
    triggers: { special: ['digits7'] },
    span: 38,
    ahead: 2,
    validate: (m) => {
      const d = digitsOf(m[0]);
      return cardGroupsPlausible(m[0]) && cardNetwork(d) !== undefined && luhnValid(d);
    },
  }),
  regexRule({
    id: 'pii.iban',
    kind: KIND,
    // Candidate: country, check digits, then 11-30 characters in optional single-space groups;
    // the country's exact length is taken from the candidate and must end at a word boundary.
    re: '(?<![A-Za-z0-9])([A-Z]{2})\\d{2}(?: ?[A-Z0-9]){11,30}',
    triggers: { special: ['upper2digit2'] },
    span: 64,
    validate: (m, text) => {
      const len = IBAN_LENGTHS[m[1]!];
      if (len === undefined) return undefined;
      const s = m[0];
      let compact = '';
      let i = 0;
      for (; i < s.length && compact.length < len; i++) if (s[i] !== ' ') compact += s[i];
      if (compact.length < len) return undefined;
      const after = text.charCodeAt(m.index + i);
      if ((after >= 48 && after <= 57) || (after >= 65 && after <= 90) || (after >= 97 && after <= 122)) return undefined;
      return ibanChecksumValid(compact) ? [m.index, m.index + i] : undefined;
    },
  }),
  regexRule({
    id: 'pii.us-ssn',
    kind: KIND,
    re: `${NUM_L}(\\d{3})-(\\d{2})-(\\d{4})${NUM_R}`,
    triggers: { special: ['digits7'] },
    span: 11,
    ahead: 2,
    validate: (m) => ssnValid(m[1]!, m[2]!, m[3]!),
  }),
  regexRule({
    id: 'pii.us-ssn',
    kind: KIND,
    // Nine digits (or 3-2-4 with spaces) right after "SSN" / "social security number".
    re: '(?<![A-Za-z0-9])(?:ssn|social\\s{1,3}security\\s{1,3}(?:number|no\\.?|#))\\s{0,3}[:#]?\\s{0,3}(\\d{3})[ -]?(\\d{2})[ -]?(\\d{4})(?![\\w])',
    flags: 'di',
    triggers: { ci: ['ssn', 'social'] },
    span: 60,
    validate: (m) => (ssnValid(m[1]!, m[2]!, m[3]!) && m.indices ? [m.indices[1]![0], m.indices[3]![1]] : undefined),
  }),
  regexRule({
    id: 'pii.uk-nino',
    kind: KIND,
    re: '(?<![A-Za-z0-9])([A-Z]{2}) ?\\d{2} ?\\d{2} ?\\d{2} ?[A-D](?![A-Za-z0-9])',
    triggers: { special: ['upper2digit2'] },
    span: 14,
    validate: (m) => ninoPrefixValid(m[1]!),
  }),
  regexRule({
    id: 'pii.es-dni',
    kind: KIND,
    re: '(?<![A-Za-z0-9])(\\d{8}|[XYZ]\\d{7})-?([A-Z])(?![A-Za-z0-9])',
    triggers: { special: ['digits7'] },
    span: 11,
    validate: (m) => dniValid(m[1]!, m[2]!),
  }),
  regexRule({
    id: 'pii.in-aadhaar',
    kind: KIND,
    re: `${NUM_L}[2-9]\\d{3}([ -])\\d{4}\\1\\d{4}(?![\\w]|[ -]\\d)`,
    triggers: { special: ['digits7'] },
    span: 15,
    ahead: 2,
    validate: (m) => verhoeffValid(digitsOf(m[0])),
  }),
];
