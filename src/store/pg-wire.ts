/**
 * A lean PostgreSQL reader: the frontend/backend protocol 3.0 over TCP, just enough for the
 * inventory listing (pg-reader.ts): startup with trust, cleartext, md5 or SCRAM-SHA-256
 * authentication, simple queries with text results, and COPY ... TO STDOUT streamed without
 * assembling its messages. It loads node:net only (node:crypto when a password is asked for), where
 * node-postgres takes ~30 ms of a command's start to load and assembles every message before
 * handing it over (a 600 KB page is copied several times).
 *
 * It serves only URLs whose meaning it knows exactly as node-postgres gives it (wireConfig);
 * everything else (TLS, unix sockets, PG* environment variables, ~/.pgpass, other parameters)
 * goes to node-postgres.
 */
import { connect, type Socket } from 'node:net';
import { MAX_MESSAGE, WireError, WireUnsupported, cstr, dataRow, int32, message, rowDescription, serverError } from './pg-messages.ts';
import type { CopySink, PgReader, TextResult } from './pg-reader.ts';
import { wireConfig, type WireConfig } from './pg-wire-config.ts';

export { WireError, WireUnsupported } from './pg-messages.ts';
export { wireConfig, type WireConfig } from './pg-wire-config.ts';

/** What the connection is doing: starting up, a query, a COPY. */
interface Op {
  /** The message types it takes (others are a protocol error). */
  accepts: string;
  /** A message other than CopyData (the body is valid during the call only). */
  message(type: number, body: Buffer): void;
  copy?: CopySink;
  resolve(): void;
  reject(e: unknown): void;
  error?: unknown;
}

