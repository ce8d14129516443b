/** The inventory and its CycloneDX 1.6 BOM on both backends; the BOM checked against the official schema. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { hashModel } from '../artifact/hash.ts';
import { MemorySink } from '../audit/events.ts';
import type { Store } from '../store/store.ts';
import { backends } from '../../test/stores.ts';
import { buildBom } from './bom.ts';
import { inventory, writeInventoryJson } from './inventory.ts';
import { cdxLicenses } from './licenses.ts';
import { registerModel } from './register.ts';
import { adapterModel, baseModel, ggufModel, signWith, testKeys } from './test-models.ts';

const BACKENDS = await backends();
const require = createRequire(import.meta.url);

/** The CycloneDX 1.6 JSON schema as the CycloneDX library ships it, with its SPDX and JSF schemas. */
function cyclonedxValidator(): (bom: unknown) => string[] {
  const Ajv = require('ajv') as typeof import('ajv').default;
  const addFormats = require('ajv-formats') as typeof import('ajv-formats').default;
  const dir = require.resolve('@cyclonedx/cyclonedx-library/package.json').replace(/package\.json$/, 'res/schema/');
  const load = (f: string): Record<string, unknown> => JSON.parse(readFileSync(dir + f, 'utf8'));
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv); // date-time and the other draft-07 formats
  // The two draft-2019 formats ajv-formats lacks; the BOM uses neither, so a plain check is enough.
  ajv.addFormat('iri-reference', (v: string) => !/[\s\u0000-\u001f]/.test(v) && URL.canParse(v, 'http://base.invalid/'));
  ajv.addFormat('idn-email', /^[^\s@]+@[^\s@]+$/u);
  // The BOM schema refers to its companions by their file names next to it.
  ajv.addSchema({ ...load('spdx.SNAPSHOT.schema.json'), $id: 'http://cyclonedx.org/schema/spdx.SNAPSHOT.schema.json' });
  ajv.addSchema({ ...load('jsf-0.82.SNAPSHOT.schema.json'), $id: 'http://cyclonedx.org/schema/jsf-0.82.SNAPSHOT.schema.json' });
  const validate = ajv.compile(load('bom-1.6.SNAPSHOT.schema.json'));
  return (bom) => (validate(bom) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`));
}

async function populate(store: Store) {
  const sink = new MemorySink();
  const keys = testKeys();
  const basePath = baseModel('inv');
  await signWith(basePath, keys);
  const base = await registerModel(store, sink, basePath, { name: 'acme/base', kind: 'base', license: 'apache-2.0', trainingFlops: 3e24 });
  const ft = await registerModel(store, sink, baseModel('inv-ft'), { name: 'acme/chat', parents: ['acme/base'], license: 'Apache-2.0 OR MIT', trainingFlops: 2e24 });
  const ad = await registerModel(store, sink, adapterModel('acme/chat'), { name: 'acme/chat-lora', license: 'llama3.1' });
  const q = await registerModel(store, sink, ggufModel('acme/chat'), { name: 'acme/chat-q4' });
  const orphan = await registerModel(store, sink, adapterModel('far/away'), { name: 'orphan' });
  const now = Date.now();
  // admission decisions: the latest per (digest, env) counts
  await store.db
    .insertInto('admissions')
    .values([
      { digest: ft.digest, env: 'prod', allowed: 1, reasons: '[]', decided_at: now },
      { digest: ft.digest, env: 'staging', allowed: 1, reasons: '[]', decided_at: now },
      { digest: ft.digest, env: 'staging', allowed: 0, reasons: '[]', decided_at: now + 1 },
      { digest: q.digest, env: 'lab', allowed: 0, reasons: '[]', decided_at: now },
      { digest: q.digest, env: 'lab', allowed: 1, reasons: '[]', decided_at: now + 1 },
    ])
    .execute();
  await store.db
    .insertInto('runtimes')
    .values([
      { name: 'vllm-prod', kind: 'vllm', url: 'http://127.0.0.1:8000', created_at: now, updated_at: now, last_sync_at: now, last_sync_error: null },
      { name: 'ollama-lab', kind: 'ollama', url: 'http://127.0.0.1:11434', created_at: now, updated_at: now, last_sync_at: null, last_sync_error: 'connection refused' },
    ])
    .execute();
  await store.db
    .insertInto('served_models')
    .values([
      { runtime: 'vllm-prod', model_id: 'acme/chat', served_digest: null, artifact_digest: ft.digest, source: 'binding', details: '{}', seen_at: now },
      { runtime: 'vllm-prod', model_id: 'acme/chat-lora', served_digest: null, artifact_digest: ad.digest, source: 'binding', details: '{}', seen_at: now },
      { runtime: 'ollama-lab', model_id: 'mystery:7b', served_digest: `sha256:${'ab'.repeat(32)}`, artifact_digest: null, source: 'discovery', details: '{}', seen_at: now },
    ])
    .execute();
  return { base, ft, ad, q, orphan };
}

test('licenses: SPDX ids case-insensitively, expressions, otherwise named', () => {
  assert.deepEqual(cdxLicenses('apache-2.0'), [{ license: { id: 'Apache-2.0' } }]);
  assert.deepEqual(cdxLicenses('gpl-3.0'), [{ license: { id: 'GPL-3.0-only' } }]);
  assert.deepEqual(cdxLicenses('Apache-2.0 OR MIT'), [{ expression: 'Apache-2.0 OR MIT' }]);
  assert.deepEqual(cdxLicenses('llama3.1'), [{ license: { name: 'llama3.1' } }]);
  assert.equal(cdxLicenses(null), undefined);
});

for (const b of BACKENDS) {
  test(`${b.name}: the inventory lists artifacts with parent, signer, scan and admitted environments, and runtimes`, { skip: b.skip }, async () => {
    const store = await b.open();
    const { base, ft, ad, q, orphan } = await populate(store);
    const inv = await inventory(store);
    assert.equal(inv.artifacts.length, 5);
    const by = new Map(inv.artifacts.map((a) => [a.digest, a]));
    assert.equal(by.get(base.digest)!.signatureStatus, 'unverified');
    assert.match(by.get(base.digest)!.signer!, /^[0-9a-f]{64}$/);
    assert.equal(by.get(ft.digest)!.parentName, 'acme/base');
    assert.equal(by.get(ft.digest)!.parentDigest, base.digest);
    assert.deepEqual(by.get(ft.digest)!.admittedEnvs, ['prod'], 'staging was denied by the latest decision');
    assert.deepEqual(by.get(q.digest)!.admittedEnvs, ['lab']);
    assert.equal(by.get(q.digest)!.kind, 'quantization');
    assert.equal(by.get(ad.digest)!.parentName, 'acme/chat');
    assert.equal(by.get(orphan.digest)!.parentDigest, 'name:far/away');
    assert.equal(by.get(orphan.digest)!.parentName, 'far/away');
    assert.equal(by.get(base.digest)!.scanVerdict, 'clean');
    assert.deepEqual(inv.runtimes.map((r) => r.name), ['ollama-lab', 'vllm-prod']);
    const prod = inv.runtimes.find((r) => r.name === 'vllm-prod')!;
    assert.deepEqual(prod.serves.map((s) => [s.modelId, s.status, s.artifactName]), [['acme/chat', 'admitted', 'acme/chat'], ['acme/chat-lora', 'registered, not admitted', 'acme/chat-lora']]);
    const lab = inv.runtimes.find((r) => r.name === 'ollama-lab')!;
    assert.equal(lab.serves[0]!.status, 'not in inventory');
    assert.equal(lab.lastSyncError, 'connection refused');
  });

  test(`${b.name}: the inventory's read model follows late parents and renames; rows written elsewhere still show`, { skip: b.skip }, async () => {
    const store = await b.open();
    const sink = new MemorySink();
    const child = await registerModel(store, sink, adapterModel('late/base'), { name: 'late-lora' });
    const row = async () => (await inventory(store)).artifacts.find((a) => a.digest === child.digest)!;
    assert.deepEqual([(await row()).parentDigest, (await row()).parentName], ['name:late/base', 'late/base']);
    const parentPath = baseModel('late');
    const parent = await registerModel(store, sink, parentPath, { name: 'late/base', kind: 'base' });
    assert.deepEqual([(await row()).parentDigest, (await row()).parentName], [parent.digest, 'late/base']);
    await registerModel(store, sink, parentPath, { name: 'late/base-renamed' });
    assert.equal((await row()).parentName, 'late/base-renamed');
    // a child that names its parent by a digest nobody registered yet
    const otherPath = baseModel('late-other');
    const { manifest } = await hashModel(otherPath, { signaturePath: join(otherPath, 'model.sig') });
    const byDigest = await registerModel(store, sink, baseModel('late-child'), { name: 'late-child', parents: [manifest.rootDigest] });
    assert.equal(byDigest.parents[0]!.pending, true);
    await registerModel(store, sink, otherPath, { name: 'late/other' });
    assert.equal((await inventory(store)).artifacts.find((a) => a.digest === byDigest.digest)!.parentName, 'late/other');
    // a row inserted by other code, without the read model
    const now = Date.now();
    await store.db
      .insertInto('artifacts')
      .values({ digest: `sha256:${'c'.repeat(64)}`, name: 'raw', kind: 'base', format: null, license: null, parent_digest: parent.digest, predecessor_digest: null, path: null, bytes: 7, files: 1, signer_method: null, signer: null, signer_issuer: null, signature_verified: 0, scan_verdict: null, scan_findings: 0, scan_summary: '{}', metadata: '{}', tier: 2, created_at: now, updated_at: now })
      .execute();
    const inv = await inventory(store);
    const raw = inv.artifacts.find((a) => a.name === 'raw')!;
    assert.deepEqual([raw.parentName, raw.tier, raw.bytes, raw.signatureStatus, raw.admittedEnvs], ['late/base-renamed', 2, 7, 'none', []]);
    // the streamed JSON is the same data
    let text = '';
    const counts = await writeInventoryJson(store, (c) => (text += c), { ok: true });
    const doc = JSON.parse(text);
    assert.equal(doc.ok, true);
    assert.deepEqual(counts, { artifacts: 5, runtimes: 0 });
    assert.deepEqual(doc.artifacts, inv.artifacts);
    assert.deepEqual(doc.runtimes, []);
  });

  test(`${b.name}: the BOM is valid CycloneDX 1.6 with models, lineage pedigree and runtimes`, { skip: b.skip }, async () => {
    const store = await b.open();
    const { base, ft, ad, q } = await populate(store);
    const bom = (await buildBom(store)) as any;
    const validate = cyclonedxValidator();
    assert.deepEqual(validate(bom), []);
    // the validator does reject what the schema forbids
    assert.notDeepEqual(validate({ ...bom, components: [{ ...bom.components[0], type: 'model' }] }), []);
    assert.notDeepEqual(validate({ ...bom, components: [{ ...bom.components[0], licenses: [{ license: { id: 'llama3.1' } }] }] }), []);
    const comp = new Map<string, any>(bom.components.map((c: any) => [c['bom-ref'], c]));
    const chat = comp.get(ft.digest);
    assert.equal(chat.type, 'machine-learning-model');
    assert.deepEqual(chat.hashes, [{ alg: 'SHA-256', content: ft.digest.slice(7) }]);
    assert.deepEqual(chat.licenses, [{ expression: 'Apache-2.0 OR MIT' }]);
    assert.equal(chat.pedigree.ancestors[0].name, 'acme/base');
    assert.equal(chat.modelCard.modelParameters.architectureFamily, 'llama');
    const props = Object.fromEntries(chat.modelCard.properties.map((p: any) => [p.name, p.value]));
    assert.equal(props['perimeter:kind'], 'fine-tune');
    assert.match(props['perimeter:eu-ai-act-modification'], /over the line/);
    assert.equal(props['perimeter:admitted-environments'], 'prod');
    // an adapter's pedigree goes to the base through the fine-tune; it depends on its base weights
    const lora = comp.get(ad.digest);
    assert.equal(lora.pedigree.ancestors[0].pedigree.ancestors[0].hashes[0].content, base.digest.slice(7));
    assert.deepEqual(bom.dependencies.find((d: any) => d.ref === ad.digest).dependsOn, [ft.digest]);
    assert.equal(comp.get(q.digest).licenses[0].license.id, 'Apache-2.0');
    const prod = comp.get('runtime:vllm-prod');
    assert.equal(prod.type, 'platform');
    assert.deepEqual(bom.dependencies.find((d: any) => d.ref === 'runtime:vllm-prod').dependsOn, [ft.digest, ad.digest]);
    const mystery = comp.get('runtime:ollama-lab/model:mystery:7b');
    assert.equal(mystery.properties.find((p: any) => p.name === 'perimeter:inventory-status').value, 'not in inventory');
  });
}
