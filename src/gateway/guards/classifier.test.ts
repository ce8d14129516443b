/**
 * Classifier guard against a SIMULATED guard-model server: a real HTTP server on 127.0.0.1 that
 * answers /v1/chat/completions the way Ollama or vLLM serving Llama Guard 3 / gpt-oss-safeguard
 * would (canned replies, not a model). Checks what is sent, how replies are read, and fail-open /
 * fail-closed on timeouts, HTTP errors, garbage and unreachable endpoints.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gatewayGuardsSchema, type ClassifierConfig } from '../../config/gateway-guards.ts';
import { isPerimeterError, type PerimeterError } from '../../errors/errors.ts';
import { ClassifierGuard, parseLlamaGuard, parseSafeguard } from './classifier.ts';
import { classifyRequest } from './request.ts';

interface Seen {
  path: string;
  headers: IncomingMessage['headers'];
  body: { model: string; messages: { role: string; content: string }[]; temperature?: number; stream?: boolean };
}

/** What the simulated server does with the next request. */
let reply: (res: ServerResponse) => void = () => undefined;
const seen: Seen[] = [];
let server: Server;
let base = '';
const dir = mkdtempSync(join(tmpdir(), 'perimeter-classifier-'));
const guards: ClassifierGuard[] = [];

const answer = (content: string) => (res: ServerResponse) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ id: 'sim-1', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }] }));
};

before(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ path: req.url ?? '', headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      reply(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});

