/** Kill-switch rows on both store backends: kill, revive, list, audit events, refusals. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MemorySink } from '../../audit/events.ts';
import { backends } from '../../../test/stores.ts';
import { kill, listKills, revive } from './store.ts';

for (const b of await backends()) {
  describe(`kill-switch store (${b.name})`, { skip: b.skip }, () => {
    test('kill, kill again (no new row), revive, list; audited as gateway.kill / gateway.revive', async () => {
      const store = await b.open();
      const sink = new MemorySink();
      const first = await kill(store, sink, { kind: 'model', id: 'llama3:8b' }, { reason: 'jailbreak wave', actor: 'cli:ops', at: 1000 });
      assert.equal(first.created, true);
      assert.deepEqual({ ...first.record, killId: 0 }, { kind: 'model', id: 'llama3:8b', reason: 'jailbreak wave', actor: 'cli:ops', at: 1000, killId: 0, revivedAt: null, revivedBy: null });
      const again = await kill(store, sink, { kind: 'model', id: 'llama3:8b' }, { reason: 'second', actor: 'cli:other' });
      assert.equal(again.created, false);
      assert.equal(again.record.killId, first.record.killId);
      assert.equal(again.record.reason, 'jailbreak wave');
      await kill(store, sink, { kind: 'principal', id: 'mallory' }, { actor: 'cli:ops', at: 2000 });

      assert.deepEqual((await listKills(store, { active: true })).map((k) => `${k.kind}:${k.id}`), ['principal:mallory', 'model:llama3:8b']);
      const revived = await revive(store, sink, { kind: 'model', id: 'llama3:8b' }, { actor: 'cli:lead', at: 3000 });
      assert.equal(revived.length, 1);
      assert.equal(revived[0]!.revivedAt, 3000);
      assert.equal(revived[0]!.revivedBy, 'cli:lead');
      assert.deepEqual((await listKills(store, { active: true })).map((k) => k.id), ['mallory']);
      assert.deepEqual((await listKills(store, { active: false })).map((k) => k.id), ['llama3:8b']);
      assert.equal((await listKills(store)).length, 2);

      // killing it again after a revive is a new kill
      const third = await kill(store, sink, { kind: 'model', id: 'llama3:8b' }, { actor: 'cli:ops' });
      assert.equal(third.created, true);
      assert.notEqual(third.record.killId, first.record.killId);

      assert.deepEqual(
        sink.events.map((e) => [e.type, e.actor, e.subject]),
        [
          ['gateway.kill', 'cli:ops', 'model:llama3:8b'],
          ['gateway.kill', 'cli:ops', 'principal:mallory'],
          ['gateway.revive', 'cli:lead', 'model:llama3:8b'],
          ['gateway.kill', 'cli:ops', 'model:llama3:8b'],
        ],
      );
      assert.deepEqual(sink.events[0]!.data, { kind: 'model', target: 'llama3:8b', reason: 'jailbreak wave', kill_id: first.record.killId });
      assert.deepEqual(sink.events[2]!.data, { kind: 'model', target: 'llama3:8b', kill_ids: [first.record.killId] });
    });

    test('revive of nothing is PERIM_E_NOT_FOUND; bad kinds, ids and reasons are PERIM_E_USAGE; nothing is recorded', async () => {
      const store = await b.open();
      const sink = new MemorySink();
      await assert.rejects(revive(store, sink, { kind: 'runtime', id: 'gpu-1' }, { actor: 'a' }), { code: 'PERIM_E_NOT_FOUND' });
      await assert.rejects(kill(store, sink, { kind: 'tenant' as 'model', id: 'x' }, { actor: 'a' }), { code: 'PERIM_E_USAGE' });
      await assert.rejects(kill(store, sink, { kind: 'model', id: '' }, { actor: 'a' }), { code: 'PERIM_E_USAGE' });
      await assert.rejects(kill(store, sink, { kind: 'model', id: 'a\nb' }, { actor: 'a' }), { code: 'PERIM_E_USAGE' });
      await assert.rejects(kill(store, sink, { kind: 'model', id: 'm' }, { actor: 'a', reason: 'x'.repeat(1001) }), { code: 'PERIM_E_USAGE' });
      await assert.rejects(kill(store, sink, { kind: 'model', id: 'm' }, { actor: '' }), { code: 'PERIM_E_USAGE' });
      assert.equal(sink.events.length, 0);
      assert.equal((await listKills(store)).length, 0);
    });
  });
}
