import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PerimeterError } from '../errors/errors.ts';
import { HttpServer, parseListen } from './server.ts';

async function call(url: string, init?: RequestInit): Promise<{ status: number; json: any }> {
  const r = await fetch(url, init);
  return { status: r.status, json: await r.json() };
}

test('routes: JSON in and out; coded errors are 400 with their message; unexpected errors are a generic 500', async (t) => {
  const server = new HttpServer();
  const seen: unknown[] = [];
  server.onError = (e) => seen.push(e);
  server
    .route('POST', '/echo', (req) => ({ status: 200, body: { got: req.json() } }))
    .route('GET', '/bad', () => {
      throw new PerimeterError('PERIM_E_REVIEW_MALFORMED', 'nope');
    })
    .route('GET', '/boom', () => {
      throw new Error('secret internals /etc/passwd');
    })
    .route('POST', '/small', () => ({ status: 204 }), { maxBodyBytes: 10 });
  assert.throws(() => server.route('get', '/bad', () => ({ status: 200 })), /already registered/);
  const l = await server.listen({ host: '127.0.0.1', port: 0 });
  t.after(() => l.close());
  assert.match(l.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const json = { 'content-type': 'application/json' };
  assert.deepEqual(await call(`${l.url}/echo`, { method: 'POST', headers: json, body: '{"a":1}' }), { status: 200, json: { got: { a: 1 } } });
  assert.deepEqual(await call(`${l.url}/bad`), { status: 400, json: { error: { code: 'PERIM_E_REVIEW_MALFORMED', message: 'nope' } } });
  const boom = await call(`${l.url}/boom`);
  assert.deepEqual(boom, { status: 500, json: { error: { code: 'PERIM_E_INTERNAL', message: 'internal error' } } });
  assert.equal(seen.length, 1);
  assert.equal((await call(`${l.url}/small`, { method: 'POST', headers: json, body: '{"aaaaaaaaaaaa":1}' })).status, 413);
  const wrong = await fetch(`${l.url}/echo`);
  assert.equal(wrong.status, 405);
  assert.equal(wrong.headers.get('allow'), 'POST');
});

test('--listen parsing', () => {
  assert.deepEqual(parseListen('127.0.0.1:8443'), { host: '127.0.0.1', port: 8443 });
  assert.deepEqual(parseListen('[::1]:0'), { host: '::1', port: 0 });
  assert.deepEqual(parseListen(':9443'), { host: '0.0.0.0', port: 9443 });
  for (const bad of ['8443', 'host:99999', 'a b:1', '']) assert.throws(() => parseListen(bad), /HOST:PORT/);
});
