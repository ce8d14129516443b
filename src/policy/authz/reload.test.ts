import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { isPerimeterError } from '../../errors/errors.ts';
import { CedarAuthorizer, type ReloadResult } from './authorizer.ts';
import { model, policyDir, principal, request } from './test-helpers.ts';

const dirs: ReturnType<typeof policyDir>[] = [];
after(() => dirs.forEach((d) => d.remove()));
const tempDir = () => {
  const d = policyDir();
  dirs.push(d);
  return d;
};

const PERMIT_ML = '@id("ml")\n@reason("ml may")\npermit (principal in Perimeter::Group::"ml-team", action, resource);\n';
const SCHEMA = `namespace Perimeter {
  entity Group;
  entity Principal in [Group] { kind: String, org: String, verified: Bool, attestations: Set<String>, groups: Set<String> };
  entity Model { digest: String, admitted: Bool, license: String, tier: Long, runtime: String };
  action "infer", "embed", "list" appliesTo {
    principal: [Principal], resource: [Model],
    context: { hour: Long, weekday: Long, source_ip: __cedar::ipaddr, purpose: String }
  };
}`;

describe('CedarAuthorizer cache and reload', () => {
  it('caches decisions by every input and clears the cache on reload', async () => {
    const d = tempDir();
    const file = d.write('p.cedar', PERMIT_ML);
    const a = await CedarAuthorizer.open({ cedar: [file], cache_size: 100 });
    const p = principal({ groups: ['ml-team'] });
    const r = request(p, model());
    const first = a.authorize(r);
    assert.equal(first.cached, false);
    const second = a.authorize(request(p, model()));
    assert.equal(second.cached, true, 'equal inputs in fresh objects hit the cache');
    assert.equal(second.allowed, true);
    assert.deepEqual(second.policies, first.policies);
    // Each input is part of the key.
    const misses: [string, ReturnType<typeof request>][] = [
      ['principal', request(principal({ groups: [] }), model())],
      ['action', request(p, model(), { action: 'embed' })],
      ['model id', request(p, model({ id: 'other' }))],
      ['digest', request(p, model({ digest: 'sha256:bb' }))],
      ['admitted', request(p, model({ admitted: false }))],
      ['license', request(p, model({ license: 'mit' }))],
      ['tier', request(p, model({ tier: 2 }))],
      ['runtime', request(p, model({ runtime: 'vllm' }))],
      ['source ip', request(p, model(), { sourceIp: '10.9.9.9' })],
      ['purpose', request(p, model(), { purpose: 'x' })],
      ['hour', request(p, model(), { time: r.context.time + 3_600_000 })],
      ['weekday', request(p, model(), { time: r.context.time + 86_400_000 })],
    ];
    for (const [what, req] of misses) assert.equal(a.authorize(req).cached, false, what);
    assert.equal(a.authorize(request(p, model(), { time: r.context.time + 60_000 })).cached, true, 'same hour and weekday');
    const before = a.status();
    assert.ok(before.cache.hits >= 2 && before.cache.size === misses.length + 1);

    d.write('p.cedar', `${PERMIT_ML}forbid (principal, action, resource) when { resource.tier > 0 };\n`);
    const res = await a.reload();
    assert.deepEqual([res.ok, res.changed], [true, true]);
    assert.notEqual(res.version, before.version);
    assert.equal(a.status().cache.size, 0);
    const after = a.authorize(request(p, model()));
    assert.deepEqual([after.allowed, after.cached, after.policyVersion], [false, false, res.version]);
    assert.equal(a.authorize(request(p, model())).cached, true);
  });

  it('cache_size 0 never caches; the LRU bound holds', async () => {
    const d = tempDir();
    const off = await CedarAuthorizer.open({ cedar: [d.write('p.cedar', PERMIT_ML)], cache_size: 0 });
    const p = principal({ groups: ['ml-team'] });
    off.authorize(request(p, model()));
    assert.equal(off.authorize(request(p, model())).cached, false);
    const small = await CedarAuthorizer.open({ cedar: [d.write('p.cedar', PERMIT_ML)], cache_size: 2 });
    for (const id of ['a', 'b', 'a', 'c']) small.authorize(request(p, model({ id })));
    assert.equal(small.status().cache.size, 2);
    assert.equal(small.authorize(request(p, model({ id: 'a' }))).cached, true, 'a was used recently');
    assert.equal(small.authorize(request(p, model({ id: 'b' }))).cached, false, 'b was evicted');
  });

  it('a broken reload keeps the last good set in force and reports file and line', async () => {
    const d = tempDir();
    const file = d.write('p.cedar', PERMIT_ML);
    let t = 1000;
    const a = await CedarAuthorizer.open({ cedar: [file], cache_size: 10 }, { now: () => t });
    const good = a.status();
    const p = principal({ groups: ['ml-team'] });
    d.write('p.cedar', `${PERMIT_ML}// a comment\npermit (principal, action, resource) when { resource.license == "é" && resource.tier > };\n`);
    t = 2000;
    const res = await a.reload();
    assert.equal(res.ok, false);
    assert.ok(isPerimeterError(res.error, 'PERIM_E_POLICY_LOAD'));
    assert.equal(res.error.details?.line, 5);
    assert.equal(res.error.details?.column, 88, 'Cedar counts bytes; columns count characters');
    assert.match(res.error.message, /p\.cedar:5:88: /);
    assert.equal(res.version, good.version);
    const s = a.status();
    assert.deepEqual([s.version, s.policies, s.loadedAt], [good.version, 1, 1000]);
    assert.deepEqual([s.lastError?.file, s.lastError?.line, s.lastError?.at], [file, 5, 2000]);
    const dec = a.authorize(request(p, model()));
    assert.deepEqual([dec.allowed, dec.policyVersion], [true, good.version]);
    // An unreadable file is a failure too, and so is a missing one.
    rmSync(file);
    const gone = await a.reload();
    assert.equal(gone.ok, false);
    assert.match(gone.error!.message, /not found/);
    assert.equal(a.authorize(request(p, model())).allowed, true);
    // Fixed: back in business, the error cleared.
    d.write('p.cedar', `${PERMIT_ML}@id("t")\nforbid (principal, action, resource) when { resource.tier > 5 };\n`);
    const fixed = await a.reload();
    assert.deepEqual([fixed.ok, fixed.changed], [true, true]);
    assert.equal(a.status().lastError, undefined);
    assert.equal(a.status().policies, 2);
    assert.deepEqual(a.authorize(request(p, model({ tier: 6 }))).policies, ['t']);
  });

  it('keeps answering during a reload, from the old set until the swap', async () => {
    const d = tempDir();
    const file = d.write('p.cedar', PERMIT_ML);
    const a = await CedarAuthorizer.open({ cedar: [file], cache_size: 10 });
    const p = principal({ groups: ['ml-team'] });
    const v1 = a.status().version;
    d.write('p.cedar', 'forbid (principal, action, resource);');
    const pending = a.reload();
    const during = a.authorize(request(p, model()));
    assert.deepEqual([during.allowed, during.policyVersion], [true, v1]);
    const again = a.reload(); // queued behind the first
    const [r1, r2] = await Promise.all([pending, again]);
    assert.deepEqual([r1.changed, r2.changed, r2.version], [true, false, r1.version]);
    assert.equal(a.authorize(request(p, model())).allowed, false);
  });

  it('refuses a set that does not validate against the schema, at start and on reload', async () => {
    const d = tempDir();
    const schema = d.write('schema.cedarschema', SCHEMA);
    const file = d.write('p.cedar', `${PERMIT_ML}\n@id("typo")\nforbid (principal, action, resource) when { resource.teir > 2 };\n`);
    await assert.rejects(CedarAuthorizer.open({ cedar: [file], schema, cache_size: 0 }), (e) => {
      assert.ok(isPerimeterError(e, 'PERIM_E_POLICY_LOAD'));
      assert.match(e.message, /p\.cedar:6:\d+ \(policy typo\): .*teir/);
      assert.equal(e.details?.line, 6);
      return true;
    });
    d.write('p.cedar', PERMIT_ML);
    const a = await CedarAuthorizer.open({ cedar: [file], schema, cache_size: 0 });
    d.write('p.cedar', `${PERMIT_ML}permit (principal, action, resource) when { resource.tier == "3" };\n`);
    const res = await a.reload();
    assert.equal(res.ok, false);
    assert.equal(res.error?.details?.line, 4);
    assert.equal(a.status().policies, 1);
    // A schema that does not parse is reported against the schema file.
    d.write('schema.cedarschema', 'namespace Perimeter {\n  entity Group;\n  entity Model { tier: Long,, };\n}\n');
    const bad = await a.reload();
    assert.equal(bad.ok, false);
    assert.equal(bad.error?.details?.file, schema);
    assert.equal(bad.error?.details?.line, 3);
  });

  it('watch reloads when a file changes and reports each result', async () => {
    const d = tempDir();
    const file = d.write('p.cedar', PERMIT_ML);
    const a = await CedarAuthorizer.open({ cedar: [file], cache_size: 10 });
    const results: ReloadResult[] = [];
    let wake: () => void = () => {};
    a.watch(0.02, (r) => {
      results.push(r);
      wake();
    });
    const next = () => new Promise<void>((resolve) => (wake = resolve));
    const p = principal({ groups: ['ml-team'] });
    assert.equal(a.authorize(request(p, model())).allowed, true);

    let got = next();
    d.write('p.cedar', `${PERMIT_ML}forbid (principal, action, resource);\n`);
    await got;
    assert.deepEqual([results[0]!.ok, results[0]!.changed], [true, true]);
    assert.equal(a.authorize(request(p, model())).allowed, false);

    got = next();
    d.write('p.cedar', 'this is not cedar');
    await got;
    assert.equal(results[1]!.ok, false);
    assert.equal(a.authorize(request(p, model())).allowed, false, 'still the last good set');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(results.length, 2, 'an unchanged broken file is not retried every tick');

    a.close();
    d.write('p.cedar', PERMIT_ML + '\n');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(results.length, 2, 'closed: no more polling');
  });
});
