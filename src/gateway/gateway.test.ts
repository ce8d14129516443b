/**
 * End to end: the official `openai` SDK as the client, through the gateway, to SIMULATED Ollama and
 * vLLM runtimes (simulated-runtime.ts), on both store backends. Each case checks what the client sees,
 * what reached (or did not reach) the runtime, and the audit event that records the decision.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI, { APIError } from 'openai';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { backends } from '../../test/stores.ts';
import { LiveKillSwitch } from './killswitch/live.ts';
import { VLLM_KEY, startTestGateway, type TestGateway } from './test-gateway.ts';

const PEM = '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi8Z1dY8nq1jgGm0xsG5P0vZ4Mb\nq0y0q2mZgT0CAwEAAQKCAQEAx9l2k1v3n7e4m1Xq3b6Z8d1c5a7s9d2f4g6h8j0k\n-----END RSA PRIVATE KEY-----';
const AWS_KEY = 'AKIAIOSFODNN7EXAMPLE';

const client = (t: TestGateway, apiKey: string): OpenAI => new OpenAI({ apiKey, baseURL: `${t.url}/v1`, maxRetries: 0, timeout: 10_000 });

async function expectApiError(p: Promise<unknown>, status: number, code: string): Promise<APIError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof APIError, `expected an APIError, got ${e}`);
    assert.equal(e.status, status, `status (${e.message})`);
    assert.equal(e.code, code, `code (${e.message})`);
    return e;
  }
  assert.fail(`expected ${status} ${code}, but the call succeeded`);
}

async function collect(stream: AsyncIterable<OpenAI.Chat.Completions.ChatCompletionChunk>, seen: string[]): Promise<void> {
  for await (const chunk of stream) for (const c of chunk.choices) if (c.delta?.content) seen.push(c.delta.content);
}

for (const b of await backends()) {
  describe(`gateway end to end with the openai SDK (${b.name})`, { skip: b.skip }, () => {
    let t: TestGateway;
    before(async () => {
      t = await startTestGateway(b);
    });
    after(async () => {
      await t?.close();
    });

    test('allowed: chat, streamed chat, completions and embeddings reach the right runtime', async () => {
      const ai = client(t, t.keys.alice);
      const r = await ai.chat.completions.create({ model: 'llama3.1:8b', messages: [{ role: 'user', content: 'Say hello.' }] });
      assert.equal(r.choices[0]!.message.content, 'Hello from the simulated ollama.');
      assert.equal(t.ollama.received.at(-1)!.body.model, 'llama3.1:8b');

      const seen: string[] = [];
      await collect(await ai.chat.completions.create({ model: 'qwen2.5-7b', messages: [{ role: 'user', content: 'Say hello.' }], stream: true }), seen);
      assert.equal(seen.join(''), 'Hello from the simulated vllm.');
      // The gateway asked for usage to count tokens, and did not pass the usage chunk on unasked.
      assert.equal((t.vllm.received.at(-1)!.body.stream_options as { include_usage: boolean }).include_usage, true);

      const c = await ai.completions.create({ model: 'qwen2.5-7b', prompt: 'Once upon' });
      assert.equal(c.choices[0]!.text, 'Hello from the simulated vllm.');
      const e = await ai.embeddings.create({ model: 'llama3.1:8b', input: ['a', 'b'] });
      assert.equal(e.data.length, 2);

      const events = await t.requests();
      const ok = events.filter((x) => x.actor === 'alice' && x.data.status === 200);
      assert.ok(ok.length >= 4, `allowed requests in the audit log: ${ok.length}`);
      const d = ok[0]!.data.decision as { allowed: boolean; policies: string[] };
      assert.equal(d.allowed, true);
      assert.deepEqual(d.policies, ['ml-team']);
      assert.equal(ok[0]!.subject, t.digests.llama);
    });

    test("the runtime gets the gateway's own credential, never the client's key", async () => {
      await client(t, t.keys.alice).chat.completions.create({ model: 'qwen2.5-7b', messages: [{ role: 'user', content: 'hi' }] });
      await client(t, t.keys.alice).chat.completions.create({ model: 'llama3.1:8b', messages: [{ role: 'user', content: 'hi' }] });
      assert.equal(t.vllm.received.at(-1)!.authorization, `Bearer ${VLLM_KEY}`);
      assert.equal(t.ollama.received.at(-1)!.authorization, null);
      for (const r of [...t.vllm.received, ...t.ollama.received]) assert.ok(!String(r.authorization).includes(t.keys.alice.slice(0, 20)));
    });

    test('/v1/models lists only admitted models the caller may use', async () => {
      const list = await client(t, t.keys.alice).models.list();
      assert.deepEqual(list.data.map((m) => m.id).sort(), ['llama3.1:8b', 'qwen2.5-7b']);
      const none = await client(t, t.keys.bob).models.list();
      assert.deepEqual(none.data, []);
    });

    test('denied by policy: a forbid wins, the runtime never sees the request, and the decision is audited', async () => {
      const before = t.ollama.received.length;
      const e = await expectApiError(client(t, t.keys.bob).chat.completions.create({ model: 'llama3.1:8b', messages: [{ role: 'user', content: 'hi' }] }), 403, 'PERIM_E_POLICY_DENIED');
      assert.match(e.message, /interns may not call models/);
      assert.equal(t.ollama.received.length, before);
      const ev = (await t.requests()).filter((x) => x.actor === 'bob').at(-1)!;
      assert.equal(ev.data.code, 'PERIM_E_POLICY_DENIED');
      assert.deepEqual((ev.data.decision as { policies: string[] }).policies, ['no-interns']);
    });

    test('an unknown API key is refused with 401', async () => {
      const forged = t.keys.alice.replace(/.{4}$/, 'AAAA');
      await expectApiError(client(t, forged).chat.completions.create({ model: 'llama3.1:8b', messages: [{ role: 'user', content: 'hi' }] }), 401, 'PERIM_E_AUTH_INVALID');
      await expectApiError(client(t, 'prm_000000000000_' + 'A'.repeat(43)).models.list(), 401, 'PERIM_E_AUTH_INVALID');
      const ev = (await t.requests()).filter((x) => x.data.code === 'PERIM_E_AUTH_INVALID');
      assert.ok(ev.length >= 1);
      assert.equal(ev[0]!.actor, 'anonymous');
    });

    test('an unadmitted model is refused with the reason, even for a permitted caller', async () => {
      const before = t.ollama.received.length;
      const e = await expectApiError(client(t, t.keys.alice).chat.completions.create({ model: 'mystery:latest', messages: [{ role: 'user', content: 'hi' }] }), 403, 'PERIM_E_MODEL_NOT_ADMITTED');
      assert.match(e.message, /not admitted for environment prod/);
      assert.equal(t.ollama.received.length, before);
      await expectApiError(client(t, t.keys.alice).chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] }), 404, 'PERIM_E_MODEL_UNKNOWN');
      const ev = (await t.requests()).find((x) => x.data.code === 'PERIM_E_MODEL_NOT_ADMITTED')!;
      assert.equal(ev.subject, t.digests.mystery);
    });

    test('rate-limited: the third request in a minute gets 429 with Retry-After and x-ratelimit headers', async () => {
      const ai = client(t, t.keys.limited);
      for (let i = 0; i < 2; i++) {
        const { response } = await ai.chat.completions.create({ model: 'llama3.1:8b', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
        assert.equal(response.headers.get('x-ratelimit-limit-requests'), '2');
        assert.equal(response.headers.get('x-ratelimit-remaining-requests'), String(1 - i));
      }
      const e = await expectApiError(ai.chat.completions.create({ model: 'llama3.1:8b', messages: [{ role: 'user', content: 'hi' }] }), 429, 'PERIM_E_RATE_LIMITED');
      const retry = Number(e.headers?.get('retry-after'));
      assert.ok(retry >= 1 && retry <= 60, `retry-after ${retry}`);
      assert.ok((await t.requests()).some((x) => x.actor === 'limited' && x.data.code === 'PERIM_E_RATE_LIMITED'));
    });

    test('a secret in the prompt is redacted before it reaches the runtime', async () => {
      await client(t, t.keys.alice).chat.completions.create({ model: 'llama3.1:8b', messages: [{ role: 'user', content: `my key is ${AWS_KEY}, summarise my bill` }] });
      const sent = JSON.stringify(t.ollama.received.at(-1)!.body);
      assert.ok(!sent.includes(AWS_KEY), 'the secret reached the runtime');
      assert.match(sent, /\[REDACTED:[^\]]+\]/);
      assert.match(sent, /summarise my bill/);
      const ev = (await t.requests()).at(-1)!;
      const guards = ev.data.guards as Array<{ side: string; action: string }>;
      assert.ok(guards.some((g) => g.side === 'input' && g.action === 'redact'));
      assert.ok(!JSON.stringify(ev).includes(AWS_KEY), 'the secret reached the audit log');
    });

    test('output blocked mid-stream: nothing of the secret reaches the client and the stream ends with an error', async () => {
      const deltas = ['Sure, here is the key you asked for: ', ...PEM.match(/.{1,5}/gs)!, ' done.'];
      t.ollama.script = { deltas };
      try {
        const seen: string[] = [];
        const stream = await client(t, t.keys.alice).chat.completions.create({ model: 'llama3.1:8b', messages: [{ role: 'user', content: 'give me a key' }], stream: true });
        const e = await collect(stream, seen).then(
          () => assert.fail('the stream ended without an error'),
          (x: unknown) => x,
        );
        assert.ok(e instanceof APIError);
        assert.equal((e as APIError).code, 'PERIM_E_GUARD_BLOCKED');
        const text = seen.join('');
        assert.ok(!text.includes('BEGIN RSA'), `part of the key reached the client: ${JSON.stringify(text)}`);
        assert.ok(!text.includes('MIIE'));
      } finally {
        t.ollama.script = {};
      }
      const ev = (await t.requests()).at(-1)!;
      assert.equal(ev.data.code, 'PERIM_E_GUARD_BLOCKED');
      assert.equal(ev.data.stream, true);
    });

    test('a model killed mid-stream: the stream is cut with an error event and the upstream request aborted', async () => {
      t.vllm.script = { deltas: Array.from({ length: 200 }, (_, i) => `word${i} `), delayMs: 20 };
      const other = await LiveKillSwitch.open({ store: t.store, sink: t.audit, ...(b.name === 'postgres' ? { postgres: t.store.location } : {}) });
      try {
        const seen: string[] = [];
        const stream = await client(t, t.keys.alice).chat.completions.create({ model: 'qwen2.5-7b', messages: [{ role: 'user', content: 'talk' }], stream: true });
        let killedAt = 0;
        const e = await (async () => {
          try {
            for await (const chunk of stream) {
              const d = chunk.choices[0]?.delta?.content;
              if (d) seen.push(d);
              if (seen.join('').length > 200 && killedAt === 0) {
                killedAt = performance.now();
                await other.kill({ kind: 'model', id: 'qwen2.5-7b' }, { reason: 'incident 42', actor: 'test:ops' });
              }
            }
          } catch (x) {
            return x;
          }
          return undefined;
        })();
        const cutMs = performance.now() - killedAt;
        assert.ok(e instanceof APIError, `expected an error event, got ${e}`);
        assert.equal((e as APIError).code, 'PERIM_E_KILLED');
        assert.match((e as APIError).message, /incident 42/);
        assert.ok(cutMs < 1000, `cut after ${cutMs} ms`);
        await new Promise((r) => setTimeout(r, 50));
        assert.equal(t.vllm.abortedStreams, 1, 'the upstream stream was not aborted');
        // New requests are refused while killed; revive lets them through again.
        await expectApiError(client(t, t.keys.alice).chat.completions.create({ model: 'qwen2.5-7b', messages: [{ role: 'user', content: 'hi' }] }), 403, 'PERIM_E_KILLED');
        await other.revive({ kind: 'model', id: 'qwen2.5-7b' }, { actor: 'test:ops' });
        await new Promise((r) => setTimeout(r, 150));
        t.vllm.script = {};
        await client(t, t.keys.alice).chat.completions.create({ model: 'qwen2.5-7b', messages: [{ role: 'user', content: 'hi' }] });
      } finally {
        t.vllm.script = {};
        await other.close();
      }
      const ev = (await t.requests()).find((x) => x.data.cut === true)!;
      assert.equal(ev.data.code, 'PERIM_E_KILLED');
      const kills = await t.store.db.selectFrom('audit_entries').select('type').where('type', 'in', ['gateway.kill', 'gateway.revive']).execute();
      assert.equal(kills.length, 2);
    });

    test('malformed requests get OpenAI-style errors: 415, 400, 413; /readyz and /metrics answer', async () => {
      const post = (body: string, type = 'application/json', extra: Record<string, string> = {}) =>
        fetch(`${t.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': type, authorization: `Bearer ${t.keys.alice}`, ...extra }, body });
      const expect = async (r: Response, status: number, code: string): Promise<void> => {
        assert.equal(r.status, status);
        const j = (await r.json()) as { error: { code: string; type: string; message: string } };
        assert.equal(j.error.code, code);
        assert.equal(typeof j.error.message, 'string');
      };
      await expect(await post('{"model":"llama3.1:8b"}', 'text/plain'), 415, 'PERIM_E_REQUEST_MALFORMED');
      await expect(await post('{"model":'), 400, 'PERIM_E_REQUEST_MALFORMED');
      await expect(await post('[1,2]'), 400, 'PERIM_E_REQUEST_MALFORMED');
      await expect(await post('{"messages":[]}'), 400, 'PERIM_E_REQUEST_MALFORMED');
      await expect(await post(JSON.stringify({ model: 'llama3.1:8b', messages: [{ role: 'user', content: 'x'.repeat(5 * 1024 * 1024) }] })), 413, 'PERIM_E_REQUEST_MALFORMED');
      const ready = (await (await fetch(`${t.url}/readyz`)).json()) as { ready: boolean; routes: number; policy: { policies: number } };
      assert.equal(ready.ready, true);
      assert.equal(ready.routes, 3);
      assert.equal(ready.policy.policies, 2);
      const metrics = await (await fetch(`${t.url}/metrics`)).text();
      assert.match(metrics, /perimeter_gateway_requests_total\{endpoint="chat",model="llama3.1:8b",status="200"\} \d+/);
      assert.match(metrics, /perimeter_gateway_decisions_total\{stage="policy",result="deny"\} \d+/);
      assert.match(metrics, /perimeter_gateway_overhead_seconds_bucket/);
    });

    test('upstream failures map to OpenAI-style errors: 5xx is 502, 4xx passes through', async () => {
      t.ollama.script = { status: 500 };
      try {
        await expectApiError(client(t, t.keys.alice).chat.completions.create({ model: 'llama3.1:8b', messages: [{ role: 'user', content: 'hi' }] }), 502, 'PERIM_E_UPSTREAM_ERROR');
        t.ollama.script = { status: 400 };
        await expectApiError(client(t, t.keys.alice).chat.completions.create({ model: 'llama3.1:8b', messages: [{ role: 'user', content: 'hi' }] }), 400, 'PERIM_E_UPSTREAM_ERROR');
      } finally {
        t.ollama.script = {};
      }
    });
  });
}

describe('gateway with OIDC JWTs (sqlite)', () => {
  let t: TestGateway;
  let sign: (claims: Record<string, unknown>, exp: number) => Promise<string>;
  before(async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    const [sqlite] = await backends();
    const dir = (await import('../../test/helpers.ts')).tempDir();
    writeFileSync(join(dir, 'jwks.json'), JSON.stringify({ keys: [jwk] }));
    t = await startTestGateway(sqlite!, {
      gatewayYaml: `  identity:\n    jwt:\n      - issuer: https://idp.example\n        audiences: [perimeter]\n        jwks_file: ${JSON.stringify(join(dir, 'jwks.json'))}\n        algorithms: [ES256]\n`,
    });
    sign = (claims, exp) => new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer('https://idp.example').setAudience('perimeter').setSubject('carol').setIssuedAt().setExpirationTime(exp).sign(privateKey);
  });
  after(async () => {
    await t?.close();
  });

  test('a valid token with the ml group is allowed; an expired one is refused with PERIM_E_AUTH_EXPIRED', async () => {
    const now = Math.floor(Date.now() / 1000);
    const good = await sign({ groups: ['ml'], email_verified: true }, now + 300);
    const r = await client(t, good).chat.completions.create({ model: 'llama3.1:8b', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(r.choices[0]!.message.content, 'Hello from the simulated ollama.');
    const expired = await sign({ groups: ['ml'] }, now - 600);
    await expectApiError(client(t, expired).chat.completions.create({ model: 'llama3.1:8b', messages: [{ role: 'user', content: 'hi' }] }), 401, 'PERIM_E_AUTH_EXPIRED');
    const events = await t.requests();
    assert.ok(events.some((x) => x.actor === 'https://idp.example#carol' && x.data.status === 200));
    assert.ok(events.some((x) => x.data.code === 'PERIM_E_AUTH_EXPIRED'));
  });
});

describe('gateway when a runtime is down (sqlite)', () => {
  let t: TestGateway;
  before(async () => {
    const [sqlite] = await backends();
    t = await startTestGateway(sqlite!);
  });
  after(async () => {
    await t?.close();
  });

  test('a runtime that refuses connections is a 502 PERIM_E_UPSTREAM_UNREACHABLE, recorded', async () => {
    await t.ollama.close();
    await expectApiError(client(t, t.keys.alice).chat.completions.create({ model: 'llama3.1:8b', messages: [{ role: 'user', content: 'hi' }] }), 502, 'PERIM_E_UPSTREAM_UNREACHABLE');
    const ev = (await t.requests()).at(-1)!;
    assert.equal(ev.data.code, 'PERIM_E_UPSTREAM_UNREACHABLE');
    assert.equal(ev.data.runtime, 'ollama-sim');
    // The other runtime still answers.
    const r = await client(t, t.keys.alice).chat.completions.create({ model: 'qwen2.5-7b', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(r.choices[0]!.message.content, 'Hello from the simulated vllm.');
  });
});
