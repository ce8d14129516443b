/** Test helpers for the audit log: a log on a fresh store of a backend, with its key in a temp folder. */
import { join } from 'node:path';
import { tempDir } from '../../test/helpers.ts';
import type { Backend } from '../../test/stores.ts';
import { openStore, type Store } from '../store/store.ts';
import { AuditLog, type AuditLogOptions } from './log.ts';
import type { AuditEvent } from './events.ts';

export interface TestLog {
  store: Store;
  log: AuditLog;
  target: string;
  keyPath: string;
}

const open: Store[] = [];

export async function openTestLog(b: Backend, options: AuditLogOptions = {}): Promise<TestLog> {
  const target = b.target();
  const keyPath = options.keyPath ?? join(tempDir('perimeter-audit-'), 'audit.key');
  const store = await openStore(target);
  open.push(store);
  const log = await AuditLog.open(store, { ...options, keyPath });
  return { store, log, target, keyPath };
}

export async function closeTestStores(): Promise<void> {
  await Promise.all(open.splice(0).map((s) => s.close().catch(() => {})));
}

export const event = (i: number, extra: Record<string, unknown> = {}): AuditEvent => ({
  type: 'test.event',
  actor: 'tester',
  subject: `s${i}`,
  data: { i, ...extra },
  at: 1_700_000_000_000 + i,
});

/** Appends n events and waits for them; returns their indexes. */
export async function appendMany(log: AuditLog, n: number, offset = 0): Promise<number[]> {
  return (await Promise.all(Array.from({ length: n }, (_, i) => log.append(event(offset + i))))).map((a) => a.index);
}
