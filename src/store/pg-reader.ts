/**
 * The one thing the lean inventory listing (src/registry/inventory-pg.ts) needs from PostgreSQL:
 * simple queries with text results and a streamed COPY ... TO STDOUT. Two implementations: the
 * lean wire reader (pg-wire.ts, for the URLs it serves) and node-postgres (pgReader below, for
 * every other URL: TLS, unix sockets, PG* environment variables, ~/.pgpass).
 */
import type pg from 'pg';

/** One statement's result: column names and rows as text (null for NULL), as the server sent them. */
export interface TextResult {
  fields: string[];
  rows: (string | null)[][];
}

/**
 * Receives a COPY's data bytes in order, message boundaries not kept. The chunk is the receiver's
 * to keep. A returned promise holds the stream (the socket pauses) until it settles.
 */
export type CopySink = (chunk: Buffer) => void | Promise<unknown>;

export interface PgReader {
  /** A simple query of one or more statements; each statement's result in order. */
  query(text: string): Promise<TextResult[]>;
  /** COPY ... TO STDOUT; settles when the server has finished (and the sink has taken every chunk). */
  copyOut(text: string, sink: CopySink): Promise<void>;
  /** Closes the connection without waiting for the server. */
  end(): void;
}

/** Rows as records by column name (the last of duplicate names wins). */
export const records = <T>(r: TextResult): T[] => r.rows.map((row) => Object.fromEntries(r.fields.map((f, i) => [f, row[i]])) as T);

/** A PgReader over a connected node-postgres client. */
export function pgReader(client: pg.Client): PgReader {
  const text = { getTypeParser: () => (v: string) => v };
  return {
    async query(sql) {
      const r = (await client.query({ text: sql, rowMode: 'array', types: text } as pg.QueryConfig)) as unknown as pg.QueryResult | pg.QueryResult[];
      return (Array.isArray(r) ? r : [r]).map((x) => ({ fields: (x.fields ?? []).map((f) => f.name), rows: x.rows as (string | null)[][] }));
    },
    copyOut(sql, sink) {
      return new Promise<void>((resolve, reject) => {
        const stream = (client as unknown as { connection: { stream: { pause(): void; resume(): void } } }).connection.stream;
        let error: unknown;
        let held = 0;
        let ready = false;
        const settle = (): void => {
          if (!ready || held) return;
          if (error) reject(error);
          else resolve();
        };
        // pg's "submittable" interface: it calls submit, then a handle* method per message.
        const submittable = {
          submit: (c: { query(t: string): void }) => c.query(sql),
          handleCopyData: (msg: { chunk: Buffer }) => {
            if (error) return;
            try {
              const p = sink(Buffer.from(msg.chunk)); // pg reuses its buffer
              if (p) {
                if (held++ === 0) stream.pause();
                p.then(
                  () => void (--held === 0 && (stream.resume(), settle())),
                  (e: unknown) => void ((error ??= e), --held === 0 && (stream.resume(), settle())),
                );
              }
            } catch (e) {
              error = e;
            }
          },
          handleCopyInResponse: (c: { sendCopyFail(m: string): void }) => c.sendCopyFail('not a COPY FROM'),
          // A server error is followed by ReadyForQuery, a lost connection by nothing: settle now.
          handleError: (e: unknown) => {
            error ??= e;
            ready = true;
            settle();
          },
          handleReadyForQuery: () => {
            ready = true;
            settle();
          },
          handleCommandComplete() {},
          handleDataRow() {},
          handleRowDescription() {},
          handleEmptyQuery() {},
          handlePortalSuspended() {},
        };
        client.query(submittable as unknown as pg.QueryConfig); // returns the submittable, not a promise
      });
    },
    end() {
      void client.end().catch(() => {});
      (client as unknown as { connection: { stream: { unref(): void } } }).connection.stream.unref();
    },
  };
}
