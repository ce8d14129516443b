import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isPerimeterError } from '../errors/errors.ts';
import { makeTree, tempDir } from '../../test/helpers.ts';
import { loadConfig, parseConfig, resolveConfigPath } from './load.ts';
import { environmentOfNamespace, environmentSettings, trustCounts } from './environments.ts';

const pub = (): string => generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }) as string;

test('no file: defaults are filled, nothing is trusted, a signature and a clean scan are required', () => {
  const c = loadConfig(undefined);
  assert.equal(c.path, undefined);
  assert.deepEqual(c.data.admission.trust, { keys: [], certificates: [], sigstore: [] });
  assert.deepEqual(c.data.admission.require, { signature: true, scan: 'clean' });
  assert.deepEqual(c.data.admission.licenses.allow, []);
  assert.equal(c.data.admission.default_env, 'default');
  assert.equal(c.data.admission.unannotated_pods, 'allow');
  assert.equal(c.data.server.listen, '127.0.0.1:8443');
});

test('a full file: relative paths resolve against its folder, keys load, environments override key by key, result is frozen', () => {
  const dir = makeTree({ 'keys/a.pub': pub(), 'keys/b.pub': pub() });
  writeFileSync(
    join(dir, 'perimeter.yaml'),
    `version: 1
store: { url: data/p.db }
admission:
  trust: { keys: [keys/a.pub] }
  require: { scan: low }
  licenses: { allow: [Apache-2.0, MIT] }
  namespaces: { prod: production }
  default_env: staging
  environments:
    production:
      trust: { keys: [keys/b.pub] }
      require: { scan: clean }
      unannotated_pods: deny
server: { listen: "0.0.0.0:9443", sync_interval: 60 }
`,
  );
  const c = loadConfig(join(dir, 'perimeter.yaml'));
  assert.equal(c.data.store.url, join(dir, 'data/p.db'));
  assert.deepEqual(c.data.admission.trust.keys, [join(dir, 'keys/a.pub')]);
  assert.equal(c.material.keys.size, 2);
  const prod = environmentSettings(c, 'production');
  assert.deepEqual(prod.trust.keys, [join(dir, 'keys/b.pub')]);
  assert.equal(prod.require.scan, 'clean');
  assert.equal(prod.require.signature, true);
  assert.deepEqual(prod.licenses.allow, ['Apache-2.0', 'MIT']);
  assert.equal(prod.unannotatedPods, 'deny');
  assert.equal(prod.source.trust, 'admission.environments.production');
  assert.equal(prod.source.licenses, 'admission');
  const other = environmentSettings(c, 'dev');
  assert.equal(other.declared, false);
  assert.equal(other.require.scan, 'low');
  assert.equal(environmentOfNamespace(c, 'prod'), 'production');
  assert.equal(environmentOfNamespace(c, 'elsewhere'), 'staging');
  assert.deepEqual(trustCounts(c), { '(base)': { keys: 1, certificates: 0, sigstore: 0 }, production: { keys: 1, certificates: 0, sigstore: 0 } });
  assert.ok(Object.isFrozen(c.data) && Object.isFrozen(c.data.admission.trust.keys) && Object.isFrozen(c.data.admission.environments.production));
  assert.throws(() => (c.data.admission.require as { scan: string }).scan = 'dangerous');
});

