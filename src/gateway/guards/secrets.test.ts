/** Secrets detector: every rule finds its realistic fake, with the exact span; the benign corpus stays clean. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gatewayGuardsSchema } from '../../config/gateway-guards.ts';
import { GuardSet } from './guard-set.ts';
import { BENIGN } from './test-corpus.ts';
import { FAKE_GCP_KEY_FILE, FAKE_SECRETS as F } from './test-fakes.ts';

const set = new GuardSet(gatewayGuardsSchema.parse({ input: { secrets: 'redact', pii: 'off', injection: 'off' } }));

/** The findings (rule and the exact text they cover) of one input text. */
function found(text: string): [string, string][] {
  return set.inspect(text, 'input').findings.map((f) => [f.rule, text.slice(f.start, f.end)]);
}

test('each token shape is found with its exact span, inside ordinary sentences', () => {
  const cases: [string, string, string][] = [
    ['secret.aws-access-key', F.awsKeyId, `export AWS_ACCESS_KEY_ID=${F.awsKeyId}\n`],
    ['secret.aws-access-key', F.awsSessionKeyId, `temporary id (${F.awsSessionKeyId}) expires soon`],
    ['secret.github-token', F.github, `git clone https://${F.github}@github.com/acme/private.git`],
    ['secret.github-token', F.githubOauth, `token: "${F.githubOauth}",`],
    ['secret.github-pat', F.githubPat, `GH_TOKEN=${F.githubPat}`],
    ['secret.gitlab-token', F.gitlab, `use ${F.gitlab}.`],
    ['secret.slack-token', F.slack, `SLACK_BOT_TOKEN='${F.slack}'`],
    ['secret.stripe-key', F.stripe, `Stripe.api_key = "${F.stripe}"`],
    ['secret.stripe-key', F.stripeRestricted, `restricted ${F.stripeRestricted}`],
    ['secret.openai-key', F.openaiProject, `OPENAI_API_KEY=${F.openaiProject}`],
    ['secret.openai-key', F.openaiLegacy, `client = OpenAI(api_key="${F.openaiLegacy}")`],
    ['secret.anthropic-key', F.anthropic, `x-api-key: ${F.anthropic}`],
    ['secret.huggingface-token', F.huggingface, `huggingface-cli login --token ${F.huggingface}`],
    ['secret.google-api-key', F.googleApi, `https://maps.googleapis.com/maps/api/js?key=${F.googleApi}&callback=init`],
    ['secret.jwt', F.jwt, `Authorization: Bearer ${F.jwt}`],
    ['secret.jwt', F.jwtRs, `id_token=${F.jwtRs}; Path=/`],
    ['secret.perimeter-key', F.perimeter, `curl -H "Authorization: Bearer ${F.perimeter}" https://gw/v1/models`],
  ];
  for (const [rule, secret, text] of cases) {
    const f = found(text).filter(([r]) => r !== 'secret.generic-assignment');
    assert.deepEqual(f, [[rule, secret]], `${rule} in ${text}`);
  }
});

test('AWS secret keys: assigned to an AWS name, or within 120 characters after a key id', () => {
  assert.deepEqual(found(`aws_secret_access_key = ${F.awsSecret}`), [['secret.aws-secret-key', F.awsSecret]]);
  assert.deepEqual(found(`"SecretAccessKey": "${F.awsSecret}"`), [['secret.aws-secret-key', F.awsSecret]]);
  assert.deepEqual(found(`${F.awsKeyId} / ${F.awsSecret}`), [['secret.aws-access-key', F.awsKeyId], ['secret.aws-secret-key', F.awsSecret]]);
  const far = `${F.awsKeyId}${' '.repeat(130)}${F.awsSecret}`;
  assert.deepEqual(found(far), [['secret.aws-access-key', F.awsKeyId]], 'too far from the key id');
  const hex = '3f786850e387550fdab836ed7e6dc881de23001b'; // a git SHA-1: 40 characters, no capitals
  assert.deepEqual(found(`${F.awsKeyId} commit ${hex}`), [['secret.aws-access-key', F.awsKeyId]]);
});