/** One connection; operations are sent as they are asked for (pipelined) and answered in that order. */
export class Wire implements PgReader {
  readonly #socket: Socket;
  /** Operations sent and not yet answered in full, in order. */
  #ops: Op[] = [];
  #dead: WireError | undefined;
  // The reader's state: a message header being read, the bytes left of the current message.
  readonly #head = Buffer.alloc(5);
  #headLen = 0;
  #type = 0;
  #left = 0;
  #parts: Buffer[] = [];
  #pending: Buffer[] = [];
  #held = false;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#pending.push(chunk);
      this.#pump();
    });
    socket.on('error', (e) => this.#fail(new WireError(`connection to PostgreSQL failed: ${e.message}`, {}, { cause: e })));
    socket.on('close', () => this.#fail(new WireError('connection to PostgreSQL closed')));
  }

  /** Connects and authenticates; rejects with WireUnsupported when the server wants what this reader does not do. */
  static async connect(cfg: WireConfig): Promise<Wire> {
    const socket = connect({ host: cfg.host, port: cfg.port, noDelay: true });
    const wire = new Wire(socket);
    const params = ['user', cfg.user, 'database', cfg.database, 'client_encoding', 'UTF8', ...(cfg.options ? ['options', cfg.options] : [])];
    const body = Buffer.concat([int32(196608), ...params.map(cstr), Buffer.from([0])]);
    socket.write(Buffer.concat([int32(body.length + 4), body]));
    try {
      await wire.#run('RE', (control) => wire.#startup(cfg, control));
    } catch (e) {
      wire.end();
      throw e;
    }
    return wire;
  }

  query(text: string): Promise<TextResult[]> {
    const results: TextResult[] = [];
    let current: TextResult | undefined;
    return this.#run<TextResult[]>('TDCHEG', (op) => {
      this.#socket.write(message('Q', cstr(text)));
      return {
        message: (type, body) => {
          if (type === 0x54 /* T */) current = { fields: rowDescription(body), rows: [] };
          else if (type === 0x44 /* D */) (current ??= { fields: [], rows: [] }).rows.push(dataRow(body));
          else if (type === 0x43 /* C */) {
            results.push(current ?? { fields: [], rows: [] });
            current = undefined;
          } else if (type === 0x48 /* H */) op.fail(new WireError('unexpected COPY in a query'));
        },
        done: () => results,
      };
    });
  }

  copyOut(text: string, sink: CopySink): Promise<void> {
    let copying = false;
    return this.#run<void>('TDCHEG', (op) => {
      this.#socket.write(message('Q', cstr(text)));
      return {
        message: (type) => {
          if (type === 0x48 /* H */) copying = true;
          else if (type === 0x54 || type === 0x44) op.fail(new WireError('expected a COPY, got rows'));
        },
        copy: sink,
        done: () => {
          if (!copying) throw new WireError('expected a COPY');
        },
      };
    });
  }

  end(): void {
    if (!this.#dead && this.#socket.writable) this.#socket.end(message('X'));
    this.#dead ??= new WireError('connection ended');
    this.#socket.unref();
  }

  /**
   * Starts an operation: `start` sends its messages at once (pipelined behind those before it) and
   * says how it handles its answers, which come after theirs.
   */
  #run<T>(accepts: string, start: (op: { fail(e: unknown): void }) => { message(type: number, body: Buffer): void; copy?: CopySink; done(): T }): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.#dead) return reject(this.#dead);
      const control = { fail: (e: unknown) => void (op.error ??= e) };
      const h = start(control);
      const op: Op = {
        accepts,
        message: h.message,
        copy: h.copy,
        resolve: () => {
          try {
            resolve(h.done());
          } catch (e) {
            reject(e);
          }
        },
        reject,
      };
      this.#ops.push(op);
    });
  }

  #startup(cfg: WireConfig, control: { fail(e: unknown): void }): { message(type: number, body: Buffer): void; done(): Promise<void> } {
    let scram: { final?: import('./pg-scram.ts').ScramFinal; start: import('./pg-scram.ts').ScramStart; verified: boolean } | undefined;
    let authenticated = false;
    const send = (...parts: Buffer[]): void => void this.#socket.write(message('p', ...parts));
    const unsupported = (what: string): void => {
      const e = new WireUnsupported(what);
      control.fail(e);
      this.#fail(e);
    };
    const auth = async (code: number, body: Buffer): Promise<void> => {
      if (code === 0) {
        if (scram && !scram.verified) throw new WireError('the server ended SCRAM authentication without proving it knows the password');
        authenticated = true;
        return;
      }
      if (code !== 3 && code !== 5 && code !== 10 && code !== 11 && code !== 12) return unsupported(`authentication method ${code}`);
      if (cfg.password === undefined) return unsupported('a password, and the URL has none');
      const s = await import('./pg-scram.ts');
      if (code === 3) send(cstr(cfg.password));
      else if (code === 5) send(cstr(s.md5Password(cfg.user, cfg.password, body.subarray(4, 8))));
      else if (code === 10) {
        const mechanisms = body.toString('utf8', 4).split('\0');
        if (!mechanisms.includes('SCRAM-SHA-256')) return unsupported(`SASL mechanisms ${mechanisms.filter(Boolean).join(', ')}`);
        const start = s.scramStart();
        scram = { start, verified: false };
        const data = Buffer.from(start.clientFirst);
        send(cstr('SCRAM-SHA-256'), int32(data.length), data);
      } else if (code === 11) {
        if (!scram || scram.final) throw new WireError('unexpected SCRAM message');
        scram.final = s.scramFinal(scram.start, body.toString('utf8', 4), cfg.password);
        send(Buffer.from(scram.final.clientFinal));
      } else {
        if (!scram?.final || !s.scramServerOk(scram.final, body.toString('utf8', 4))) throw new WireError('the server failed to prove it knows the password (SCRAM)');
        scram.verified = true;
      }
    };
    // Authentication messages are answered in order: each waits for the one before it.
    let chain = Promise.resolve();
    let failure: unknown;
    return {
      message: (type, body) => {
        if (type === 0x45 /* E, no ReadyForQuery follows */) {
          const e = serverError(body);
          control.fail(e);
          return this.#fail(e);
        }
        if (type !== 0x52 /* R */) return;
        const copy = Buffer.from(body);
        chain = chain.then(() => auth(copy.readInt32BE(0), copy)).catch((e: unknown) => {
          failure ??= e;
          control.fail(e);
          this.#fail(e instanceof WireError || e instanceof WireUnsupported ? e : new WireError(String(e), {}, { cause: e }));
        });
      },
      // Answers may still be on their way (md5 and SCRAM load node:crypto): ready means after them.
      done: async () => {
        await chain;
        if (failure) throw failure;
        if (!authenticated) throw new WireError('the server was ready before authentication ended');
      },
    };
  }

  /** Reads what has arrived, until it is all read or a COPY sink holds the stream. */
  #pump(): void {
    while (!this.#held && this.#pending.length && !this.#dead) {
      const chunk = this.#pending[0]!;
      let at = 0;
      while (at < chunk.length && !this.#held && !this.#dead) {
        if (this.#left === 0 && this.#headLen < 5) {
          const n = Math.min(5 - this.#headLen, chunk.length - at);
          chunk.copy(this.#head, this.#headLen, at, at + n);
          this.#headLen += n;
          at += n;
          if (this.#headLen < 5) break;
          this.#type = this.#head[0]!;
          const len = this.#head.readInt32BE(1);
          if (len < 4 || (len > MAX_MESSAGE && this.#type !== 0x64)) return this.#fail(new WireError(`protocol error: message of length ${len}`));
          this.#left = len - 4;
          if (this.#left === 0) this.#complete(Buffer.alloc(0));
          continue;
        }
        const n = Math.min(this.#left, chunk.length - at);
        const part = chunk.subarray(at, at + n);
        at += n;
        this.#left -= n;
        if (this.#type === 0x64 /* d: CopyData, streamed */) this.#copyData(part);
        else this.#parts.push(part);
        if (this.#left === 0) {
          if (this.#type !== 0x64) {
            const body = this.#parts.length === 1 ? this.#parts[0]! : Buffer.concat(this.#parts);
            this.#parts = [];
            this.#complete(body);
          } else this.#headLen = 0;
        }
      }
      if (this.#dead) return;
      if (at < chunk.length) this.#pending[0] = chunk.subarray(at);
      else this.#pending.shift();
    }
    if (this.#dead) return;
    if (this.#held) this.#socket.pause();
    else this.#socket.resume();
  }

  #copyData(part: Buffer): void {
    const op = this.#ops[0];
    if (!op?.copy || op.error || !part.length) return;
    let p: void | Promise<unknown>;
    try {
      p = op.copy(part);
    } catch (e) {
      return this.#fail(e);
    }
    if (!p) return;
    this.#held = true;
    p.then(
      () => {
        this.#held = false;
        this.#pump();
      },
      (e: unknown) => this.#fail(e),
    );
  }

  #complete(body: Buffer): void {
    this.#headLen = 0;
    const type = this.#type;
    const op = this.#ops[0];
    try {
      if (type === 0x5a /* Z: ReadyForQuery */) {
        this.#ops.shift();
        if (!op) return this.#fail(new WireError('protocol error: ReadyForQuery with nothing asked'));
        if (op.error) op.reject(op.error);
        else op.resolve();
        return;
      }
      // Notices, notifications, parameter status, key data, protocol negotiation, CopyDone, EmptyQuery.
      if ('NASKvcI'.includes(String.fromCharCode(type))) return;
      if (!op || !op.accepts.includes(String.fromCharCode(type))) return this.#fail(new WireError(`protocol error: unexpected message ${JSON.stringify(String.fromCharCode(type))}`));
      if (type === 0x45 /* E */ && !op.accepts.includes('R')) op.error ??= serverError(body); // ReadyForQuery follows
      else if (type === 0x47 /* G: CopyInResponse */) {
        op.error ??= new WireError('unexpected COPY FROM');
        this.#socket.write(message('f', cstr('not a COPY FROM')));
      } else op.message(type, body);
    } catch (e) {
      this.#fail(e);
    }
  }

  /** The connection is unusable: the operation under way and every later one fail with `e`. */
  #fail(e: unknown): void {
    const err = e instanceof Error ? e : new WireError(String(e));
    if (!this.#dead) this.#dead = err instanceof WireError ? err : new WireError(err.message, {}, { cause: err });
    for (const op of this.#ops.splice(0)) op.reject(op.error ?? err);
    this.#pending = [];
    this.#held = false;
    this.#socket.destroy();
  }
}

/** Connects a lean reader for `url`, or undefined when the URL is not one wireConfig serves. */
export async function connectWire(url: string, env: NodeJS.ProcessEnv = process.env): Promise<Wire | undefined> {
  const cfg = wireConfig(url, env);
  return cfg ? Wire.connect(cfg) : undefined;
}
