/**
 * The PostgreSQL frontend/backend protocol's messages as the lean reader (pg-wire.ts) writes and
 * reads them: framing, the errors it raises, and the parts of results it decodes (text only).
 */

/** A server's ErrorResponse, or a connection or protocol failure (no `code`). */
export class WireError extends Error {
  /** SQLSTATE, when the server sent the error. */
  readonly code: string | undefined;
  readonly detail: string | undefined;
  constructor(message: string, fields: { code?: string; detail?: string } = {}, options?: ErrorOptions) {
    super(message, options);
    this.name = 'WireError';
    this.code = fields.code;
    this.detail = fields.detail;
  }
}

/** The server asked for something this reader does not do (an auth method, a password it lacks). */
export class WireUnsupported extends Error {
  override readonly name = 'WireUnsupported';
}

/** Largest message other than CopyData this reader assembles (the server's own limit is 1 GB). */
export const MAX_MESSAGE = 1 << 30;

export const cstr = (s: string): Buffer => {
  if (s.includes('\0')) throw new WireError('a NUL character cannot be sent to PostgreSQL');
  return Buffer.from(`${s}\0`);
};
/** A frontend message: its type, its length, its parts. */
export function message(type: string, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
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

/** An ErrorResponse's fields. */
export function serverError(body: Buffer): WireError {
  const f = new Map<string, string>();
  for (let at = 0; at < body.length && body[at] !== 0; ) {
    const end = body.indexOf(0, at + 1);
    if (end === -1) break;
    f.set(String.fromCharCode(body[at]!), body.toString('utf8', at + 1, end));
    at = end + 1;
  }
  return new WireError(f.get('M') ?? 'PostgreSQL error', { code: f.get('C'), detail: f.get('D') });
}
/** A RowDescription's column names. */
export function rowDescription(body: Buffer): string[] {
  const n = body.readInt16BE(0);
  const names: string[] = [];
  let at = 2;
  for (let i = 0; i < n; i++) {
    const end = body.indexOf(0, at);
    if (end === -1) throw new WireError('protocol error: malformed RowDescription');
    names.push(body.toString('utf8', at, end));
    at = end + 1 + 18;
  }
  return names;
}

/** A DataRow's values as text. */
export function dataRow(body: Buffer): (string | null)[] {
  const n = body.readInt16BE(0);
  const row: (string | null)[] = [];
  let at = 2;
  for (let i = 0; i < n; i++) {
    const len = body.readInt32BE(at);
    at += 4;
    if (len < 0) row.push(null);
    else {
      if (at + len > body.length) throw new WireError('protocol error: malformed DataRow');
      row.push(body.toString('utf8', at, at + len));
      at += len;
    }
  }
  return row;
}