after(async () => {
  await Promise.all(guards.map((g) => g.close()));
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

function guard(c: Partial<ClassifierConfig> & Record<string, unknown>, o: { policy?: string; apiKey?: string } = {}): ClassifierGuard {
  const config = gatewayGuardsSchema.parse({ classifier: { url: base, model: 'llama-guard3:8b', ...c } }).classifier!;
  const g = new ClassifierGuard(config, o);
  guards.push(g);
  return g;
}

test('llama-guard-3: the conversation goes as user/assistant messages; "safe" allows', async () => {
  const g = guard({ apply_to: 'both' }, { apiKey: 'sim-key' });
  reply = answer('safe');
  seen.length = 0;
  const r = await g.inspect('How do I bake bread?', 'input');
  assert.equal(r.verdict, 'allow');
  assert.deepEqual(r.findings, []);
  assert.equal(seen.length, 1);
  assert.equal(seen[0]!.path, '/v1/chat/completions');
  assert.equal(seen[0]!.headers.authorization, 'Bearer sim-key');
  assert.equal(seen[0]!.body.model, 'llama-guard3:8b');
  assert.deepEqual(seen[0]!.body.messages, [{ role: 'user', content: 'How do I bake bread?' }]);
  assert.equal(seen[0]!.body.temperature, 0);
  assert.equal(seen[0]!.body.stream, false);
  const o = await g.inspect('Mix flour and water.', 'output', 'How do I bake bread?');
  assert.equal(o.verdict, 'allow');
  assert.deepEqual(seen[1]!.body.messages, [{ role: 'user', content: 'How do I bake bread?' }, { role: 'assistant', content: 'Mix flour and water.' }]);
});

test('llama-guard-3: "unsafe\\nS1,S10" blocks with one finding per category and their names', async () => {
  const g = guard({});
  reply = answer('\nunsafe\nS1,S10');
  const r = await g.inspect('something violent and hateful', 'input');
  assert.equal(r.verdict, 'block');
  assert.deepEqual(r.findings, [
    { rule: 'classifier.S1', kind: 'classifier', action: 'block' },
    { rule: 'classifier.S10', kind: 'classifier', action: 'block' },
  ]);
  assert.deepEqual(r.categories, [{ code: 'S1', name: 'Violent Crimes' }, { code: 'S10', name: 'Hate' }]);
  reply = answer('unsafe');
  assert.deepEqual((await g.inspect('x', 'input')).findings.map((f) => f.rule), ['classifier.unsafe']);
});

test('a request body: the conversation without the system prompt, consecutive turns merged for Llama Guard', async () => {
  const g = guard({});
  reply = answer('unsafe\nS2');
  seen.length = 0;
  const r = await classifyRequest('chat', { messages: [{ role: 'system', content: 'sys' }, { role: 'user', content: 'a' }, { role: 'tool', content: 'b' }, { role: 'assistant', content: 'c' }, { role: 'user', content: 'd' }] }, g);
  assert.equal(r?.verdict, 'block');
  assert.deepEqual(seen[0]!.body.messages, [{ role: 'user', content: 'a\n\nb' }, { role: 'assistant', content: 'c' }, { role: 'user', content: 'd' }]);
  const outputOnly = guard({ apply_to: 'output' });
  assert.equal(await classifyRequest('chat', { messages: [{ role: 'user', content: 'a' }] }, outputOnly), undefined);
});

test('gpt-oss-safeguard: policy as the system message, content as the user message; 0/1 and JSON replies', async () => {
  const policyFile = join(dir, 'policy.md');
  writeFileSync(policyFile, '# Spam Policy\n## INSTRUCTIONS\nReturn exactly one character: 0 or 1.\n');
  const g = guard({ model: 'gpt-oss-safeguard:20b', format: 'gpt-oss-safeguard', policy_file: policyFile });
  seen.length = 0;
  reply = answer('1');
  const r = await g.inspect('BUY NOW http://x.example http://y.example', 'input');
  assert.equal(r.verdict, 'block');
  assert.deepEqual(r.findings.map((f) => f.rule), ['classifier.violation']);
  assert.deepEqual(seen[0]!.body.messages, [
    { role: 'system', content: '# Spam Policy\n## INSTRUCTIONS\nReturn exactly one character: 0 or 1.\n' },
    { role: 'user', content: 'BUY NOW http://x.example http://y.example' },
  ]);
  reply = answer('0');
  assert.equal((await g.inspect('hello', 'input')).verdict, 'allow');
  reply = answer('{"violation": 1, "policy_category": "SP2.a"}');
  assert.deepEqual((await g.inspect('promo', 'input')).findings.map((f) => f.rule), ['classifier.SP2.a']);
  reply = answer('```json\n{"violation": 0, "policy_category": null}\n```');
  assert.equal((await g.inspect('fine', 'input')).verdict, 'allow');
  reply = answer('<|channel|>analysis<|message|>The content is spam.<|end|><|start|>assistant<|channel|>final<|message|>1<|return|>');
  assert.equal((await g.inspect('spam', 'input')).verdict, 'block');
});

test('failures: timeout, HTTP error, garbage, non-JSON, unreachable -- open logs and allows, closed throws', async () => {
  const failures: [string, (res: ServerResponse) => void, string][] = [
    ['timeout', (res) => setTimeout(() => answer('safe')(res), 600), 'timeout'],
    ['http', (res) => res.writeHead(500).end('overloaded'), 'http'],
    ['garbage', answer('I think this is probably fine.'), 'unparseable'],
    ['bad category', answer('unsafe\nviolence'), 'unparseable'],
    ['not json', (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('<html>'), 'unparseable'],
    ['no content', (res) => res.writeHead(200).end('{"choices":[{"message":{"content":null}}]}'), 'unparseable'],
  ];
  const open = guard({ timeout_ms: 150, on_error: 'open' });
  const closed = guard({ timeout_ms: 150, on_error: 'closed' });
  for (const [name, handler, reason] of failures) {
    reply = handler;
    const r = await open.inspect('hello', 'input');
    assert.equal(r.verdict, 'allow', name);
    assert.deepEqual(r.findings, [{ rule: 'classifier.unavailable', kind: 'classifier', action: 'log' }], name);
    assert.equal(r.error, reason, name);
    await assert.rejects(closed.inspect('hello', 'input'), (e: unknown) => {
      assert.ok(isPerimeterError(e, 'PERIM_E_GUARD_UNAVAILABLE'), `${name}: ${String(e)}`);
      assert.equal((e as PerimeterError).details?.reason, reason);
      assert.doesNotMatch((e as Error).message, /hello/, 'the content is not in the error');
      return true;
    });
  }
  const gone = createServer();
  await new Promise<void>((resolve) => gone.listen(0, '127.0.0.1', resolve));
  const port = (gone.address() as AddressInfo).port;
  await new Promise((resolve) => gone.close(resolve));
  const unreachable = new ClassifierGuard(gatewayGuardsSchema.parse({ classifier: { url: `http://127.0.0.1:${port}/v1`, model: 'm', on_error: 'closed', timeout_ms: 500 } }).classifier!);
  guards.push(unreachable);
  await assert.rejects(unreachable.inspect('x', 'input'), (e: unknown) => isPerimeterError(e, 'PERIM_E_GUARD_UNAVAILABLE') && e.details?.reason === 'unreachable');
});

test('configuration: gpt-oss-safeguard needs a readable, non-empty policy; an API key variable must be set', () => {
  assert.equal(gatewayGuardsSchema.safeParse({ classifier: { url: base, model: 'm', format: 'gpt-oss-safeguard' } }).success, false);
  const missing = gatewayGuardsSchema.parse({ classifier: { url: base, model: 'm', format: 'gpt-oss-safeguard', policy_file: join(dir, 'nope.md') } }).classifier!;
  assert.throws(() => new ClassifierGuard(missing), (e: unknown) => isPerimeterError(e, 'PERIM_E_CONFIG'));
  const noKey = gatewayGuardsSchema.parse({ classifier: { url: base, model: 'm', api_key_env: 'PERIMETER_TEST_UNSET_GUARD_KEY' } }).classifier!;
  assert.throws(() => new ClassifierGuard(noKey), (e: unknown) => isPerimeterError(e, 'PERIM_E_CONFIG'));
});

test('reply parsers: exact shapes only', () => {
  assert.deepEqual(parseLlamaGuard(' safe \n'), { unsafe: false });
  assert.deepEqual(parseLlamaGuard('unsafe\nS14'), { unsafe: true, categories: [{ code: 'S14', name: 'Code Interpreter Abuse' }] });
  assert.deepEqual(parseLlamaGuard('unsafe\ns3, S12'), { unsafe: true, categories: [{ code: 'S3', name: 'Sex-Related Crimes' }, { code: 'S12', name: 'Sexual Content' }] });
  for (const bad of ['', 'Safe to say', 'unsafe\nS1;S2', 'The answer is safe']) assert.equal(parseLlamaGuard(bad), undefined, bad);
  assert.deepEqual(parseSafeguard('0'), { unsafe: false });
  assert.equal(parseSafeguard('1')?.unsafe, true);
  for (const bad of ['', '10', '1.5', 'yes', '{"violation": 2}', '{"violation":', '{}', '<|channel|>final']) assert.equal(parseSafeguard(bad), undefined, bad);
});
