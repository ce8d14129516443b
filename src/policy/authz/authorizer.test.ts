import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { isPerimeterError } from '../../errors/errors.ts';
import { CedarAuthorizer } from './authorizer.ts';
import { MONDAY_10H, model, policyDir, principal, request } from './test-helpers.ts';

const dirs: ReturnType<typeof policyDir>[] = [];
after(() => dirs.forEach((d) => d.remove()));

async function authorizer(files: Record<string, string>, schema?: string, cache_size = 0): Promise<CedarAuthorizer> {
  const d = policyDir();
  dirs.push(d);
  const cedar = Object.entries(files).map(([name, text]) => d.write(name, text));
  return CedarAuthorizer.open({ cedar, schema: schema === undefined ? undefined : d.write('schema.cedarschema', schema), cache_size });
}

const ML_TEAM = `
@id("ml-team")
@reason("the ML team may use models")
permit (principal in Perimeter::Group::"ml-team", action, resource);
`;

describe('CedarAuthorizer decisions', () => {
  it('permits by group, with the id and @reason, and denies others by default', async () => {
    const a = await authorizer({ 'main.cedar': ML_TEAM });
    const yes = a.authorize(request(principal({ groups: ['ml-team'] }), model()));
    assert.equal(yes.allowed, true);
    assert.deepEqual(yes.policies, ['ml-team']);
    assert.deepEqual(yes.reasons, ['permitted by ml-team: the ML team may use models']);
    assert.equal(yes.policyVersion, a.status().version);
    const no = a.authorize(request(principal({ id: 'bob', groups: ['sales'] }), model()));
    assert.equal(no.allowed, false);
    assert.deepEqual(no.policies, []);
    assert.deepEqual(no.reasons, ['no policy permits infer on llama3.1:8b for bob']);
  });

  it('names policies without @id "<file>#<n>" in file order', async () => {
    let text = '';
    for (let i = 0; i < 12; i++) text += `// policy ${i + 1}\npermit (principal, action, resource) when { resource.tier == ${i} };\n`;
    const a = await authorizer({ 'tiers.cedar': text });
    for (const tier of [0, 1, 9, 10, 11]) {
      const d = a.authorize(request(principal(), model({ tier })));
      assert.deepEqual(d.policies, [`tiers.cedar#${tier + 1}`]);
      assert.deepEqual(d.reasons, [`permitted by tiers.cedar#${tier + 1}`]);
    }
  });

  it('a forbid overrides a permit', async () => {
    const a = await authorizer({
      'a.cedar': ML_TEAM,
      'b.cedar': '@id("no-gguf")\n@reason("no runtime a for now")\nforbid (principal, action, resource) when { resource.runtime == "ollama-a" };',
    });
    const p = principal({ groups: ['ml-team'] });
    const d = a.authorize(request(p, model()));
    assert.equal(d.allowed, false);
    assert.deepEqual(d.policies, ['no-gguf']);
    assert.deepEqual(d.reasons, ['forbidden by no-gguf: no runtime a for now']);
    assert.equal(a.authorize(request(p, model({ runtime: 'vllm' }))).allowed, true);
  });

  it('denies everything when no policies are loaded (no files, or only comments)', async () => {
    for (const files of [{}, { 'empty.cedar': '// nothing here yet\n' }] as Record<string, string>[]) {
      const a = await authorizer(files);
      assert.equal(a.status().policies, 0);
      const d = a.authorize(request(principal({ groups: ['ml-team'] }), model()));
      assert.equal(d.allowed, false);
      assert.match(d.reasons[0]!, /^no policy permits infer on llama3\.1:8b for alice: no policies are loaded.*default deny/);
    }
  });

  it('denies an unadmitted model with a policy on resource.admitted', async () => {
    const a = await authorizer({ 'p.cedar': `${ML_TEAM}\n@id("admitted-only")\nforbid (principal, action, resource) unless { resource.admitted };` });
    const p = principal({ groups: ['ml-team'] });
    assert.equal(a.authorize(request(p, model({ admitted: true }))).allowed, true);
    const d = a.authorize(request(p, model({ admitted: false })));
    assert.equal(d.allowed, false);
    assert.deepEqual(d.policies, ['admitted-only']);
  });

  it('applies tier, verified and attestation conditions', async () => {
    const a = await authorizer({
      'p.cedar': `permit (principal, action, resource) when { resource.tier <= 1 };
        @id("tier-2")
        permit (principal, action, resource) when { resource.tier == 2 && principal.verified && principal.attestations.contains("aup-2026") };`,
    });
    const plain = principal();
    const attested = principal({ verified: true, attestations: ['aup-2026'] });
    assert.equal(a.authorize(request(plain, model({ tier: 1 }))).allowed, true);
    assert.equal(a.authorize(request(plain, model({ tier: null }))).allowed, true, 'unknown tier is 0');
    assert.equal(a.authorize(request(plain, model({ tier: 2 }))).allowed, false);
    assert.equal(a.authorize(request(principal({ verified: true }), model({ tier: 2 }))).allowed, false);
    assert.equal(a.authorize(request(principal({ attestations: ['aup-2026'] }), model({ tier: 2 }))).allowed, false);
    assert.deepEqual(a.authorize(request(attested, model({ tier: 2 }))).policies, ['tier-2']);
    assert.equal(a.authorize(request(attested, model({ tier: 3 }))).allowed, false);
  });

  it('checks context.source_ip with isInRange (IPv4-mapped IPv6 counts as IPv4)', async () => {
    const a = await authorizer({ 'p.cedar': 'permit (principal, action, resource) when { context.source_ip.isInRange(ip("10.0.0.0/8")) };' });
    const p = principal();
    assert.equal(a.authorize(request(p, model(), { sourceIp: '10.200.0.1' })).allowed, true);
    assert.equal(a.authorize(request(p, model(), { sourceIp: '::ffff:10.0.0.7' })).allowed, true);
    assert.equal(a.authorize(request(p, model(), { sourceIp: '192.168.1.1' })).allowed, false);
    assert.equal(a.authorize(request(p, model(), { sourceIp: '::1' })).allowed, false);
  });

  it('checks the declared purpose ("" when none) and the org', async () => {
    const a = await authorizer({
      'p.cedar': `permit (principal, action, resource == Perimeter::Model::"meditron") when { context.purpose == "clinical" && principal.org == "hospital" };
        forbid (principal, action, resource) when { principal.org == "" };`,
    });
    const m = model({ id: 'meditron' });
    assert.equal(a.authorize(request(principal({ org: 'hospital' }), m, { purpose: 'clinical' })).allowed, true);
    assert.equal(a.authorize(request(principal({ org: 'hospital' }), m, { purpose: 'marketing' })).allowed, false);
    assert.equal(a.authorize(request(principal({ org: 'hospital' }), m, { purpose: null })).allowed, false);
    assert.equal(a.authorize(request(principal({ org: 'hospital' }), model(), { purpose: 'clinical' })).allowed, false);
    assert.deepEqual(a.authorize(request(principal({ org: null }), m, { purpose: 'clinical' })).policies, ['p.cedar#2']);
  });

  it('gives hour and weekday in UTC (0 = Sunday)', async () => {
    const a = await authorizer({ 'p.cedar': 'permit (principal, action, resource) when { context.weekday >= 1 && context.weekday <= 5 && context.hour >= 8 && context.hour < 18 };' });
    const p = principal();
    assert.equal(a.authorize(request(p, model(), { time: MONDAY_10H })).allowed, true);
    assert.equal(a.authorize(request(p, model(), { time: MONDAY_10H + 8 * 3_600_000 })).allowed, false, 'Monday 18:00');
    assert.equal(a.authorize(request(p, model(), { time: MONDAY_10H - 24 * 3_600_000 })).allowed, false, 'Sunday');
    assert.equal(a.authorize(request(p, model(), { time: MONDAY_10H + 4 * 24 * 3_600_000 })).allowed, true, 'Friday');
    // Exact hour and weekday against Date's own arithmetic over a spread of instants.
    const b = await authorizer({ 'p.cedar': 'permit (principal, action, resource) when { context.hour * 10 + context.weekday == resource.tier };' });
    for (let t = Date.UTC(1999, 11, 31, 23, 59, 59); t < Date.UTC(2031, 0, 1); t += 97_531_777_777) {
      const d = new Date(t);
      assert.equal(b.authorize(request(p, model({ tier: d.getUTCHours() * 10 + d.getUTCDay() }), { time: t })).allowed, true, d.toISOString());
    }
  });

  it('an evaluation error never allows: an erroring permit does not permit, an erroring forbid denies', async () => {
    const a = await authorizer({
      'p.cedar': `@id("bad-permit")
permit (principal, action, resource) when { principal.nope == 1 };`,
    });
    const d = a.authorize(request(principal(), model()));
    assert.equal(d.allowed, false);
    assert.equal(d.errors.length, 1);
    assert.match(d.errors[0]!, /^bad-permit \(.*p\.cedar:2\): .*nope/);
    const b = await authorizer({ 'p.cedar': `permit (principal, action, resource);\n@id("bad-forbid")\nforbid (principal, action, resource) when { resource.nope };` });
    const e = b.authorize(request(principal(), model()));
    assert.equal(e.allowed, false, 'Cedar alone would allow here');
    assert.deepEqual(e.policies, ['bad-forbid']);
    assert.match(e.reasons[0]!, /fail closed/);
    assert.equal(e.errors.length, 1);
    const f = b.authorize(request(principal(), model(), { sourceIp: 'not-an-ip' }));
    assert.equal(f.allowed, false);
    assert.match(f.errors[0]!, /invalid IP/);
  });

  it('the example policy set validates against the example schema and decides as its comments say', async () => {
    const ex = join(import.meta.dirname, '../../../examples/policies');
    const a = await CedarAuthorizer.open({ cedar: [join(ex, 'gateway.cedar')], schema: join(ex, 'schema.cedarschema'), cache_size: 0 });
    assert.ok(a.status().policies >= 8);
    const ml = principal({ groups: ['ml-team'], verified: true });
    assert.deepEqual(a.authorize(request(ml, model({ tier: 2 }))).policies, ['ml-team']);
    assert.deepEqual(a.authorize(request(ml, model({ tier: 2, admitted: false }))).policies, ['deny-unadmitted']);
    assert.deepEqual(a.authorize(request(ml, model({ tier: 3 }))).policies, ['tier3-attested']);
    assert.deepEqual(a.authorize(request(ml, model(), { sourceIp: '203.0.113.9' })).policies, ['internal-network-only']);
    const contractor = principal({ id: 'carol', groups: ['contractors'] });
    assert.equal(a.authorize(request(contractor, model({ tier: 1 }))).allowed, true);
    assert.deepEqual(a.authorize(request(contractor, model({ tier: 1 }), { time: MONDAY_10H - 86_400_000 })).policies, ['contractors-office-hours']);
    assert.equal(a.authorize(request(contractor, model({ tier: 1 }), { action: 'list' })).allowed, true);
  });

  it('refuses to start on a missing file, a duplicate @id, or a template', async () => {
    const d = policyDir();
    dirs.push(d);
    await assert.rejects(CedarAuthorizer.open({ cedar: [join(d.dir, 'absent.cedar')], cache_size: 0 }), (e) => isPerimeterError(e, 'PERIM_E_POLICY_LOAD') && /absent\.cedar: policy file not found/.test(e.message));
    await assert.rejects(authorizer({ 'a.cedar': '@id("x") permit (principal, action, resource);', 'b.cedar': '\n@id("x") forbid (principal, action, resource);' }), (e) => isPerimeterError(e, 'PERIM_E_POLICY_LOAD') && /b\.cedar:2:1.*duplicate policy id "x" \(also at .*a\.cedar:1\)/.test(e.message));
    await assert.rejects(authorizer({ 't.cedar': 'permit (principal == ?principal, action, resource);' }), (e) => isPerimeterError(e, 'PERIM_E_POLICY_LOAD') && /templates/.test(e.message));
  });
});
