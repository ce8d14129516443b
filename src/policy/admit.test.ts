import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MemorySink } from '../audit/events.ts';
import { parseConfig, type LoadedConfig } from '../config/load.ts';
import { backends } from '../../test/stores.ts';
import { tempDir } from '../../test/helpers.ts';
import type { Store } from '../store/store.ts';
import { admit, type AdmitRequest } from './admit.ts';
import { admittedIn, latestDecision } from './decisions.ts';
import { addTestArtifact, insertArtifact, makeTestKey } from './test-artifacts.ts';

const config = (yaml: string): LoadedConfig => parseConfig(yaml, { baseDir: tempDir(), source: 'test.yaml' });
const status = (d: { reasons: { check: string; status: string }[] }) => Object.fromEntries(d.reasons.map((r) => [r.check, r.status]));

for (const b of await backends()) {
  test(`${b.name}: admission allows a known, trusted, clean, licensed artifact, and denies each failing reason`, { skip: b.skip }, async () => {
    const store = await b.open();
    const trusted = makeTestKey();
    const stranger = makeTestKey();
    const cfg = config(`admission:
  trust: { keys: [${trusted.pubPath}] }
  licenses: { allow: [Apache-2.0] }
  environments:
    lab: { require: { scan: suspicious }, licenses: { allow: [] } }
`);
    const sink = new MemorySink();
    const ctx = { store, sink, config: cfg, actor: 'cli:test' };
    const run = (req: AdmitRequest) => admit(ctx, req);

    const good = await addTestArtifact(store, { signer: trusted.signer });
    const ok = await run({ digest: good.digest, env: 'production' });
    assert.equal(ok.allowed, true, JSON.stringify(ok.reasons));
    assert.deepEqual(status(ok), { 'artifact.known': 'pass', 'files.unchanged': 'skip', 'signature.trusted': 'pass', 'scan.verdict': 'pass', 'license.allowed': 'pass', 'not.revoked': 'pass' });
    assert.match(ok.reasons.find((r) => r.check === 'signature.trusted')!.message, /trusted by admission\.trust\.keys\[0\]/);
    assert.ok(ok.policies.includes('admission.require.scan'));

    // recorded: a row and an event per decision
    const row = await latestDecision(store, good.digest, 'production');
    assert.equal(row?.id, ok.id);
    assert.equal(row?.allowed, true);
    assert.equal(row?.reasons.length, 6);
    assert.deepEqual(await admittedIn(store, good.digest, 'production'), ['production']);
    assert.equal(sink.events.at(-1)?.type, 'admission.decision');
    assert.equal(sink.events.at(-1)?.subject, good.digest);
    assert.equal(sink.events.at(-1)?.actor, 'cli:test');

    const unknown = await run({ digest: `sha256:${'0'.repeat(64)}`, env: 'production' });
    assert.equal(unknown.allowed, false);
    assert.equal(status(unknown)['artifact.known'], 'fail');
    assert.equal(status(unknown)['signature.trusted'], 'skip');

    const unsigned = await addTestArtifact(store);
    const u = await run({ digest: unsigned.digest, env: 'production' });
    assert.equal(u.allowed, false);
    assert.match(u.reasons.find((r) => r.check === 'signature.trusted')!.message, /no signature bundle: none at/);

    const foreign = await addTestArtifact(store, { signer: stranger.signer });
    const f = await run({ digest: foreign.digest, env: 'production' });
    assert.equal(f.allowed, false);
    assert.match(f.reasons.find((r) => r.check === 'signature.trusted')!.message, /not by a trusted identity.*PERIM_E_KEY_MISMATCH/);
    assert.deepEqual(f.policies, ['admission.trust']);

    // a trusted bundle that signs some other model is refused
    const other = await addTestArtifact(store, { signer: trusted.signer });
    const swapped = await addTestArtifact(store);
    writeFileSync(join(swapped.path, 'model.sig'), readFileSync(join(other.path, 'model.sig')));
    const s = await run({ digest: swapped.digest, env: 'production' });
    assert.match(s.reasons.find((r) => r.check === 'signature.trusted')!.message, /but for sha256:.*not this artifact/);

    const dirty = await addTestArtifact(store, { signer: trusted.signer, scan: 'suspicious' });
    const d = await run({ digest: dirty.digest, env: 'production' });
    assert.deepEqual([d.allowed, status(d)['scan.verdict']], [false, 'fail']);
    assert.deepEqual(d.policies, ['admission.require.scan']);
    const inLab = await run({ digest: dirty.digest, env: 'lab' });
    assert.equal(inLab.allowed, true, JSON.stringify(inLab.reasons));
    assert.ok(inLab.policies.includes('admission.environments.lab.require.scan'));
    const never = await addTestArtifact(store, { signer: trusted.signer, scan: null });
    assert.match((await run({ digest: never.digest, env: 'production' })).reasons.find((r) => r.check === 'scan.verdict')!.message, /never scanned/);

    const gpl = await addTestArtifact(store, { signer: trusted.signer, license: 'GPL-3.0-only' });
    const g = await run({ digest: gpl.digest, env: 'production' });
    assert.deepEqual([g.allowed, status(g)['license.allowed']], [false, 'fail']);
    assert.equal((await run({ digest: gpl.digest, env: 'lab' })).allowed, true);
    const nolicense = await addTestArtifact(store, { signer: trusted.signer, license: null });
    assert.match((await run({ digest: nolicense.digest, env: 'production' })).reasons.find((r) => r.check === 'license.allowed')!.message, /no license/);

    // revoked by config, or by an extra source (kill-switch); a failing source fails closed
    const revokedCfg = config(`admission: { trust: { keys: [${trusted.pubPath}] }, revoked: ["${good.digest}"] }`);
    const r = await admit({ store, sink, config: revokedCfg }, { digest: good.digest, env: 'production' });
    assert.deepEqual([r.allowed, status(r)['not.revoked']], [false, 'fail']);
    assert.deepEqual(await admittedIn(store, good.digest, 'production'), [], 'the latest decision now denies');
    const killed = await admit({ store, sink, config: cfg, revoked: async () => 'kill-switch engaged' }, { digest: good.digest, env: 'production' });
    assert.match(killed.reasons.find((x) => x.check === 'not.revoked')!.message, /kill-switch engaged/);
    const broken = await admit({ store, sink, config: cfg, revoked: async () => Promise.reject(new Error('down')) }, { digest: good.digest, env: 'production' });
    assert.equal(broken.allowed, false);

    // with nothing trusted, nothing is admitted
    const none = await admit({ store, sink, config: config('') }, { digest: good.digest, env: 'production' });
    assert.equal(none.allowed, false);
    assert.match(none.reasons.find((x) => x.check === 'signature.trusted')!.message, /nothing is trusted for environment production/);

    const decisions = await store.db.selectFrom('admissions').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    assert.equal(Number(decisions.n), sink.events.length, 'one row and one event per decision');
  });

  test(`${b.name}: --verify-files re-hashes the files and refuses when they changed`, { skip: b.skip }, async () => {
    const store = await b.open();
    const key = makeTestKey();
    const cfg = config(`admission: { trust: { keys: [${key.pubPath}] } }`);
    const ctx = { store, sink: new MemorySink(), config: cfg };
    const a = await addTestArtifact(store, { signer: key.signer, files: { 'model.gguf': 'GGUF v1', 'tokenizer.json': '{}' } });

    const byDigest = await admit(ctx, { digest: a.digest, env: 'prod', verifyFiles: true });
    assert.equal(byDigest.allowed, true, JSON.stringify(byDigest.reasons));
    assert.equal(status(byDigest)['files.unchanged'], 'pass');
    const byPath = await admit(ctx, { path: a.path, env: 'prod', verifyFiles: true });
    assert.equal(byPath.allowed, true);
    assert.equal(byPath.digest, a.digest);
    const pinned = await admit(ctx, { path: a.path, digest: a.digest, env: 'prod', verifyFiles: true });
    assert.equal(pinned.allowed, true);

    writeFileSync(join(a.path, 'model.gguf'), 'GGUF v2 (tampered)');
    const changed = await admit(ctx, { digest: a.digest, env: 'prod', verifyFiles: true });
    assert.equal(changed.allowed, false);
    assert.match(changed.reasons.find((r) => r.check === 'files.unchanged')!.message, /they changed/);
    // by path: the new files hash to an unknown digest, but the path is the registered artifact's
    const changedByPath = await admit(ctx, { path: a.path, env: 'prod', verifyFiles: true });
    assert.equal(changedByPath.allowed, false);
    assert.equal(changedByPath.digest, a.digest);
    assert.equal(status(changedByPath)['files.unchanged'], 'fail');
    const changedPinned = await admit(ctx, { path: a.path, digest: a.digest, env: 'prod', verifyFiles: true });
    assert.equal(status(changedPinned)['files.unchanged'], 'fail');

    rmSync(join(a.path, 'model.gguf'));
    renameSync(join(a.path, 'tokenizer.json'), join(a.path, 'other.json'));
    const gone = await admit(ctx, { digest: a.digest, env: 'prod', verifyFiles: true });
    assert.equal(status(gone)['files.unchanged'], 'fail');
    rmSync(a.path, { recursive: true });
    const nowhere = await admit(ctx, { path: join(a.path, 'nope'), env: 'prod' });
    assert.match(nowhere.reasons[0]!.message, /could not be identified: \[PERIM_E_MODEL_NOT_FOUND\]/);
    const missing = await admit(ctx, { digest: a.digest, env: 'prod', verifyFiles: true });
    assert.match(missing.reasons.find((r) => r.check === 'files.unchanged')!.message, /cannot re-hash/);
    assert.equal(missing.allowed, false);
  });

  test(`${b.name}: usage mistakes are errors, not decisions`, { skip: b.skip }, async () => {
    const store = await b.open();
    const ctx = { store, sink: new MemorySink(), config: config('') };
    await assert.rejects(admit(ctx, { digest: 'sha256:xyz', env: 'prod' }), /not a digest/);
    await assert.rejects(admit(ctx, { digest: `sha256:${'a'.repeat(64)}`, env: 'no spaces' }), /not a valid name/);
    await insertArtifact(store, { digest: `sha256:${'b'.repeat(64)}`, path: null });
    const d = await admit(ctx, { digest: `sha256:${'b'.repeat(64)}`, env: 'prod', verifyFiles: true });
    assert.match(d.reasons.find((r) => r.check === 'files.unchanged')!.message, /no registered path/);
  });
}
