/**
 * The reference "minimal Node proxy" for the gateway benchmark: a node:http server that forwards
 * each request (method, path, headers, body) to the upstream over an undici Pool with keep-alive
 * and streams the response back as is. No checks of any kind: it is the floor that any Node
 * gateway's overhead is measured against.
 *
 *   node bench/gateway/bare.ts <upstream origin>
 *
 * Started by bench/gateway/run.ts with an IPC channel: it listens on 127.0.0.1 port 0, sends
 * { port } to the parent, and exits when the parent goes away.
 */
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream';
import { Pool } from 'undici';

const origin = process.argv[2];
if (!origin) throw new Error('usage: node bench/gateway/bare.ts <upstream origin>');

const pool = new Pool(origin, { connections: 256, pipelining: 1, keepAliveTimeout: 60_000 });

const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'host', 'content-length',
  'proxy-connection', 'te', 'trailer', 'upgrade']);

function strip(headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const v = headers[name];
    if (v !== undefined && !HOP.has(name)) out[name] = v;
  }
  return out;
}

function fail(res: ServerResponse, err: unknown): void {
  if (res.headersSent || res.destroyed) { res.destroy(); return; }
  const msg = Buffer.from(JSON.stringify({ error: { message: `bare proxy: ${String(err)}` } }));
  res.writeHead(502, { 'content-type': 'application/json', 'content-length': msg.length });
  res.end(msg);
}

function onRequest(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = chunks.length === 0 ? null : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    pool.request({
      method: (req.method ?? 'GET') as 'GET',
      path: req.url ?? '/',
      headers: strip(req.headers),
      body,
    }).then((up) => {
      // The client may have gone away meanwhile (e.g. wrk closing its connections at the end).
      if (res.destroyed) { up.body.dump().catch(() => {}); return; }
      res.writeHead(up.statusCode, strip(up.headers));
      pipeline(up.body, res, (err) => { if (err) res.destroy(); });
    }, (err: unknown) => fail(res, err));
  });
}

const server = createServer({ keepAliveTimeout: 60_000 }, onRequest);
server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  if (process.send) process.send({ port });
  else console.log(`bare pass-through on http://127.0.0.1:${port} -> ${origin}`);
});
process.on('disconnect', () => { void pool.close(); process.exit(0); });
process.on('SIGTERM', () => process.exit(0)); // a clean exit, so --cpu-prof writes its profile
