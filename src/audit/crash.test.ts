/**
 * Acceptance: a child appends in a loop and reports each acknowledged index; it is killed with
 * SIGKILL at random moments, several rounds; afterwards verify passes and every acknowledged entry
 * is there. And two processes appending to one database build one gap-free tree.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { tempDir } from '../../test/helpers.ts';
import { backends } from '../../test/stores.ts';
import { openStore } from '../store/store.ts';
import { auditFiles, readKey } from './keys.ts';
import { verifyStore } from './verify.ts';

const CHILD = new URL('./test-appender.ts', import.meta.url).pathname;
const opened: { close(): Promise<void> }[] = [];
after(async () => Promise.all(opened.map((s) => s.close())));

interface Run {
  acked: Map<number, string>;
  code: number | null;
}

/** Runs the child; with `killAfterMs`, kills it that long after its first acknowledgement. */
function run(args: string[], killAfterMs?: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    const acked = new Map<number, string>();
    let buf = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      const lines = buf.split('\n');
      buf = lines.pop()!; // only complete lines count as acknowledged
      for (const l of lines) {
        const [i, h] = l.split(' ');
        assert.ok(!acked.has(Number(i)), `index ${i} acknowledged twice`);
        acked.set(Number(i), h!);
      }
      if (killAfterMs !== undefined && !timer && acked.size > 0) timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    });
    child.on('error', reject).on('exit', (code) => resolve({ acked, code }));
  });
}

async function check(target: string, keyPath: string, acked: Map<number, string>, total?: number): Promise<void> {
  const store = await openStore(target);
  opened.push(store);
  const key = readKey(keyPath)!;
  const r = await verifyStore(store, { key: key.key, mac: key.mac, checkpointFile: auditFiles(keyPath).checkpoint });
  assert.ok(r.ok, JSON.stringify(r.problem));
  if (total !== undefined) assert.equal(r.entries, total);
  const rows = await store.db.selectFrom('audit_entries').select(['idx', 'leaf_hash']).execute();
  const stored = new Map(rows.map((x) => [Number(x.idx), x.leaf_hash]));
  for (const [i, h] of acked) assert.equal(stored.get(i), h, `acknowledged entry ${i} is missing or different`);
}

for (const b of await backends()) {
  test(`${b.name}: SIGKILL at random moments never loses an acknowledged entry and leaves a log that verifies`, { skip: b.skip }, async () => {
    const target = b.target();
    const keyPath = join(tempDir('perimeter-crash-'), 'audit.key');
    const all = new Map<number, string>();
    for (let round = 0; round < 4; round++) {
      const r = await run([target, keyPath, 'loop'], 20 + Math.floor(Math.random() * 250));
      assert.equal(r.code, null, 'the child was killed');
      assert.ok(r.acked.size > 0);
      if (process.env.PERIMETER_TEST_VERBOSE) console.log(`round ${round}: ${r.acked.size} acknowledged`);
      for (const [i, h] of r.acked) {
        assert.ok(!all.has(i), `index ${i} was handed out twice`);
        all.set(i, h);
      }
    }
    await check(target, keyPath, all);
  });

  test(`${b.name}: two processes appending to one database build one consistent tree`, { skip: b.skip }, async () => {
    const target = b.target();
    const keyPath = join(tempDir('perimeter-two-'), 'audit.key');
    // The first start makes the key; both children then share it (as two gateways on one host would).
    const first = await run([target, keyPath, 'count', '1']);
    assert.equal(first.code, 0);
    const [x, y] = await Promise.all([run([target, keyPath, 'count', '1500']), run([target, keyPath, 'count', '1500'])]);
    assert.deepEqual([x.code, y.code], [0, 0]);
    const union = new Map([...first.acked, ...x.acked, ...y.acked]);
    assert.equal(union.size, 3001, 'no index was handed out twice');
    assert.deepEqual([...union.keys()].sort((p, q) => p - q), Array.from({ length: 3001 }, (_, i) => i));
    await check(target, keyPath, union, 3001);
  });
}
