/** The CLI as a user runs it: the real launcher in a child process, real files, exit codes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTree, tempDir } from '../../test/helpers.ts';
import { KEYS, REF, copyVector } from '../../test/oms.ts';

const BIN = new URL('../../bin/perimeter.js', import.meta.url).pathname;
function cli(args: string[], cwd?: string) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd, env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('--help lists the commands and exits 0', () => {
  const r = cli(['--help']);
  assert.equal(r.code, 0);
  for (const c of ['demo', 'hash', 'sign', 'verify']) assert.match(r.stdout, new RegExp(`\\b${c}\\b`));
});

test('usage errors exit 2', () => {
  assert.equal(cli(['hash']).code, 2);
  assert.equal(cli(['no-such-command']).code, 2);
  assert.equal(cli(['hash', '.', '--method', 'tar']).code, 2);
  assert.equal(cli(['hash', '.', '--shard-size', '-5', '--method', 'shards']).code, 2);
});

test('hash prints the root digest; --json prints the manifest', () => {
  const root = makeTree({ 'a.txt': 'hello\n', 'w/b.bin': 'x' });
  const plain = cli(['hash', root]);
  assert.equal(plain.code, 0);
  assert.match(plain.stdout.trim(), /^sha256:[0-9a-f]{64}$/);
  const json = cli(['hash', root, '--json']);
  const m = JSON.parse(json.stdout);
  assert.equal(m.rootDigest, plain.stdout.trim());
  assert.deepEqual(m.resources.map((r: { name: string }) => r.name), ['a.txt', 'w/b.bin']);
  const shards = JSON.parse(cli(['hash', root, '--json', '--method', 'shards', '--shard-size', '2']).stdout);
  assert.deepEqual(shards.resources.map((r: { name: string }) => r.name), ['a.txt:0:2', 'a.txt:2:4', 'a.txt:4:6', 'w/b.bin:0:1']);
});

test('hash honours --ignore-paths relative to the current folder', () => {
  const root = makeTree({ 'a.txt': 'a', 'skip/b': 'b' });
  const m = JSON.parse(cli(['hash', '.', '--json', '--ignore-paths', 'skip'], root).stdout);
  assert.deepEqual(m.resources.map((r: { name: string }) => r.name), ['a.txt']);
});

test('hash of a missing path exits 2 with a coded message', () => {
  const r = cli(['hash', join(tempDir(), 'nope')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /PERIM_E_MODEL_NOT_FOUND/);
});

test('sign key + verify key: 0 when valid, 1 when tampered, 2 when the key file is missing', () => {
  const dir = tempDir();
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-521' });
  writeFileSync(join(dir, 'k.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(join(dir, 'k.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
  const root = makeTree({ 'model.safetensors': Buffer.alloc(1000, 1) });
  const s = cli(['sign', 'key', '--private-key', join(dir, 'k.pem'), root]);
  assert.equal(s.code, 0, s.stderr);
  const v = cli(['verify', 'key', '--public-key', join(dir, 'k.pub'), root, '--json']);
  assert.equal(v.code, 0, v.stderr);
  assert.equal(JSON.parse(v.stdout).ok, true);
  writeFileSync(join(root, 'model.safetensors'), Buffer.alloc(1000, 2));
  const bad = cli(['verify', 'key', '--public-key', join(dir, 'k.pub'), root]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /verification failed \[PERIM_E_MODEL_MISMATCH\].*changed: model\.safetensors/);
  const badJson = JSON.parse(cli(['verify', 'key', '--public-key', join(dir, 'k.pub'), root, '--json']).stdout);
  assert.deepEqual(badJson.error.details.changed, ['model.safetensors']);
  assert.equal(cli(['verify', 'key', '--public-key', join(dir, 'missing.pub'), root]).code, 2);
});

test('sign key refuses an RSA key with a clear error (exit 2)', () => {
  const dir = tempDir();
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(join(dir, 'rsa.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const r = cli(['sign', 'key', '--private-key', join(dir, 'rsa.pem'), makeTree({ w: 'w' })]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /PERIM_E_KEY_UNSUPPORTED/);
});

test('verify key on a reference vector, with the reference CLI\'s ignore-path form', () => {
  const m = copyVector('v1.0.1-elliptic-key');
  const r = cli(['verify', 'key', '--public-key', join(KEYS, 'signing-key-pub.pem'), '--ignore-paths', join(m, 'ignore-me'), m]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /valid: sha256:/);
});

test('sign certificate writes an x509CertificateChain bundle (reference keys)', () => {
  const m = makeTree({ 'w.bin': 'weights' });
  const r = cli(['sign', 'certificate', '--private-key', join(KEYS, 'signing-key.pem'), '--signing-certificate', join(KEYS, 'signing-key-cert.pem'), '--certificate-chain', join(KEYS, 'int-ca-cert.pem'), m, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const b = JSON.parse(readFileSync(join(m, 'model.sig'), 'utf8'));
  assert.equal(b.verificationMaterial.x509CertificateChain.certificates.length, 2);
  const other = join(tempDir(), 'other.pem');
  writeFileSync(other, generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const wrong = cli(['sign', 'certificate', '--private-key', other, '--signing-certificate', join(KEYS, 'signing-key-cert.pem'), m]);
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /PERIM_E_KEY_MISMATCH/);
});

test('errors lists every code', () => {
  const r = cli(['errors', '--json']);
  assert.equal(r.code, 0);
  assert.ok('PERIM_E_MODEL_MISMATCH' in JSON.parse(r.stdout));
});

test('demo runs end to end and says what it checked', () => {
  const r = cli(['demo']);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /demo passed/);
  assert.match(r.stdout, /DSSE signature verifies/);
  assert.match(r.stdout, /refused\] \[PERIM_E_MODEL_MISMATCH\]|✔ refused \[PERIM_E_MODEL_MISMATCH\]/);
  assert.match(r.stdout, /PERIM_E_KEY_MISMATCH/);
});

test('verify certificate: reference vectors pass with the root CA, fail (exit 1) with another CA', () => {
  for (const [dir, extra] of [['v0.2.0-certificate', []], ['v1.0.0-certificate', []], ['v1.1.0-certificate', ['--ignore-paths', 'ignore-me']]] as const) {
    const m = copyVector(dir);
    const r = cli(['verify', 'certificate', '--certificate-chain', join(KEYS, 'ca-cert.pem'), m, ...extra], m);
    assert.equal(r.code, 0, `${dir}: ${r.stderr}`);
  }
  const extraAnchor = cli(['verify', 'certificate', '--certificate-chain', join(KEYS, 'signing-key-cert.pem'), '--certificate-chain', join(KEYS, 'ca-cert.pem'), join(REF, 'v1.0.0-certificate')]);
  assert.equal(extraAnchor.code, 0, 'an extra, unrelated anchor does not hurt');
  const dir = tempDir();
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  writeFileSync(join(dir, 'k.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  execFileSync('openssl', ['req', '-x509', '-new', '-key', join(dir, 'k.pem'), '-subj', '/CN=other-ca', '-days', '30', '-out', join(dir, 'other-ca.pem')]);
  const bad = cli(['verify', 'certificate', '--certificate-chain', join(dir, 'other-ca.pem'), join(REF, 'v1.0.0-certificate')]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /PERIM_E_CERT_CHAIN/);
});

test('sign certificate then verify certificate round trip (reference PKI)', () => {
  const m = makeTree({ 'model.safetensors': Buffer.alloc(2048, 9), 'config.json': '{}' });
  const s = cli(['sign', 'certificate', '--private-key', join(KEYS, 'signing-key.pem'), '--signing-certificate', join(KEYS, 'signing-key-cert.pem'), '--certificate-chain', join(KEYS, 'int-ca-cert.pem'), m]);
  assert.equal(s.code, 0, s.stderr);
  const v = JSON.parse(cli(['verify', 'certificate', '--certificate-chain', join(KEYS, 'ca-cert.pem'), m, '--json']).stdout);
  assert.equal(v.ok, true);
  assert.equal(v.signer.method, 'certificate');
});

test('verify sigstore: every reference vector verifies offline with the shipped trust root', () => {
  const id = ['--identity', 'stefanb@us.ibm.com', '--identity-provider', 'https://sigstore.verify.ibm.com/oauth2'];
  for (const [dir, extra] of [['v0.3.1-sigstore', []], ['v1.0.0-sigstore', []], ['v1.0.1-sigstore', ['--ignore-paths', 'ignore-me']], ['v1.1.0-sigstore', ['--ignore-paths', 'ignore-me']]] as const) {
    const m = copyVector(dir);
    const r = cli(['verify', 'sigstore', ...id, m, ...extra, '--json'], m);
    assert.equal(r.code, 0, `${dir}: ${r.stdout}`);
    const out = JSON.parse(r.stdout);
    assert.equal(out.signer.subject, 'stefanb@us.ibm.com');
    assert.equal(out.signer.issuer, 'https://sigstore.verify.ibm.com/oauth2');
  }
  const wrong = cli(['verify', 'sigstore', '--identity', 'mallory@example.com', '--identity-provider', 'https://sigstore.verify.ibm.com/oauth2', join(REF, 'v1.0.0-sigstore')]);
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /PERIM_E_IDENTITY_MISMATCH/);
  const badRoot = join(tempDir(), 'root.json');
  writeFileSync(badRoot, '{"mediaType": "nope"}');
  assert.equal(cli(['verify', 'sigstore', ...id, '--trust-root', badRoot, join(REF, 'v1.0.0-sigstore')]).code, 2);
});
