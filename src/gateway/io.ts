/** Reading bounded JSON request bodies and writing JSON replies, for the gateway's raw routes. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PerimeterError } from '../errors/errors.ts';
import type { OpenAiError } from './http-errors.ts';

const JSON_TYPE = /^application\/json\b/i;

/** The body as bytes and as a JSON object; PERIM_E_REQUEST_MALFORMED (400/413/415) otherwise. */
export async function readJsonBody(req: IncomingMessage, max: number): Promise<{ raw: Buffer; json: Record<string, unknown> }> {
  if (!JSON_TYPE.test(req.headers['content-type'] ?? '')) throw new PerimeterError('PERIM_E_REQUEST_MALFORMED', 'the body must be application/json', { details: { status: 415 } });
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > max) {
    req.resume();
    throw new PerimeterError('PERIM_E_REQUEST_MALFORMED', `the body is larger than ${max} bytes`, { details: { status: 413 } });
  }
  const raw = await readAllBounded(req, max);
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new PerimeterError('PERIM_E_REQUEST_MALFORMED', 'the body is not valid JSON');
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new PerimeterError('PERIM_E_REQUEST_MALFORMED', 'the body must be a JSON object');
  return { raw, json: json as Record<string, unknown> };
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  sendText(res, status, JSON.stringify(body), headers);
}

export function sendText(res: ServerResponse, status: number, text: string | Buffer, headers: Readonly<Record<string, string>> = {}): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...headers });
  res.end(text);
}

export function sendError(res: ServerResponse, status: number, body: OpenAiError, headers: Readonly<Record<string, string>>): void {
  sendJson(res, status, body, headers);
}

/** The request body, refusing (413) beyond `max` bytes; plain listeners, cheaper than async iteration. */
function readAllBounded(req: IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size > max) {
        req.off('data', onData);
        req.resume();
        reject(new PerimeterError('PERIM_E_REQUEST_MALFORMED', `the body is larger than ${max} bytes`, { details: { status: 413 } }));
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    req.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.once('error', reject);
  });
}
