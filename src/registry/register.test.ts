/** registerModel on both backends with real model files, signatures and metadata. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MemorySink } from '../audit/events.ts';
import { KeyVerifier } from '../signing/key-method.ts';
import { backends } from '../../test/stores.ts';
import { makeTree } from '../../test/helpers.ts';
import { parseJson } from './db.ts';
import { registerModel } from './register.ts';
import { adapterModel, baseModel, ggufModel, signWith, testKeys } from './test-models.ts';

const keys = testKeys();
const stranger = testKeys();

for (const b of await backends()) {
  test(`${b.name}: a signed base model registers with a verified signature, scan, metadata and one event`, { skip: b.skip }, async () => {
    const store = await b.open();
    const sink = new MemorySink();
    const path = baseModel();
    await signWith(path, keys);
    const r = await registerModel(store, sink, path, { name: 'org/base', kind: 'base', license: 'Apache-2.0', verifier: new KeyVerifier(keys.publicKey), trainingFlops: 1e24, actor: 'cli:test' });
    assert.match(r.digest, /^sha256:[0-9a-f]{64}$/);
    assert.equal(r.created, true);
    assert.equal(r.signature.status, 'verified');
    assert.equal(r.signature.method, 'key');
    assert.equal(r.timings.hashReused, true, 'the verified digest stands for the hash');
    assert.equal(r.scan.verdict, 'clean');
    assert.equal(r.files, 3, 'model.sig is not part of the artifact');
    const row = await store.db.selectFrom('artifacts').selectAll().where('digest', '=', r.digest).executeTakeFirstOrThrow();
    assert.equal(row.name, 'org/base');
    assert.equal(row.kind, 'base');
    assert.equal(row.format, 'safetensors');
    assert.equal(row.license, 'Apache-2.0');
    assert.equal(row.signature_verified, 1);
    assert.equal(row.signature_status, 'verified');
    assert.equal(row.signer, r.signature.signer);
    assert.equal(row.training_flops, 1e24);
    const md = parseJson<Record<string, any>>(row.metadata, {});
    assert.deepEqual(md.architectures, ['LlamaForCausalLM']);
    assert.equal(md.modelType, 'llama');
    assert.equal(md.safetensors.format, 'pt');
    assert.equal(md.serialization.method, 'files');
    assert.ok(md.bundle?.dsseEnvelope, 'the bundle is kept with the row');
    assert.ok(parseJson<Record<string, any>>(row.signature_evidence, {}).checks.length >= 2);
    assert.equal(sink.events.length, 1);
    assert.equal(sink.events[0]!.type, 'registry.register');
    assert.equal(sink.events[0]!.subject, r.digest);
    assert.equal(sink.events[0]!.actor, 'cli:test');
    assert.equal((sink.events[0]!.data as any).signature.status, 'verified');
  });

  test(`${b.name}: signed without trust is "unverified", wrong key or tampered files "invalid", no signature "none"`, { skip: b.skip }, async () => {
    const store = await b.open();
    const sink = new MemorySink();
    const a = baseModel('a');
    await signWith(a, keys);
    const unverified = await registerModel(store, sink, a);
    assert.equal(unverified.signature.status, 'unverified');
    assert.equal(unverified.signature.signer, (await import('../signing/keys.ts')).keyHint(keys.publicKey), 'the claimed key hint');
    assert.match(String(unverified.signature.evidence.note), /signed, not verified/);

    const wrong = await registerModel(store, sink, a, { verifier: new KeyVerifier(stranger.publicKey) });
    assert.equal(wrong.digest, unverified.digest);
    assert.equal(wrong.signature.status, 'invalid');
    assert.equal((wrong.signature.evidence.error as any).code, 'PERIM_E_KEY_MISMATCH');
    const row = await store.db.selectFrom('artifacts').select(['signature_verified', 'signature_status']).where('digest', '=', wrong.digest).executeTakeFirstOrThrow();
    assert.deepEqual({ ...row }, { signature_verified: 0, signature_status: 'invalid' });

    const t = baseModel('t');
    await signWith(t, keys);
    appendFileSync(join(t, 'config.json'), ' ');
    const tampered = await registerModel(store, sink, t, { verifier: new KeyVerifier(keys.publicKey) });
    assert.equal(tampered.signature.status, 'invalid');
    assert.equal((tampered.signature.evidence.error as any).code, 'PERIM_E_MODEL_MISMATCH');
    assert.equal(tampered.timings.hashReused, false);

    const none = await registerModel(store, sink, baseModel('n'), { verifier: new KeyVerifier(keys.publicKey) });
    assert.equal(none.signature.status, 'none');
    assert.equal(sink.events.length, 4);
  });

  test(`${b.name}: re-registering the same files refreshes evidence in place; changed files are a new version`, { skip: b.skip }, async () => {
    const store = await b.open();
    const sink = new MemorySink();
    const path = baseModel('v1');
    await signWith(path, keys);
    const first = await registerModel(store, sink, path, { name: 'm', kind: 'base' });
    const again = await registerModel(store, sink, path, { verifier: new KeyVerifier(keys.publicKey) });
    assert.equal(again.digest, first.digest);
    assert.equal(again.created, false);
    assert.equal(again.name, 'm', 'the name stays unless --name is given again');
    assert.equal(again.kind, 'base', 'an explicit kind is not downgraded by inference');
    assert.ok(again.updatedAt > first.updatedAt);
    assert.equal(again.createdAt, first.createdAt);
    assert.equal(again.signature.status, 'verified', 'evidence refreshed');
    const rows = await store.db.selectFrom('artifacts').select(['digest', 'name', 'updated_at', 'signature_status', 'predecessor_digest']).execute();
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.signature_status, 'verified');

    writeFileSync(join(path, 'model.safetensors'), Buffer.concat([Buffer.from('changed')]));
    const v2 = await registerModel(store, sink, path, { name: 'm' });
    assert.notEqual(v2.digest, first.digest);
    assert.equal(v2.created, true);
    assert.equal(v2.predecessor, first.digest);
    assert.equal(v2.signature.status, 'unverified', 'the old model.sig is still there, unverified');
    assert.equal((await store.db.selectFrom('artifacts').select('digest').execute()).length, 2);
  });

  test(`${b.name}: an adapter names its base before the base registers; the edge resolves when it does`, { skip: b.skip }, async () => {
    const store = await b.open();
    const sink = new MemorySink();
    const adapter = await registerModel(store, sink, adapterModel('acme/base-7b'), { name: 'acme/base-7b-lora' });
    assert.equal(adapter.kind, 'adapter');
    assert.deepEqual(adapter.parents.map((p) => [p.parent, p.relation, p.pending]), [['name:acme/base-7b', 'adapter', true]]);
    let edge = await store.db.selectFrom('lineage').selectAll().executeTakeFirstOrThrow();
    assert.equal(edge.parent_digest, 'name:acme/base-7b');

    const base = await registerModel(store, sink, baseModel('b7'), { name: 'acme/base-7b', kind: 'base' });
    assert.equal(base.resolvedChildren, 1);
    edge = await store.db.selectFrom('lineage').selectAll().executeTakeFirstOrThrow();
    assert.equal(edge.parent_digest, base.digest);
    assert.equal(edge.child_digest, adapter.digest);
    const row = await store.db.selectFrom('artifacts').select('parent_digest').where('digest', '=', adapter.digest).executeTakeFirstOrThrow();
    assert.equal(row.parent_digest, base.digest);

    // --parent by name, by digest prefix; registering the same child again keeps one edge
    const ft = await registerModel(store, sink, baseModel('ft'), { name: 'ft', parents: [base.digest.slice(0, 19)] });
    assert.equal(ft.kind, 'fine-tune');
    assert.equal(ft.parents[0]!.parent, base.digest);
    await registerModel(store, sink, baseModel('ft'), { name: 'ft', parents: ['acme/base-7b'] });
    assert.equal((await store.db.selectFrom('lineage').selectAll().where('child_digest', '=', ft.digest).execute()).length, 1);
  });

  test(`${b.name}: a quantized GGUF reads general.* for name, license, kind and parent`, { skip: b.skip }, async () => {
    const store = await b.open();
    const sink = new MemorySink();
    const file = ggufModel('acme/chat-7b', { license: 'llama3.1' });
    const r = await registerModel(store, sink, file);
    assert.equal(r.name, 'model-q4_k_m');
    assert.equal(r.kind, 'quantization');
    assert.equal(r.format, 'gguf');
    assert.equal(r.license, 'llama3.1');
    assert.equal(r.metadata.quantization, 'Q4_K_M');
    assert.equal(r.metadata.gguf?.['general.name'], 'Test Model Q4');
    assert.equal(r.metadata.modelType, 'llama');
    assert.deepEqual(r.parents.map((p) => p.parent), ['name:acme/chat-7b']);
    const f16 = await registerModel(store, sink, ggufModel('acme/chat-7b', { fileType: 1, name: 'F16' }), { name: 'f16' });
    assert.equal(f16.kind, 'fine-tune', 'an unquantized GGUF naming one base model is a fine-tune of it');
  });

  test(`${b.name}: bad options are usage errors; a missing model is an I/O error`, { skip: b.skip }, async () => {
    const store = await b.open();
    const sink = new MemorySink();
    await assert.rejects(registerModel(store, sink, baseModel(), { kind: 'weird' as never }), { code: 'PERIM_E_USAGE' });
    await assert.rejects(registerModel(store, sink, baseModel(), { trainingFlops: -1 }), { code: 'PERIM_E_USAGE' });
    await assert.rejects(registerModel(store, sink, join(makeTree({}), 'missing')), { code: 'PERIM_E_MODEL_NOT_FOUND' });
    assert.equal(sink.events.length, 0);
  });
}
