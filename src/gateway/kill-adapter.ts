/** The gateway's kill-switch: a LiveKillSwitch on the carriers the deployment has (Redis pub/sub, PostgreSQL LISTEN, else the SQLite file). */
import type { Logger } from 'pino';
import type { EventSink } from '../audit/events.ts';
import type { Store } from '../store/store.ts';
import { LiveKillSwitch } from './killswitch/live.ts';

export function openKillSwitch(o: { store: Store; storeUrl?: string | undefined; redis?: string | undefined; sink: EventSink; log: Logger }): Promise<LiveKillSwitch> {
  return LiveKillSwitch.open({
    store: o.store,
    sink: o.sink,
    ...(o.redis ? { redis: o.redis } : {}),
    ...(o.store.kind === 'postgres' && o.storeUrl ? { postgres: o.storeUrl } : {}),
    onError: (e) => o.log.error({ code: e.code, err: e.message }, 'kill-switch'),
  });
}
