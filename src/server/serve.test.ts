import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { MemorySink } from '../audit/events.ts';
import { parseConfig } from '../config/load.ts';
import { openStore } from '../store/store.ts';
import { tempDir } from '../../test/helpers.ts';
import { simulateVllm } from '../registry/discovery/test-simulators.ts';
import { addRuntime, getRuntime } from '../registry/runtimes.ts';
import { serve } from './serve.ts';

test('serve syncs runtimes at start and on its interval, one sync at a time, and extra routes share the server', async (t) => {
  const store = await openStore(join(tempDir(), 'p.db'));
  const sink = new MemorySink();
  const sim = await simulateVllm([{ id: 'hub-model', root: 'org/hub-model' }]);
  t.after(() => sim.close());
  await addRuntime(store, sink, { name: 'v', kind: 'vllm', url: sim.url });
  const lines: string[] = [];
  const srv = await serve({
    config: parseConfig('', { baseDir: tempDir(), source: 't' }),
    store,
    sink,
    listen: { host: '127.0.0.1', port: 0 },
    syncIntervalSeconds: 1,
    log: (l) => lines.push(l),
    routes: (s) => s.route('GET', '/v1/ping', () => ({ status: 200, body: { pong: true } })),
  });
  t.after(async () => {
    await srv.close();
    await store.close();
  });
  const [a, b] = [srv.syncNow(), srv.syncNow()];
  assert.equal(a, b, 'a sync in progress is shared, not doubled');
  const report = await a;
  assert.equal(report?.findings, 1);
  assert.ok((await getRuntime(store, 'v')).lastSyncAt);
  assert.ok(lines.some((l) => /sync: 1 runtime\(s\), 1 finding\(s\), 0 error\(s\)/.test(l)));
  assert.deepEqual(await (await fetch(`${srv.url}/v1/ping`)).json(), { pong: true });
  const before = sim.requests.length;
  await new Promise((r) => setTimeout(r, 1200));
  assert.ok(sim.requests.length > before, 'the interval ran another sync');
});
