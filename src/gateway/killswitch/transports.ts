/**
 * The receiving ends of kill-switch messages: a Redis subscriber connection, a PostgreSQL LISTEN
 * connection, and, for SQLite, a watch on the database's folder (a commit writes the -wal file
 * there) backed by polling. Each reports messages and "you may have missed some" (a reconnect) to
 * its owner; none holds state.
 */
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { Redis } from 'ioredis';
import type pg from 'pg';
import { PerimeterError } from '../../errors/errors.ts';
import { openPostgres } from '../../store/postgres.ts';

export interface Receiver {
  close(): Promise<void>;
}

export interface ReceiverEvents {
  message(text: string): void;
  /** The connection came back after a loss: messages may have been missed. */
  resync(): void;
  error(e: PerimeterError): void;
}

const coordination = (message: string, cause: unknown): PerimeterError =>
  new PerimeterError('PERIM_E_COORDINATION', `${message}: ${(cause as Error)?.message ?? String(cause)}`, { cause });

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).catch((e: unknown) => {
    throw coordination(what, e);
  }).finally(() => clearTimeout(timer));
}

/** A dedicated subscriber connection on `channel`. ioredis reconnects and resubscribes by itself. */
export async function redisReceiver(url: string, channel: string, name: string, on: ReceiverEvents, timeoutMs = 5000): Promise<Receiver> {
  const sub = new Redis(url, { connectionName: name, lazyConnect: true });
  let ready = false;
  sub.on('error', (e: Error) => on.error(coordination('Redis subscriber connection for kill-switch messages failed', e)));
  sub.on('message', (ch: string, text: string) => {
    if (ch === channel) on.message(text);
  });
  sub.on('ready', () => {
    if (ready) on.resync();
  });
  try {
    await withTimeout(
      sub.connect().then(() => sub.subscribe(channel)),
      timeoutMs,
      `cannot subscribe to ${channel} on Redis`,
    );
  } catch (e) {
    sub.disconnect();
    throw e;
  }
  ready = true;
  return { close: async () => void (await sub.quit().catch(() => sub.disconnect())) };
}

/** A dedicated PostgreSQL connection doing LISTEN, reconnecting (and asking for a resync) when it drops. */
export async function postgresReceiver(url: string, channel: string, name: string, on: ReceiverEvents): Promise<Receiver> {
  const u = new URL(url);
  u.searchParams.set('application_name', name);
  const { pool } = openPostgres(u.toString());
  pool.on('error', () => {}); // an idle client's error surfaces on the client itself
  let client: pg.PoolClient | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  const onNotification = (n: pg.Notification): void => {
    if (n.channel === channel && n.payload !== undefined) on.message(n.payload);
  };
  const connect = async (): Promise<void> => {
    const c = await pool.connect();
    let gone = false;
    const lost = (e?: Error): void => {
      if (gone) return;
      gone = true;
      c.removeListener('notification', onNotification);
      c.release(true);
      if (client === c) client = undefined;
      if (closed) return;
      on.error(coordination('PostgreSQL LISTEN connection for kill-switch messages was lost', e ?? new Error('connection ended')));
      scheduleRetry();
    };
    c.on('notification', onNotification);
    c.once('error', lost);
    c.once('end', () => lost());
    try {
      await c.query(`LISTEN "${channel.replaceAll('"', '""')}"`);
    } catch (e) {
      gone = true;
      c.removeListener('notification', onNotification);
      c.release(true);
      throw e;
    }
    client = c;
  };
  const scheduleRetry = (): void => {
    retry = setTimeout(() => {
      connect().then(
        () => on.resync(),
        (e: unknown) => {
          on.error(coordination('cannot LISTEN for kill-switch messages on PostgreSQL', e));
          if (!closed) scheduleRetry();
        },
      );
    }, 1000);
    retry.unref();
  };
  try {
    await connect();
  } catch (e) {
    await pool.end().catch(() => {});
    throw coordination('cannot LISTEN for kill-switch messages on PostgreSQL', e);
  }
  return {
    close: async () => {
      closed = true;
      clearTimeout(retry);
      if (client) {
        client.removeAllListeners('end');
        client.removeAllListeners('error');
        client.on('error', () => {});
        client.removeListener('notification', onNotification);
        await client.query(`UNLISTEN *`).catch(() => {});
        client.release();
        client = undefined;
      }
      await pool.end().catch(() => {});
    },
  };
}

/**
 * SQLite: calls `changed` soon after a kill-switch writer (another process or this one) rewrites
 * the signal file `path` beside the database (killSignalPath), coalescing bursts so that at most
 * one call runs per `minGapMs`. The database file itself is not watched: every audit commit
 * touches it, and reloading kills on each would cost the gateway a query per commit.
 */
export function sqliteWatcher(path: string, changed: () => void, minGapMs = 5): Receiver {
  const name = basename(path);
  let timer: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(path), { persistent: false }, (_event, file) => {
      if (file !== null && String(file) !== name) return;
      if (timer) return;
      timer = setTimeout(() => {
        timer = undefined;
        changed();
      }, minGapMs);
    });
    watcher.on('error', () => watcher?.close()); // polling still runs
  } catch {
    watcher = undefined; // no file watching here (some network file systems): polling alone
  }
  return {
    close: async () => {
      clearTimeout(timer);
      watcher?.close();
    },
  };
}
