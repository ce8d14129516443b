/**
 * Gateway authorization (Cedar) micro-benchmark, printed as JSON: microseconds per decision of
 * `CedarAuthorizer.authorize` for
 *   - uncached (cache_size 0), principal and model objects reused (as the authenticator and the
 *     route table hand them out), and with fresh objects every time (entity JSON rebuilt);
 *   - cached (every decision a hit), which is what the gateway pays for a repeat caller;
 *   - for reference, Cedar re-parsing the policy text on every call (`isAuthorized`).
 * Over the example policy set (examples/policies, 10 policies, schema-validated) and a generated
 * set of 200 policies. The gateway's budget is 400 µs per request in total.
 *
 *   npx node bench/authz.ts [--n 5000]    (re-parsing runs n/25 calls)
 */
import { join } from 'node:path';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { readFileSync } from 'node:fs';
import { CedarAuthorizer } from '../src/policy/authz/authorizer.ts';
import { model, policyDir, principal, request } from '../src/policy/authz/test-helpers.ts';
import type { AuthzRequest } from '../src/gateway/types.ts';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
};
const N = Number(arg('n', '5000'));
const RUNS = 3;
const examples = join(import.meta.dirname, '../examples/policies');
const dir = policyDir();

/** Median over RUNS of µs per call of f over `reqs` (round robin, n calls a run), after a warm-up run. */
function measure(reqs: readonly AuthzRequest[], f: (r: AuthzRequest) => unknown, n = N): number {
  const times: number[] = [];
  for (let run = 0; run <= RUNS; run++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) f(reqs[i % reqs.length]!);
    const us = Number(process.hrtime.bigint() - t0) / 1e3 / n;
    if (run > 0) times.push(us);
  }
  times.sort((a, b) => a - b);
  return Math.round(times[RUNS >> 1]! * 10) / 10;
}

function requests(fresh: boolean): AuthzRequest[] {
  const principals = Array.from({ length: 16 }, (_, i) => principal({ id: `user-${i}`, groups: i % 2 ? ['ml-team'] : ['contractors'], verified: i % 3 === 0, org: 'example-org', attestations: ['acceptable-use-2026'] }));
  const models = Array.from({ length: 8 }, (_, i) => model({ id: `model-${i}`, tier: i % 4, admitted: i !== 7 }));
  return Array.from({ length: fresh ? 4096 : 128 }, (_, i) => {
    const p = principals[i % 16]!;
    const m = models[(i >> 4) % 8]!;
    return request(fresh ? { ...p } : p, fresh ? { ...m } : m, { sourceIp: `10.0.${i % 4}.${i % 250}` });
  });
}

async function suite(name: string, cedarFiles: string[], schema?: string): Promise<Record<string, unknown>> {
  const uncached = await CedarAuthorizer.open({ cedar: cedarFiles, schema, cache_size: 0 });
  const cached = await CedarAuthorizer.open({ cedar: cedarFiles, schema, cache_size: 10_000 });
  const reused = requests(false);
  const fresh = requests(true);
  const allowed = reused.filter((r) => uncached.authorize(r).allowed).length;
  const texts = cedarFiles.map((f) => readFileSync(f, 'utf8')).join('\n');
  const reparse = (r: AuthzRequest): unknown =>
    cedar.isAuthorized({
      principal: { type: 'Perimeter::Principal', id: r.principal.id },
      action: { type: 'Perimeter::Action', id: r.action },
      resource: { type: 'Perimeter::Model', id: r.resource.id },
      context: { hour: 10, weekday: 1, source_ip: { __extn: { fn: 'ip', arg: r.context.sourceIp } }, purpose: '' },
      policies: { staticPolicies: texts },
      entities: [
        { uid: { type: 'Perimeter::Principal', id: r.principal.id }, attrs: { kind: r.principal.kind, org: r.principal.org ?? '', verified: r.principal.verified, attestations: [...r.principal.attestations], groups: [...r.principal.groups] }, parents: r.principal.groups.map((g) => ({ type: 'Perimeter::Group', id: g })) },
        { uid: { type: 'Perimeter::Model', id: r.resource.id }, attrs: { digest: r.resource.digest ?? '', admitted: r.resource.admitted, license: r.resource.license ?? '', tier: r.resource.tier ?? 0, runtime: r.resource.runtime }, parents: [] },
      ],
    });
  const result = {
    policies: uncached.status().policies,
    allowedShare: `${allowed}/${reused.length}`,
    uncachedUs: measure(reused, (r) => uncached.authorize(r)),
    uncachedFreshObjectsUs: measure(fresh, (r) => uncached.authorize(r)),
    cachedUs: measure(reused, (r) => cached.authorize(r)),
    reparseEveryCallUs: measure(reused, reparse, Math.max(1, Math.floor(N / 25))),
  };
  const hitRate = cached.status().cache;
  return { name, ...result, cacheHits: hitRate.hits, cacheMisses: hitRate.misses };
}

let big = '';
for (let i = 0; i < 200; i++) {
  big += i % 10 === 9
    ? `@id("f${i}")\nforbid (principal, action, resource == Perimeter::Model::"blocked-${i}") unless { context.source_ip.isInRange(ip("10.0.0.0/8")) };\n`
    : `@id("p${i}")\npermit (principal in Perimeter::Group::"team-${i}", action, resource) when { resource.tier <= ${i % 4} && principal.verified };\n`;
}
big += '@id("ml")\npermit (principal in Perimeter::Group::"ml-team", action, resource) when { resource.admitted };\n';

try {
  const out = {
    node: process.version,
    cedar: cedar.getCedarVersion(),
    n: N,
    suites: [
      await suite('examples (10 policies, schema)', [join(examples, 'gateway.cedar')], join(examples, 'schema.cedarschema')),
      await suite('generated (201 policies)', [dir.write('big.cedar', big)]),
    ],
  };
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
} finally {
  dir.remove();
}