test('every problem is reported with its path: unknown keys, bad values, missing and unreadable trust files', () => {
  const dir = makeTree({ 'bad.pem': 'not a key', 'notcert.pem': pub() });
  const text = `admission:
  trust:
    keys: [missing.pub, bad.pem]
    certificates: [notcert.pem]
    sigstore: [{ identity: me@example.com }]
  require: { scan: spotless, signatur: false }
  environments:
    prod: { licences: { allow: [] } }
server: { listen: nowhere }
extra: 1
`;
  // Schema problems come first (files are only checked once the shape is right).
  const shape = catchConfig(() => parseConfig(text, { baseDir: dir, source: 'x.yaml' }));
  const paths = shape.map((p) => p.path).sort();
  assert.deepEqual(paths, [
    'admission.environments.prod.licences',
    'admission.require.scan',
    'admission.require.signatur',
    'admission.trust.sigstore[0].issuer',
    'extra',
    'server.listen',
  ]);
  const files = catchConfig(() =>
    parseConfig('admission:\n  trust:\n    keys: [missing.pub, bad.pem]\n    certificates: [notcert.pem, .]\n', { baseDir: dir, source: 'x.yaml' }),
  );
  assert.deepEqual(
    files.map((p) => p.path),
    ['admission.trust.keys[0]', 'admission.trust.keys[1]', 'admission.trust.certificates[0]', 'admission.trust.certificates[1]'],
  );
  assert.match(files[0]!.message, /^file not found \(.*missing\.pub\)$/);
  assert.match(files[1]!.message, /not a readable PEM public key/);
  assert.match(files[2]!.message, /no PEM CERTIFICATE/);
  assert.match(files[3]!.message, /is a folder/);
});

test('the error message lists every problem; YAML syntax and missing files are PERIM_E_CONFIG_FILE', () => {
  assert.throws(
    () => parseConfig('admission: { trust: { keys: [a.pub] } }\nbogus: true\n', { baseDir: tempDir(), source: 'p.yaml' }),
    (e: unknown) => isPerimeterError(e, 'PERIM_E_CONFIG') && /bogus: unknown key/.test(e.message) && e.kind === 'usage',
  );
  assert.throws(() => parseConfig('admission: [unclosed', { baseDir: '.', source: 'p.yaml' }), (e: unknown) => isPerimeterError(e, 'PERIM_E_CONFIG_FILE') && /not valid YAML/.test(e.message));
  assert.throws(() => parseConfig('a: 1\na: 2\n', { baseDir: '.', source: 'p.yaml' }), (e: unknown) => isPerimeterError(e, 'PERIM_E_CONFIG_FILE'));
  assert.throws(() => loadConfig(join(tempDir(), 'none.yaml')), (e: unknown) => isPerimeterError(e, 'PERIM_E_CONFIG_FILE') && /not found/.test(e.message));
  assert.throws(() => parseConfig('- a\n- b\n', { baseDir: '.', source: 'p.yaml' }), (e: unknown) => isPerimeterError(e, 'PERIM_E_CONFIG') && /\(root\)/.test(e.message));
});

test('TLS files are checked as a pair', () => {
  const dir = makeTree({ 'c.pem': 'nope', 'k.pem': 'nope' });
  const ps = catchConfig(() => parseConfig('server: { tls: { cert: c.pem, key: k.pem } }', { baseDir: dir, source: 'p.yaml' }));
  assert.deepEqual(ps.map((p) => p.path), ['server.tls']);
  const missing = catchConfig(() => parseConfig('server: { tls: { cert: x.pem, key: k.pem } }', { baseDir: dir, source: 'p.yaml' }));
  assert.deepEqual(missing.map((p) => p.path), ['server.tls.cert']);
});

test('the config file: --config, then PERIMETER_CONFIG, then the per-user file only when it exists', () => {
  const home = tempDir();
  assert.equal(resolveConfigPath('a.yaml', { PERIMETER_CONFIG: '/b.yaml' }), join(process.cwd(), 'a.yaml'));
  assert.equal(resolveConfigPath(undefined, { PERIMETER_CONFIG: '/b.yaml' }), '/b.yaml');
  assert.equal(resolveConfigPath(undefined, { XDG_CONFIG_HOME: home }), undefined);
  makeTree({ 'perimeter/perimeter.yaml': '{}' }, home);
  assert.equal(resolveConfigPath(undefined, { XDG_CONFIG_HOME: home }), join(home, 'perimeter/perimeter.yaml'));
});

function catchConfig(f: () => unknown): { path: string; message: string }[] {
  try {
    f();
  } catch (e) {
    if (isPerimeterError(e, 'PERIM_E_CONFIG')) return (e.details as { problems: { path: string; message: string }[] }).problems;
    throw e;
  }
  assert.fail('expected PERIM_E_CONFIG');
}
