/**
 * Realistic-looking fake credentials and personal data for the guard tests, built at run time from
 * a seeded generator (no token-shaped literal sits in the source, so secret scanners stay quiet).
 * None of these is a real credential or a real person's data.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { charClasses, ibanChecksumValid, verhoeffValid } from './checks.ts';

const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const DIGITS = '0123456789';
const ALNUM = UPPER + LOWER + DIGITS;
const B64 = `${ALNUM}+/`;
const B64URL = `${ALNUM}-_`;

/** mulberry32: a tiny deterministic generator, so failures reproduce. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomFrom(r: () => number, alphabet: string, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(r() * alphabet.length)];
  return s;
}

/** Random text over an alphabet with upper, lower and digits present (as real tokens have). */
function mixed(r: () => number, alphabet: string, n: number): string {
  for (;;) {
    const s = randomFrom(r, alphabet, n);
    const c = charClasses(s);
    if (c.lower && c.upper && (c.digit || !/\d/.test(alphabet))) return s;
  }
}

const r = rng(20260501);
const j = (...parts: string[]): string => parts.join('');

function jwt(header: object, payload: object): string {
  const b = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b(header)}.${b(payload)}.${createHash('sha256').update(JSON.stringify(payload)).digest('base64url')}`;
}

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });

export const FAKE_SECRETS = {
  awsKeyId: j('AK', 'IA', randomFrom(r, `${UPPER}234567`, 16)),
  awsSessionKeyId: j('AS', 'IA', randomFrom(r, `${UPPER}234567`, 16)),
  awsSecret: mixed(r, B64, 40),
  github: j('gh', 'p_', mixed(r, ALNUM, 36)),
  githubOauth: j('gh', 'o_', mixed(r, ALNUM, 36)),
  githubPat: j('github', '_pat_', mixed(r, ALNUM, 22), '_', mixed(r, ALNUM, 59)),
  gitlab: j('gl', 'pat-', mixed(r, ALNUM, 20)),
  slack: j('xo', 'xb-', randomFrom(r, DIGITS, 12), '-', randomFrom(r, DIGITS, 13), '-', mixed(r, ALNUM, 24)),
  stripe: j('sk', '_live_', mixed(r, ALNUM, 24)),
  stripeRestricted: j('rk', '_live_', mixed(r, ALNUM, 99)),
  openaiProject: j('sk', '-proj-', mixed(r, B64URL, 124), 'T3Blbk', 'FJ', mixed(r, B64URL, 30)),
  openaiLegacy: j('sk', '-', mixed(r, ALNUM, 20), 'T3Blbk', 'FJ', mixed(r, ALNUM, 20)),
  anthropic: j('sk', '-ant-', 'api03-', mixed(r, B64URL, 93), 'AA'),
  huggingface: j('h', 'f_', mixed(r, UPPER + LOWER, 34)),
  googleApi: j('AI', 'za', 'Sy', mixed(r, B64URL, 33)),
  azureKey: j(mixed(r, B64, 86), '=='),
  jwt: jwt({ alg: 'HS256', typ: 'JWT' }, { sub: '1234567890', name: 'Jane Example', iat: 1767225600 }),
  jwtRs: jwt({ alg: 'RS256', typ: 'JWT', kid: 'k-2026-05' }, { iss: 'https://idp.example.com', aud: 'perimeter', sub: 'svc-reports', exp: 1767229200, groups: ['analysts', 'ops'], email: 'svc@example.com' }),
  perimeter: j('prm', '_', randomFrom(r, '0123456789abcdef', 12), '_', mixed(r, B64URL, 43)),
  rsaPkcs1: rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
  rsaPkcs8: rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  rsaEncrypted: rsa.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'correct horse' }).toString(),
  ecSec1: ec.privateKey.export({ type: 'sec1', format: 'pem' }).toString(),
  openssh: j('-----BEGIN OPENSSH ', 'PRIVATE KEY-----\n', 'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n', mixed(r, B64, 70), '\n', mixed(r, B64, 70), '\n-----END OPENSSH ', 'PRIVATE KEY-----\n'),
  genericPassword: j('Tr0ub4', 'dor&3x9Q'),
};

/** A Google service-account key file (the JSON shape of a real one, with a fresh RSA key). */
export const FAKE_GCP_KEY_FILE = JSON.stringify(
  {
    type: 'service_account',
    project_id: 'demo-project-421',
    private_key_id: randomFrom(r, '0123456789abcdef', 40),
    private_key: FAKE_SECRETS.rsaPkcs8,
    client_email: 'reports@demo-project-421.iam.gserviceaccount.com',
    client_id: randomFrom(r, DIGITS, 21),
    token_uri: 'https://oauth2.googleapis.com/token',
  },
  null,
  2,
);

/** An IBAN with correct check digits for a country and BBAN. */
export function makeIban(country: string, bban: string): string {
  for (let c = 2; c <= 98; c++) {
    const iban = `${country}${String(c).padStart(2, '0')}${bban}`;
    if (ibanChecksumValid(iban)) return iban;
  }
  throw new Error('no check digits');
}

/** Appends the Verhoeff check digit. */
export function withVerhoeff(digits: string): string {
  for (let d = 0; d <= 9; d++) if (verhoeffValid(`${digits}${d}`)) return `${digits}${d}`;
  throw new Error('no check digit');
}

/** Appends the Luhn check digit. */
export function withLuhn(digits: string): string {
  for (let d = 0; d <= 9; d++) {
    const s = `${digits}${d}`;
    let sum = 0;
    for (let i = 0; i < s.length; i++) {
      let x = Number(s[s.length - 1 - i]);
      if (i % 2 === 1) x = x * 2 > 9 ? x * 2 - 9 : x * 2;
      sum += x;
    }
    if (sum % 10 === 0) return s;
  }
  throw new Error('unreachable');
}
