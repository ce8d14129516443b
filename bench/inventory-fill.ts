/**
 * The inventory bench's data: n synthetic artifacts shaped like real registrations (a third with a
 * parent, a read model on every row as registerModel writes it), admission decisions for one in
 * ten, 20 runtimes serving 5 models each. Used by bench/inventory.ts; also runnable on its own to
 * leave a filled database behind for hyperfine:
 *
 *   npx node bench/inventory-fill.ts /tmp/inv.db [100000]
 *   npx node bench/inventory-fill.ts 'postgres://postgres@127.0.0.1:5432/test?schema=perim_bench_inv' [100000]
 */
import { createHash, randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { summaryJson } from '../src/registry/summary.ts';
import { openStore, type Store } from '../src/store/store.ts';

/** Fills an empty store; returns the milliseconds taken. */
export async function fill(store: Store, n: number): Promise<number> {
  const t = performance.now();
  const now = Date.now();
  const digest = (i: number): string => `sha256:${createHash('sha256').update(`artifact ${i}`).digest('hex')}`;
  const kinds = ['base', 'fine-tune', 'adapter', 'quantization', 'merge'];
  const verdicts = ['clean', 'clean', 'clean', 'low', 'suspicious'];
  const status = ['verified', 'unverified', 'none', 'invalid'];
  const hint = randomBytes(32).toString('hex');
  await store.db.transaction().execute(async (trx) => {
    const B = 1000;
    for (let start = 0; start < n; start += B) {
      const rows = [];
      const edges = [];
      for (let i = start; i < Math.min(n, start + B); i++) {
        const parent = i % 3 === 1 ? digest(i - 1) : null;
        const row = {
          digest: digest(i),
          name: `org${i % 97}/model-${i}`,
          kind: parent ? kinds[1 + (i % 4)]! : 'base',
          format: i % 5 === 0 ? 'gguf' : 'safetensors',
          license: i % 7 === 0 ? 'llama3.1' : 'Apache-2.0',
          parent_digest: parent,
          predecessor_digest: null,
          path: `/models/org${i % 97}/model-${i}`,
          bytes: 1_000_000_000 + i,
          files: 1 + (i % 9),
          signer_method: i % 4 === 2 ? null : 'key',
          signer: i % 4 === 2 ? null : hint,
          signer_issuer: null,
          signature_verified: i % 4 === 0 ? 1 : 0,
          signature_status: status[i % 4]!,
          signature_evidence: '{}',
          scan_verdict: verdicts[i % 5]!,
          scan_findings: i % 5 > 2 ? 1 : 0,
          scan_summary: '{"verdict":"clean","files":3}',
          metadata: '{"modelType":"llama","architectures":["LlamaForCausalLM"]}',
          training_flops: i % 2 ? 1e22 : null,
          tier: i % 50 === 7 ? 2 : null,
          created_at: now + i,
          updated_at: now + i,
          inventory_json: '',
        };
        // The read model, as registerModel writes it with the row.
        row.inventory_json = summaryJson(row, parent ? `org${(i - 1) % 97}/model-${i - 1}` : null);
        rows.push(row);
        if (parent) edges.push({ child_digest: digest(i), parent_digest: parent, relation: 'fine-tune', details: '{}', created_at: now });
      }
      await trx.insertInto('artifacts').values(rows).execute();
      if (edges.length) await trx.insertInto('lineage').values(edges).execute();
    }
    // Admissions: one in ten artifacts, some decided twice (the latest decision counts).
    const adm = [];
    for (let i = 0; i < n / 10; i++) {
      adm.push({ digest: digest(i * 10), env: i % 2 ? 'prod' : 'staging', allowed: i % 3 ? 1 : 0, reasons: '[]', decided_at: now });
      if (i % 4 === 0) adm.push({ digest: digest(i * 10), env: 'lab', allowed: 1, reasons: '[]', decided_at: now });
      if (i % 8 === 0) adm.push({ digest: digest(i * 10), env: 'lab', allowed: 0, reasons: '[]', decided_at: now + 1 });
    }
    for (let s = 0; s < adm.length; s += B) await trx.insertInto('admissions').values(adm.slice(s, s + B)).execute();
    for (let r = 0; r < 20; r++) {
      await trx.insertInto('runtimes').values({ name: `rt-${r}`, kind: 'vllm', url: `http://127.0.0.1:${8000 + r}`, created_at: now, updated_at: now, last_sync_at: now, last_sync_error: null }).execute();
      await trx
        .insertInto('served_models')
        .values(Array.from({ length: 5 }, (_, k) => ({ runtime: `rt-${r}`, model_id: `m-${r}-${k}`, served_digest: null, artifact_digest: k < 4 ? digest(r * 50 + k * 10) : null, source: 'binding', details: '{}', seen_at: now })))
        .execute();
    }
  });
  return Math.round(performance.now() - t);
}

if (import.meta.main) {
  const [target, count] = process.argv.slice(2);
  if (!target) throw new Error('usage: bench/inventory-fill.ts TARGET [COUNT]');
  const store = await openStore(target);
  try {
    const have = Number((await store.db.selectFrom('artifacts').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    if (have) process.stdout.write(`${target}: already has ${have} artifacts\n`);
    else process.stdout.write(`${target}: filled ${count ?? 100_000} artifacts in ${await fill(store, Number(count ?? 100_000))} ms\n`);
    if (store.kind === 'postgres') await sql`analyze`.execute(store.db);
  } finally {
    await store.close();
  }
}
