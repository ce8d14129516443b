/**
 * Child process for the crash and multi-process tests: appends and prints "<index> <leaf hash>"
 * on stdout for every entry once it is durable (acknowledged).
 *   node test-appender.ts TARGET KEY loop      append forever (until killed), checkpointing every 15 ms
 *   node test-appender.ts TARGET KEY count N   append N entries, then close and exit 0
 */
import { openStore } from '../store/store.ts';
import { AuditLog } from './log.ts';

const [target, keyPath, mode, count] = process.argv.slice(2);
const store = await openStore(target!);
const log = await AuditLog.open(store, { keyPath: keyPath!, maxDelayMs: 2, maxBatch: 200 });
let i = 0;
const one = async (limit: number): Promise<void> => {
  while (i < limit) {
    const n = i++;
    const a = await log.append({ type: 'test.crash', actor: `pid:${process.pid}`, data: { n } });
    process.stdout.write(`${a.index} ${a.leafHash}\n`);
  }
};
if (mode === 'loop') {
  log.startCheckpointing(15);
  await Promise.all(Array.from({ length: 64 }, () => one(Infinity)));
} else {
  await Promise.all(Array.from({ length: 32 }, () => one(Number(count))));
  await log.checkpoint();
  await log.close();
  await store.close();
}
