/**
 * A simulated PostgreSQL server for tests of the lean wire reader (src/store/pg-wire.ts): it reads
 * the frontend's messages and lets a test script the backend's answers byte for byte, for what the
 * real test server cannot be made to do (ask for a password, lie about SCRAM, send garbage).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { after } from 'node:test';

export interface FrontendMessage {
  /** '' for the startup message. */
  type: string;
  body: Buffer;
}

/** Reads frontend messages off a socket, in order. */
export class Frontend {
  #buf = Buffer.alloc(0);
  #waiting: (() => void) | undefined;
  #startup = true;
  #closed = false;
  readonly socket: Socket;
  constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      this.#buf = Buffer.concat([this.#buf, d]);
      this.#waiting?.();
    });
    socket.on('close', () => {
      this.#closed = true;
      this.#waiting?.();
    });
    socket.on('error', () => {});
  }
  async next(): Promise<FrontendMessage | undefined> {
    for (;;) {
      const head = this.#startup ? 4 : 5;
      if (this.#buf.length >= head) {
        const len = this.#buf.readInt32BE(head - 4);
        const total = head - 4 + len;
        if (this.#buf.length >= total) {
          const type = this.#startup ? '' : String.fromCharCode(this.#buf[0]!);
          const body = Buffer.from(this.#buf.subarray(head, total));
          this.#buf = this.#buf.subarray(total);
          this.#startup = false;
          return { type, body };
        }
      }
      if (this.#closed) return undefined;
      await new Promise<void>((r) => (this.#waiting = r));
      this.#waiting = undefined;
    }
  }
  send(...messages: Buffer[]): void {
    this.socket.write(Buffer.concat(messages));
  }
}

/** A backend message. */
export function msg(type: string, ...parts: (Buffer | string | number)[]): Buffer {
  const body = Buffer.concat(parts.map((p) => (typeof p === 'number' ? int32(p) : typeof p === 'string' ? Buffer.from(`${p}\0`) : p)));
  const head = Buffer.alloc(5);
  head[0] = type.charCodeAt(0);
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}
export const int32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};
const int16 = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return b;
};

export const authOk = (): Buffer => msg('R', 0);
export const ready = (): Buffer => msg('Z', Buffer.from('I'));
/** RowDescription of text columns. */
export const rowDescription = (names: string[]): Buffer =>
  msg('T', int16(names.length), ...names.flatMap((n) => [Buffer.from(`${n}\0`), int32(0), int16(0), int32(25), int16(-1), int32(-1), int16(0)]));
export const dataRow = (values: (string | null)[]): Buffer =>
  msg('D', int16(values.length), ...values.flatMap((v) => (v === null ? [int32(-1)] : [int32(Buffer.byteLength(v)), Buffer.from(v)])));
export const complete = (tag: string): Buffer => msg('C', tag);
export const errorResponse = (code: string, message: string): Buffer => msg('E', Buffer.from(`SERROR\0C${code}\0M${message}\0\0`));

/** Starts a simulated server; `session` runs once per connection. Closed after the tests. */
export async function simServer(session: (fe: Frontend) => Promise<void>): Promise<{ url: (user?: string, password?: string) => string; server: Server }> {
  const server = createServer((socket) => {
    const fe = new Frontend(socket);
    session(fe)
      .catch(() => {})
      .finally(() => socket.end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  after(() => new Promise<void>((r) => server.close(() => r())));
  const { port } = server.address() as { port: number };
  return { server, url: (user = 'alice', password?: string) => `postgres://${user}${password === undefined ? '' : `:${encodeURIComponent(password)}`}@127.0.0.1:${port}/db` };
}
