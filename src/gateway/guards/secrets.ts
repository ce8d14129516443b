/**
 * Secrets: private keys, cloud and SaaS credentials with a recognisable shape, JWTs, our own
 * gateway keys, and (conservatively) high-entropy values assigned to password/secret/key names.
 * Token shapes follow each vendor's published format; see docs/guards.md for the table.
 */
import { charClasses, jwtHeaderValid, shannonEntropy } from './checks.ts';
import { regexRule, type Rule } from './rule.ts';

const KIND = 'secret' as const;
/** Not preceded / followed by a token character. */
const L = '(?<![A-Za-z0-9_])';
const R = '(?![A-Za-z0-9_])';
const LD = '(?<![A-Za-z0-9_-])';
const RD = '(?![A-Za-z0-9_-])';

const PEM_LABEL = '(?:(?:RSA|EC|DSA|OPENSSH|ENCRYPTED|PGP) )?PRIVATE KEY(?: BLOCK)?';
/** Longest PEM body held and redacted as one match (a 16384-bit RSA key is ~12.7 KB). */
const PEM_BODY = 16384;

function hasMixedCase(s: string): boolean {
  const c = charClasses(s);
  return c.lower && c.upper;
}

/** A value assigned to a password-like name looks like a real secret, not code or a placeholder. */
export function plausibleSecretValue(v: string): boolean {
  if (v.length < 8) return false;
  if (/^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+$/.test(v)) return false; // member access: config.secret
  if (/^[$%@&*#]|^\{\{|xxxx|\*\*\*|\.\.\.|^<|your|example|changeme|placeholder|redacted|dummy|sample|^none$|^null$|^true$|^false$|^undefined$/i.test(v)) return false;
  const c = charClasses(v);
  const strong = c.digit ? c.lower || c.upper : c.lower && c.upper && c.other;
  return strong && shannonEntropy(v) >= 3;
}

const KEY_ID = /(?:AKIA|ASIA)[A-Z0-9]{16}/g;
const SECRET_40 = /(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])/g;
/** How far after an access key id its secret key is looked for. */
const NEAR = 120;

/** 40 base64 characters starting 1 to NEAR characters after an AWS access key id. */
const awsSecretNearKeyId: Rule = {
  id: 'secret.aws-secret-key',
  kind: KIND,
  weight: 1,
  triggers: { cs: ['AKIA', 'ASIA'] },
  behind: 20 + NEAR,
  span: 41,
  ahead: 1,
  find(text, from, rule, out) {
    KEY_ID.lastIndex = Math.max(0, from - 20 - NEAR);
    let next = from;
    let id: RegExpExecArray | null;
    while ((id = KEY_ID.exec(text)) !== null) {
      // The window a value may occupy (starting 1..NEAR after the id), with one character of
      // context on each side for the boundary checks; searched as a short slice so a key id
      // with no value after it costs ~NEAR characters, not the rest of the text.
      const lo = id.index + 20;
      const windowText = text.slice(lo, lo + NEAR + 41);
      SECRET_40.lastIndex = Math.max(1, next - lo);
      let v: RegExpExecArray | null;
      while ((v = SECRET_40.exec(windowText)) !== null && v.index <= NEAR) {
        if (awsSecretShape(v[0])) {
          out.push({ rule, anchor: lo + v.index, start: lo + v.index, end: lo + v.index + 40, reach: lo + v.index + 40 });
          next = lo + v.index + 40;
        }
      }
      KEY_ID.lastIndex = id.index + 1;
    }
  },
};

export const SECRET_RULES: readonly Rule[] = [
  regexRule({
    id: 'secret.private-key',
    kind: KIND,
    // A PEM private key (PKCS#1, SEC1, PKCS#8, encrypted PKCS#8, OpenSSH, PGP): the header, then
    // everything up to the footer (escaped \n in JSON included). A header without its footer
    // takes the rest of the text, up to PEM_BODY characters.
    re: `-----BEGIN ${PEM_LABEL}-----(?:[^-]|-(?!----)){0,${PEM_BODY}}(?:-----END ${PEM_LABEL}-----)?`,
    triggers: { cs: ['-----BEGIN '] },
    behind: 0,
    span: 48,
    ahead: 48,
  }),
  regexRule({
    id: 'secret.gcp-service-account',
    kind: KIND,
    // The private_key member of a Google service-account JSON key file: the JSON string's content
    // (so the redacted file is still JSON).
    re: `"private_key"\\s{0,3}:\\s{0,3}"(-----BEGIN PRIVATE KEY-----(?:[^"\\\\]|\\\\[^]){0,${PEM_BODY}})"?`,
    group: 1,
    triggers: { cs: ['"private_key"'] },
    behind: 0,
    span: 64,
    ahead: 2,
  }),
  regexRule({
    id: 'secret.aws-access-key',
    kind: KIND,
    re: '(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Za-z0-9])',
    triggers: { cs: ['AKIA', 'ASIA', 'ABIA', 'ACCA'] },
    span: 21,
  }),
  regexRule({
    id: 'secret.aws-secret-key',
    kind: KIND,
    // 40 base64 characters assigned to an AWS secret-key name (the value only).
    re: '(?:aws[_-]?secret[_-]?(?:access[_-]?)?key|secret[_-]?access[_-]?key)["\']?\\s{0,3}(?::|=|=>|:=)\\s{0,3}["\']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])',
    flags: 'i',
    group: 1,
    triggers: { ci: ['secret'] },
    span: 80,
    validate: (m) => awsSecretShape(m[1]!),
  }),
  awsSecretNearKeyId,
  regexRule({
    id: 'secret.github-token',
    kind: KIND,
    re: `${L}gh[pousr]_[A-Za-z0-9]{36,80}${R}`,
    triggers: { cs: ['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_'] },
    span: 86,
  }),
  regexRule({
    id: 'secret.github-pat',
    kind: KIND,
    re: `${L}github_pat_[A-Za-z0-9_]{60,120}${R}`,
    triggers: { cs: ['github_pat_'] },
    span: 132,
  }),
  regexRule({
    id: 'secret.gitlab-token',
    kind: KIND,
    re: `${LD}gl(?:pat|dt|rt|cbt|ptt|ft|soat|imt|oas|agent)-[A-Za-z0-9_-]{20,100}(?:\\.[A-Za-z0-9_-]{1,40}){0,3}${RD}`,
    triggers: { cs: ['glpat-', 'gldt-', 'glrt-', 'glcbt-', 'glptt-', 'glft-', 'glsoat-', 'glimt-', 'gloas-', 'glagent-'] },
    span: 240,
  }),
  regexRule({
    id: 'secret.slack-token',
    kind: KIND,
    re: `${LD}xox[abpr]-[A-Za-z0-9]{1,40}(?:-[A-Za-z0-9]{1,64}){1,4}${RD}`,
    triggers: { cs: ['xoxa-', 'xoxb-', 'xoxp-', 'xoxr-'] },
    span: 240,
    validate: (m) => m[0].length >= 24,
  }),
  regexRule({
    id: 'secret.stripe-key',
    kind: KIND,
    re: `${L}(?:sk|rk)_live_[A-Za-z0-9]{20,120}${R}`,
    triggers: { cs: ['sk_live_', 'rk_live_'] },
    span: 130,
  }),
  regexRule({
    id: 'secret.anthropic-key',
    kind: KIND,
    re: `${LD}sk-ant-[a-z]{3,8}\\d{2}-[A-Za-z0-9_-]{32,160}${RD}`,
    triggers: { cs: ['sk-ant-'] },
    span: 182,
  }),
  regexRule({
    id: 'secret.openai-key',
    kind: KIND,
    re: `${LD}sk-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,200}|[A-Za-z0-9]{48})${RD}`,
    triggers: { cs: ['sk-'] },
    span: 214,
  }),
  regexRule({
    id: 'secret.huggingface-token',
    kind: KIND,
    re: `${L}hf_[A-Za-z0-9]{34,40}${R}`,
    triggers: { cs: ['hf_'] },
    span: 44,
    validate: (m) => hasMixedCase(m[0].slice(3)),
  }),
  regexRule({
    id: 'secret.google-api-key',
    kind: KIND,
    re: `${LD}AIza[A-Za-z0-9_-]{35}${RD}`,
    triggers: { cs: ['AIza'] },
    span: 40,
  }),
  regexRule({
    id: 'secret.azure-storage-key',
    kind: KIND,
    // The key in an Azure Storage / Service Bus / Event Hubs connection string (value only).
    re: '(?:AccountKey|SharedAccessKey)=([A-Za-z0-9+/]{40,86}={0,2})(?![A-Za-z0-9+/=])',
    flags: 'i',
    group: 1,
    triggers: { ci: ['accountkey=', 'sharedaccesskey='] },
    span: 89,
  }),
  regexRule({
    id: 'secret.jwt',
    kind: KIND,
    // A JWS/JWT: a header segment that decodes to JSON with "alg", a dot, then the payload and
    // signature segments (taken greedily once the header is known).
    re: `${LD}eyJ[A-Za-z0-9_-]{10,200}\\.[A-Za-z0-9_-]*(?:\\.[A-Za-z0-9_-]*)?`,
    triggers: { cs: ['eyJ'] },
    span: 205,
    ahead: 2,
    validate: (m) => jwtHeaderValid(m[0].slice(0, m[0].indexOf('.'))),
  }),
  regexRule({
    id: 'secret.perimeter-key',
    kind: KIND,
    re: `${L}prm_[0-9a-f]{12}_[A-Za-z0-9_-]{43}${RD}`,
    triggers: { cs: ['prm_'] },
    span: 61,
  }),
  regexRule({
    id: 'secret.generic-assignment',
    kind: KIND,
    // name = "value", name: value, "name": "value" -- the value only, when it looks random.
    re: '(?<![A-Za-z0-9])(?:password|passwd|passphrase|pwd|secret|client_secret|secret[_-]?key|api[_-]?key|apikey|access[_-]?token|auth[_-]?token|private[_-]?key|token)["\']?\\s{0,3}(?::=|=>|:|=)\\s{0,3}(?:"([^"\\s]{8,128})"|\'([^\'\\s]{8,128})\'|([^\\s"\'`,;(){}<>\\[\\]]{8,128}))',
    flags: 'di',
    triggers: { ci: ['password', 'passwd', 'passphrase', 'pwd', 'secret', 'api_key', 'api-key', 'apikey', 'token', 'private_key', 'private-key', 'privatekey'] },
    span: 175,
    validate: (m) => {
      const g = m[1] !== undefined ? 1 : m[2] !== undefined ? 2 : 3;
      const v = m[g];
      const ix = m.indices?.[g];
      return v !== undefined && ix !== undefined && plausibleSecretValue(v) ? [ix[0], ix[1]] : undefined;
    },
  }),
];

function awsSecretShape(v: string): boolean {
  const c = charClasses(v);
  return c.lower && c.upper && (c.digit || c.other);
}
