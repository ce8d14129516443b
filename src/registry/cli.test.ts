/** register, lineage, inventory and bom as a user runs them: the real launcher, real files, exit codes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { backends } from '../../test/stores.ts';
import { tempDir } from '../../test/helpers.ts';
import { ARTIFACT_KINDS } from './metadata.ts';
import { parseFlops, verifierFromFlags } from '../cli/commands/registry.ts';
import { adapterModel, baseModel, signWith, testKeys } from './test-models.ts';

const BACKENDS = await backends();
const BIN = new URL('../../bin/perimeter.js', import.meta.url).pathname;
const ENV = { XDG_DATA_HOME: tempDir('perimeter-xdg-'), NODE_COMPILE_CACHE: tempDir('perimeter-ncc-'), NO_COLOR: '1' };

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, ...ENV } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

for (const b of BACKENDS) {
  test(`${b.name}: perimeter register, lineage, inventory and bom`, { skip: b.skip }, async () => {
    const db = ['--db', b.target()];
    const keys = testKeys();
    const base = baseModel('cli');
    await signWith(base, keys);

    const reg = cli(['register', base, '--name', 'acme/base', '--kind', 'base', '--license', 'Apache-2.0', '--training-flops', '3e24', '--public-key', keys.publicPem, ...db]);
    assert.equal(reg.code, 0, reg.stderr);
    assert.match(reg.stdout, /registered acme\/base\s+sha256:[0-9a-f]{64}/);
    assert.match(reg.stdout, /signature: verified: key/);

    const ad = cli(['register', adapterModel('acme/chat'), '--name', 'acme/chat-lora', '--json', ...db]);
    assert.equal(ad.code, 0, ad.stderr);
    const adj = JSON.parse(ad.stdout);
    assert.equal(adj.ok, true);
    assert.equal(adj.kind, 'adapter');
    assert.equal(adj.parents[0].parent, 'name:acme/chat');

    const ft = cli(['register', baseModel('cli-ft'), '--name', 'acme/chat', '--parent', 'acme/base', '--training-flops', '2e24', '--json', ...db]);
    assert.equal(JSON.parse(ft.stdout).resolvedChildren, 1, ft.stdout + ft.stderr);

    // a signature that does not verify with the trust given: recorded, and exit 1
    const stranger = testKeys();
    const bad = cli(['register', base, '--public-key', stranger.publicPem, '--json', ...db]);
    assert.equal(bad.code, 1);
    const badj = JSON.parse(bad.stdout);
    assert.deepEqual(badj.failedChecks, ['signature']);
    assert.equal(badj.signature.status, 'invalid');
    assert.equal(badj.created, false);

    if (b.name === 'postgres') {
      // The rest is the same code over the same queries; on PostgreSQL, the JSON views only.
      const j = JSON.parse(cli(['inventory', '--json', ...db]).stdout);
      assert.equal(j.artifacts.length, 3);
      assert.deepEqual(JSON.parse(cli(['lineage', 'acme/chat', '--json', ...db]).stdout).ancestors.map((n: any) => n.name), ['acme/base']);
      return;
    }
    const lin = cli(['lineage', 'acme/chat', ...db]);
    assert.equal(lin.code, 0, lin.stderr);
    const lines = lin.stdout.split('\n');
    const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
    assert.ok(at(/acme\/base/) < at(/^● acme\/chat/) && at(/^● acme\/chat/) < at(/acme\/chat-lora/), lin.stdout);
    assert.match(lin.stdout, /over the line \(2\.00e24 \/ 3\.00e24 = 0\.667; line at 1\/3\)/);
    const linj = JSON.parse(cli(['lineage', 'acme/chat', '--json', ...db]).stdout);
    assert.deepEqual(linj.ancestors.map((n: any) => n.name), ['acme/base']);
    assert.deepEqual(linj.descendants.map((n: any) => n.name), ['acme/chat-lora']);
    assert.equal(linj.edges.find((e: any) => e.parent === linj.ancestors[0].digest).modification.assessment, 'over the line');

    const inv = cli(['inventory', ...db]);
    assert.equal(inv.code, 0, inv.stderr);
    assert.match(inv.stdout, /^3 artifact\(s\)/);
    assert.match(inv.stdout, /DIGEST\s+NAME\s+KIND\s+PARENT\s+LICENSE\s+SIGNER\s+SCAN\s+ADMITTED/);
    assert.match(inv.stdout, /acme\/chat-lora\s+adapter\s+acme\/chat/);
    const invj = JSON.parse(cli(['inventory', '--json', ...db]).stdout);
    assert.equal(invj.ok, true);
    assert.equal(invj.artifacts.length, 3);
    assert.match(invj.artifacts.find((a: any) => a.name === 'acme/base').digest, /^sha256:[0-9a-f]{64}$/);
    assert.equal(invj.artifacts.find((a: any) => a.name === 'acme/base').signatureStatus, 'invalid', 'the last registration with a wrong key is recorded');

    const out = join(tempDir(), 'bom.json');
    const bom = cli(['bom', '--out', out, ...db]);
    assert.equal(bom.code, 0, bom.stderr);
    const doc = JSON.parse(readFileSync(out, 'utf8'));
    assert.equal(doc.specVersion, '1.6');
    assert.equal(doc.bomFormat, 'CycloneDX');
    assert.equal(doc.components.length, 3);
  });
}

test('registry usage errors exit 2 with a coded message', async () => {
  const db = ['--db', join(tempDir(), 'p.db')];
  const model = baseModel('usage');
  assert.equal(cli(['register', model, '--kind', 'weird', ...db]).code, 2);
  const missing = cli(['lineage', 'nobody', '--json', ...db]);
  assert.equal(missing.code, 2);
  assert.equal(JSON.parse(missing.stdout).error.code, 'PERIM_E_NOT_FOUND');
  assert.match(cli(['register', join(tempDir(), 'nope'), ...db]).stderr, /PERIM_E_MODEL_NOT_FOUND/);
  assert.match(cli(['register', '--help']).stdout.replace(/\s+/g, ' '), /--kind <kind> .*\(choices: "base", "fine-tune", "adapter", "quantization", "merge"\)/);
  assert.deepEqual(ARTIFACT_KINDS.filter((k) => k !== 'unknown'), ['base', 'fine-tune', 'adapter', 'quantization', 'merge']);
  // flag parsing, without a process each
  await assert.rejects(verifierFromFlags({ publicKey: 'k.pub', identity: 'a@b', identityProvider: 'https://x' }), { code: 'PERIM_E_USAGE' });
  await assert.rejects(verifierFromFlags({ identity: 'a@b' }), { code: 'PERIM_E_USAGE' });
  await assert.rejects(verifierFromFlags({ trustRoot: 'x.json' }), { code: 'PERIM_E_USAGE' });
  assert.equal(await verifierFromFlags({}), undefined);
  assert.throws(() => parseFlops('lots'), { code: 'PERIM_E_USAGE' });
  assert.throws(() => parseFlops('-1'), { code: 'PERIM_E_USAGE' });
  assert.equal(parseFlops('3.8e25'), 3.8e25);
});
