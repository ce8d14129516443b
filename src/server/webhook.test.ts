/** The admission webhook over real HTTPS (openssl self-signed certificate), real AdmissionReview v1 bodies, both backends. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemorySink } from '../audit/events.ts';
import { parseConfig } from '../config/load.ts';
import { backends } from '../../test/stores.ts';
import { tempDir } from '../../test/helpers.ts';
import { addTestArtifact, makeTestKey } from '../policy/test-artifacts.ts';
import { DIGEST_ANNOTATION } from '../policy/webhook.ts';
import { serve } from './serve.ts';
import { httpsJson, makeTestTls, podReview } from './test-tls.ts';

const tls = makeTestTls();

for (const b of await backends()) {
  test(`${b.name}: webhook over HTTPS: allows admitted models, denies the rest with the reasons, 400 for malformed reviews`, { skip: b.skip }, async (t) => {
    const store = await b.open();
    const key = makeTestKey();
    const config = parseConfig(
      `admission:
  trust: { keys: [${key.pubPath}] }
  namespaces: { llm-prod: production }
  environments:
    production: { unannotated_pods: deny }
`,
      { baseDir: tempDir(), source: 'test.yaml' },
    );
    const sink = new MemorySink();
    const srv = await serve({ config, store, sink, listen: { host: '127.0.0.1', port: 0 }, tls: { cert: tls.cert, key: tls.key } });
    t.after(() => srv.close());
    assert.match(srv.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const post = (body: unknown) => httpsJson(`${srv.url}/admission/validate`, tls.cert, { body: JSON.stringify(body) });

    const health = await httpsJson(`${srv.url}/healthz`, tls.cert);
    assert.deepEqual([health.status, health.json.ok], [200, true]);

    const good = await addTestArtifact(store, { signer: key.signer });
    const unsigned = await addTestArtifact(store);

    const ok = await post(podReview({ namespace: 'llm-prod', annotations: { [DIGEST_ANNOTATION]: good.digest } }));
    assert.equal(ok.status, 200);
    assert.equal(ok.json.apiVersion, 'admission.k8s.io/v1');
    assert.equal(ok.json.kind, 'AdmissionReview');
    assert.equal(ok.json.response.uid, '705ab4f5-6393-11e8-b7cc-42010a800002');
    assert.equal(ok.json.response.allowed, true, JSON.stringify(ok.json));
    assert.equal(ok.json.response.auditAnnotations.environment, 'production');
    const event = sink.events.find((e) => e.type === 'admission.decision')!;
    assert.equal(event.actor, 'webhook:llm-prod/llm-0');
    assert.equal((event.data as { source: string }).source, 'webhook');

    const denied = await post(podReview({ namespace: 'llm-prod', annotations: { [`${DIGEST_ANNOTATION}.vllm`]: unsigned.digest } }));
    assert.equal(denied.json.response.allowed, false);
    assert.equal(denied.json.response.status.code, 403);
    assert.match(denied.json.response.status.message, /container vllm\) is not admitted for environment production: signature\.trusted: no signature bundle/);

    const unknown = await post(podReview({ namespace: 'llm-prod', annotations: { [DIGEST_ANNOTATION]: `sha256:${'9'.repeat(64)}` } }));
    assert.match(unknown.json.response.status.message, /artifact\.known: no artifact sha256:9+ is registered/);

    // several digests: all must be admitted
    const mixed = await post(podReview({ namespace: 'llm-prod', annotations: { [DIGEST_ANNOTATION]: `${good.digest}, ${unsigned.digest}` } }));
    assert.equal(mixed.json.response.allowed, false);

    const typo = await post(podReview({ namespace: 'llm-prod', annotations: { [`${DIGEST_ANNOTATION}.vlm`]: good.digest } }));
    assert.match(typo.json.response.status.message, /names container "vlm", which this pod does not have/);
    const notDigest = await post(podReview({ namespace: 'llm-prod', annotations: { [DIGEST_ANNOTATION]: 'latest' } }));
    assert.match(notDigest.json.response.status.message, /not a digest/);

    // unannotated: denied where the environment says so, allowed with a warning elsewhere
    const bare = await post(podReview({ namespace: 'llm-prod' }));
    assert.equal(bare.json.response.allowed, false);
    assert.match(bare.json.response.status.message, /unmanaged \(environment production\), and unannotated pods are denied/);
    const dev = await post(podReview({ namespace: 'dev' }));
    assert.equal(dev.json.response.allowed, true);
    assert.match(dev.json.response.warnings[0], /no perimeter\.dev\/model-digest annotation; it is unmanaged \(environment default\)/);

    // a Deployment's pod template is checked the same way; DELETE is not checked
    const deployment = podReview({ namespace: 'llm-prod' });
    const req = deployment.request as Record<string, any>;
    req.kind = { group: 'apps', version: 'v1', kind: 'Deployment' };
    req.object = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'llm' }, spec: { replicas: 2, template: { metadata: { annotations: { [DIGEST_ANNOTATION]: unsigned.digest } }, spec: { containers: [{ name: 'vllm', image: 'x' }] } } } };
    const dep = await post(deployment);
    assert.equal(dep.json.response.allowed, false);
    assert.match(dep.json.response.status.message, /Deployment llm-prod\/llm-0 denied/);
    const del = podReview({ namespace: 'llm-prod' });
    Object.assign(del.request as object, { operation: 'DELETE', object: null });
    assert.equal((await post(del)).json.response.allowed, true);

    // malformed reviews are 400 with a code; the API server then applies failurePolicy (Fail)
    const v1beta1 = { ...podReview({ namespace: 'x' }), apiVersion: 'admission.k8s.io/v1beta1' };
    const bad = await post(v1beta1);
    assert.deepEqual([bad.status, bad.json.error.code], [400, 'PERIM_E_REVIEW_MALFORMED']);
    assert.match(bad.json.error.message, /admissionReviewVersions/);
    const noUid = podReview({ namespace: 'x' });
    delete (noUid.request as Record<string, unknown>).uid;
    assert.equal((await post(noUid)).json.error.code, 'PERIM_E_REVIEW_MALFORMED');
    const noSpec = podReview({ namespace: 'x' });
    delete ((noSpec.request as Record<string, any>).object as Record<string, unknown>).spec;
    assert.match((await post(noSpec)).json.error.message, /request\.object\.spec is missing/);
    const notJson = await httpsJson(`${srv.url}/admission/validate`, tls.cert, { body: '{"apiVersion": ' });
    assert.deepEqual([notJson.status, notJson.json.error.code], [400, 'PERIM_E_REQUEST_MALFORMED']);
    const wrongType = await httpsJson(`${srv.url}/admission/validate`, tls.cert, { body: '{}', contentType: 'text/plain' });
    assert.equal(wrongType.status, 415);
    assert.equal((await httpsJson(`${srv.url}/admission/validate`, tls.cert)).status, 405);
    assert.equal((await httpsJson(`${srv.url}/nope`, tls.cert)).status, 404);

    // a dry run is decided but not recorded
    const dry = podReview({ namespace: 'llm-prod', annotations: { [DIGEST_ANNOTATION]: good.digest } });
    (dry.request as Record<string, unknown>).dryRun = true;
    const dryReply = await post(dry);
    assert.equal(dryReply.json.response.allowed, true);
    assert.equal(dryReply.json.response.auditAnnotations['decision-ids'], '0');

    const rows = await store.db.selectFrom('admissions').selectAll().execute();
    assert.equal(rows.length, 6, 'every model decision the webhook made is recorded');
  });
}

test('webhook fails closed when it cannot decide (store gone): deny, with the error code, not a crash', async (t) => {
  const [b] = await backends();
  const store = await b!.open();
  const key = makeTestKey();
  const config = parseConfig(`admission: { trust: { keys: [${key.pubPath}] } }`, { baseDir: tempDir(), source: 't' });
  const good = await addTestArtifact(store, { signer: key.signer });
  const srv = await serve({ config, store, sink: new MemorySink(), listen: { host: '127.0.0.1', port: 0 }, tls: { cert: tls.cert, key: tls.key } });
  t.after(() => srv.close());
  await store.close();
  const r = await httpsJson(`${srv.url}/admission/validate`, tls.cert, { body: JSON.stringify(podReview({ namespace: 'x', annotations: { [DIGEST_ANNOTATION]: good.digest } })) });
  assert.equal(r.status, 200);
  assert.equal(r.json.response.allowed, false);
  assert.match(r.json.response.status.message, /could not decide on model .* failing closed: \[PERIM_E_/);
  assert.equal((await httpsJson(`${srv.url}/healthz`, tls.cert)).status, 503);
});

test('a body over the limit is 413; the server refuses to start on a bad certificate or a taken port', async (t) => {
  const [b] = await backends();
  const store = await b!.open();
  const config = parseConfig('', { baseDir: tempDir(), source: 't' });
  const srv = await serve({ config, store, sink: new MemorySink(), listen: { host: '127.0.0.1', port: 0 }, tls: { cert: tls.cert, key: tls.key } });
  t.after(() => srv.close());
  const big = await httpsJson(`${srv.url}/admission/validate`, tls.cert, { body: Buffer.alloc(5 * 1024 * 1024, 0x20) }).catch((e) => ({ status: -1, json: String(e) }));
  assert.ok(big.status === 413 || big.status === -1, `got ${big.status}`);
  await assert.rejects(serve({ config, store, sink: new MemorySink(), listen: { host: '127.0.0.1', port: srv.port }, tls: { cert: tls.cert, key: tls.key } }), /PERIM_E_LISTEN|cannot listen/);
  await assert.rejects(serve({ config, store, sink: new MemorySink(), listen: { host: '127.0.0.1', port: 0 }, tls: { cert: 'nope', key: tls.key } }), (e: any) => e.code === 'PERIM_E_LISTEN');
});