test('PEM private keys of every kind are found whole, footer included; public keys and certificates are not', () => {
  for (const pem of [F.rsaPkcs1, F.rsaPkcs8, F.rsaEncrypted, F.ecSec1, F.openssh]) {
    const text = `here is the key:\n${pem}\nthanks`;
    const f = found(text);
    assert.equal(f.length, 1, pem.slice(0, 40));
    assert.equal(f[0]![0], 'secret.private-key');
    assert.equal(f[0]![1], pem.trimEnd());
  }
  const header = '-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,3F17F5316E2BAC89\n\nMIIEpAIBAAKCAQEA1\n-----END RSA PRIVATE KEY-----';
  assert.deepEqual(found(header), [['secret.private-key', header]], 'legacy encrypted PEM with its headers');
  const unterminated = 'key: -----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIB3x and the rest of the answer';
  assert.deepEqual(found(unterminated), [['secret.private-key', unterminated.slice(5)]], 'no footer: the rest of the text');
  const pub = '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----';
  assert.deepEqual(found(pub), []);
});

test('a GCP service-account key file: the private_key member is one finding covering the escaped PEM', () => {
  const r = set.inspect(FAKE_GCP_KEY_FILE, 'input');
  assert.equal(r.verdict, 'redact');
  const rules = r.findings.map((f) => f.rule);
  assert.ok(rules.includes('secret.gcp-service-account'), rules.join());
  const out = JSON.parse(r.text) as Record<string, string>;
  assert.equal(out.private_key, '[REDACTED:secret.gcp-service-account]', 'the value is redacted and the file is still JSON');
  assert.equal(out.client_email, 'reports@demo-project-421.iam.gserviceaccount.com');
  assert.doesNotMatch(r.text, /BEGIN PRIVATE KEY|MII/);
});

test('Azure connection strings: the account key value is redacted, the rest kept', () => {
  const cs = `DefaultEndpointsProtocol=https;AccountName=acmestore;AccountKey=${F.azureKey};EndpointSuffix=core.windows.net`;
  const r = set.inspect(cs, 'input');
  assert.equal(r.text, 'DefaultEndpointsProtocol=https;AccountName=acmestore;AccountKey=[REDACTED:secret.azure-storage-key];EndpointSuffix=core.windows.net');
});

test('generic assignments: random-looking values only, the value alone is redacted', () => {
  const r = set.inspect(`DB_PASSWORD="${F.genericPassword}"\napi_key: 'q8F2mZ7xR4tL9wK3'\n"client_secret": "a1b2c3d4e5f6g7h8i9j0"`, 'input');
  assert.equal(r.text, 'DB_PASSWORD="[REDACTED:secret.generic-assignment]"\napi_key: \'[REDACTED:secret.generic-assignment]\'\n"client_secret": "[REDACTED:secret.generic-assignment]"');
  for (const benign of ['password = getPassword()', 'password: str', 'password = "changeme"', 'api_key = "<your-api-key>"', 'token = "xxxxxxxxxxxxxxxx"', 'secret = config.secret_value', 'password = "${DB_PASSWORD}"', 'PASSWORD=********', 'token: 4096', 'password_hash = "5f4dcc3b5aa765d61d8327deb882cf99"']) {
    assert.deepEqual(found(benign), [], benign);
  }
});

test('look-alikes are not tokens: wrong lengths, glued to other words, lower-case ids', () => {
  for (const s of [
    `x${F.github}`, // glued to a word
    `${F.github.slice(0, 30)} is truncated`,
    `${F.awsKeyId.toLowerCase()} in lower case`,
    'sk-1234 and risk-based task-list desk-top',
    'the hf_model_name_for_testing_purposes_only setting',
    'eyJ is how base64 of {" starts; eyJhbGciOi.truncated',
    'prm_0123456789ab_short',
  ]) {
    assert.deepEqual(found(s), [], s);
  }
});

test('benign corpus: prose, code, UUIDs, SHAs, base64 images, numbers, logs: no secret findings', () => {
  for (const text of BENIGN) assert.deepEqual(found(text), [], text.slice(0, 80));
});
