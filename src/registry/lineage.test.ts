/** Lineage both ways and the EU AI Act modification inputs, on both backends. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemorySink } from '../audit/events.ts';
import { backends } from '../../test/stores.ts';
import { assessModification, lineage } from './lineage.ts';
import { registerModel } from './register.ts';
import { adapterModel, baseModel, ggufModel } from './test-models.ts';

// Before any test() call: the stores' after-hook must be registered with every test queued.
const BACKENDS = await backends();

test('the modification assessment: over one third, at most one third, unknown when an input is missing', () => {
  assert.equal(assessModification(4e23, 1e24).assessment, 'over the line');
  assert.equal(assessModification(1e24 / 3, 1e24).assessment, 'under', 'exactly one third is not more than one third');
  assert.equal(assessModification(1e22, 1e24).assessment, 'under');
  assert.equal(assessModification(1e22, 1e24).ratio, 0.01);
  assert.equal(assessModification(null, 1e24).assessment, 'unknown');
  assert.match(assessModification(null, 1e24).note, /modification compute/);
  assert.equal(assessModification(1e22, null).assessment, 'unknown');
  assert.equal(assessModification(1e22, null).threshold, null);
  assert.equal(assessModification(0, 1e24).assessment, 'under');
});

for (const b of BACKENDS) {
  test(`${b.name}: base → fine-tune → adapter → quantization, queried up and down`, { skip: b.skip }, async () => {
    const store = await b.open();
    const sink = new MemorySink();
    const base = await registerModel(store, sink, baseModel('L0'), { name: 'acme/base', kind: 'base', trainingFlops: 3e24 });
    const ft = await registerModel(store, sink, baseModel('L1'), { name: 'acme/chat', parents: ['acme/base'], trainingFlops: 2e24 });
    const ft2 = await registerModel(store, sink, baseModel('L1b'), { name: 'acme/code', parents: ['acme/base'], kind: 'fine-tune', trainingFlops: 1e22 });
    const ad = await registerModel(store, sink, adapterModel('acme/chat'), { name: 'acme/chat-lora' });
    const q = await registerModel(store, sink, ggufModel('acme/chat'), { name: 'acme/chat-q4', trainingFlops: 0 });
    const merge = await registerModel(store, sink, baseModel('M'), { name: 'acme/merge', parents: ['acme/chat', 'acme/code'] });
    assert.equal(merge.kind, 'merge');

    const up = await lineage(store, 'acme/chat-lora');
    assert.equal(up.artifact.digest, ad.digest);
    assert.deepEqual(up.ancestors.map((n) => [n.name, n.depth]), [['acme/chat', 1], ['acme/base', 2]]);
    assert.deepEqual(up.descendants, []);

    const mid = await lineage(store, ft.digest);
    assert.deepEqual(mid.ancestors.map((n) => n.name), ['acme/base']);
    assert.deepEqual(mid.descendants.map((n) => [n.name, n.depth]), [['acme/chat-lora', 1], ['acme/chat-q4', 1], ['acme/merge', 1]]);
    const e = mid.edges.find((x) => x.child === ft.digest && x.parent === base.digest)!;
    assert.equal(e.relation, 'fine-tune');
    assert.equal(e.modification.assessment, 'over the line', '2e24 > 3e24 / 3');
    assert.equal(mid.edges.find((x) => x.child === ad.digest)!.modification.assessment, 'unknown', 'the adapter recorded no compute');
    assert.equal(mid.edges.find((x) => x.child === q.digest)!.relation, 'quantization');
    assert.equal(mid.edges.find((x) => x.child === q.digest)!.modification.assessment, 'under', 'a quantization with 0 FLOP of training');

    const root = await lineage(store, 'acme/base');
    assert.deepEqual(root.ancestors, []);
    assert.deepEqual(root.descendants.map((n) => [n.name, n.depth]), [['acme/chat', 1], ['acme/code', 1], ['acme/chat-lora', 2], ['acme/chat-q4', 2], ['acme/merge', 2]]);
    assert.equal(root.edges.find((x) => x.child === ft2.digest)!.modification.assessment, 'under');

    const m = await lineage(store, 'acme/merge');
    assert.deepEqual(m.ancestors.map((n) => [n.name, n.depth]), [['acme/chat', 1], ['acme/code', 1], ['acme/base', 2]]);
    await assert.rejects(lineage(store, 'nobody'), { code: 'PERIM_E_NOT_FOUND' });
  });

  test(`${b.name}: a parent known only by model id shows as not registered`, { skip: b.skip }, async () => {
    const store = await b.open();
    await registerModel(store, new MemorySink(), adapterModel('far/away'), { name: 'x' });
    const r = await lineage(store, 'x');
    assert.deepEqual(r.ancestors.map((n) => [n.digest, n.name, n.registered]), [['name:far/away', 'far/away', false]]);
    assert.equal(r.edges[0]!.modification.assessment, 'unknown');
  });
}
