/**
 * The second half of `perimeter demo`: the gateway end to end, on the embedded SQLite store in the
 * demo folder. It registers and admits the signed demo model (and refuses an unsigned one), starts a
 * SIMULATED OpenAI-compatible runtime (src/gateway/simulated-runtime.ts; not a real model), binds
 * both models to it, makes an API key, and starts the gateway in this process with the starter
 * policy and guards. Then real HTTP requests show each control answering, and the audit log is
 * verified at the end.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import pino from 'pino';
import { AuditLog } from '../../audit/log.ts';
import { verifyStore } from '../../audit/verify.ts';
import { loadConfig } from '../../config/load.ts';
import { Gateway, STARTER_POLICY } from '../../gateway/gateway.ts';
import { createApiKey } from '../../gateway/identity/apikeys.ts';
import { simulateInference } from '../../gateway/simulated-runtime.ts';
import { admit } from '../../policy/admit.ts';
import { registerModel } from '../../registry/register.ts';
import { addRuntime, bindModel } from '../../registry/runtimes.ts';
import { HttpServer } from '../../server/server.ts';
import { KeyVerifier } from '../../signing/key-method.ts';
import { openStore } from '../../store/store.ts';
import { writeDemoModel } from './demo.ts';

export interface GatewayStep {
  step: string;
  expected: string;
  got: string;
  detail: string;
}

const SECRET = 'AKIAIOSFODNN7EXAMPLE';
const LEAK = ['Here is a key: ', '-----BEGIN EC PRIV', 'ATE KEY-----\nMHcCAQEEIDemo', 'OnlyNotARealKey0123456789abcdefoAoGCCqGSM49\n-----END EC PRIVATE KEY-----'];

export async function gatewayDemo(o: { base: string; model: string; publicKey: KeyObject; say: (s: string) => void; mark: (ok: boolean) => string }): Promise<GatewayStep[]> {
  const { base, say, mark } = o;
  const steps: GatewayStep[] = [];
  const pub = join(base, 'keys', 'signing-key.pub.pem');
  writeFileSync(
    join(base, 'perimeter.yaml'),
    `admission:\n  trust:\n    keys: [${JSON.stringify(pub)}]\ngateway:\n  enabled: true\n  guards:\n    input: { secrets: redact }\n    output: { secrets: block }\n    holdback_chars: 128\n`,
  );
  const config = loadConfig(join(base, 'perimeter.yaml'));
  const store = await openStore(join(base, 'perimeter.db'));
  const audit = await AuditLog.open(store, { keyPath: join(base, 'audit.key'), maxDelayMs: 1 });
  const runtime = await simulateInference({ flavor: 'ollama', models: ['tiny-demo', 'tiny-unsigned'] });
  let gateway: Gateway | undefined;
  let closeServer = async (): Promise<void> => {};
  try {
    const actor = 'cli:demo';
    const signed = await registerModel(store, audit, o.model, { name: 'tiny-demo', license: 'Apache-2.0', verifier: new KeyVerifier(o.publicKey), actor });
    const other = join(base, 'tiny-unsigned');
    writeDemoModel(other);
    writeFileSync(join(other, 'README.md'), '# tiny-unsigned\nThe same stand-in, never signed.\n');
    const unsigned = await registerModel(store, audit, other, { name: 'tiny-unsigned', license: 'Apache-2.0', actor });
    const d1 = await admit({ store, sink: audit, config, actor }, { env: 'default', digest: signed.digest });
    const d2 = await admit({ store, sink: audit, config, actor }, { env: 'default', digest: unsigned.digest });
    say(`\n7. admit   tiny-demo (signed, scanned ${signed.scan.verdict}): ${d1.allowed ? 'allowed' : 'DENIED'}; tiny-unsigned: ${d2.allowed ? 'ALLOWED' : 'denied (no trusted signature)'}`);
    await addRuntime(store, audit, { name: 'simulated-ollama', kind: 'ollama', url: runtime.url }, actor);
    await bindModel(store, audit, { runtime: 'simulated-ollama', modelId: 'tiny-demo', digest: signed.digest }, actor);
    await bindModel(store, audit, { runtime: 'simulated-ollama', modelId: 'tiny-unsigned', digest: unsigned.digest }, actor);
    const key = (await createApiKey(store, audit, { name: 'demo app', principal: 'demo-app', verified: true }, actor)).key;
    gateway = await Gateway.open({ config, store, audit, defaultPolicies: [STARTER_POLICY], log: pino({ level: 'silent' }) });
    const server = new HttpServer();
    gateway.mount(server);
    const listening = await server.listen({ host: '127.0.0.1', port: 0 });
    closeServer = () => listening.close();
    say(`8. gateway ${listening.url}/v1 in front of a SIMULATED Ollama at ${runtime.url} (no real model runs)`);

    const call = async (body: Record<string, unknown>, auth = true): Promise<{ status: number; json: any; text: string }> => {
      const r = await fetch(`${listening.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Bearer ${key}` } : {}) }, body: JSON.stringify(body) });
      const text = await r.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: r.status, json, text };
    };
    const record = (step: string, expected: string, got: string, detail: string): void => {
      steps.push({ step, expected, got, detail });
      say(`           ${mark(expected === got)} ${step}: ${got}${detail ? `, ${detail}` : ''}`);
    };
    const chat = (content: string, model = 'tiny-demo', extra: Record<string, unknown> = {}) => ({ model, messages: [{ role: 'user', content }], ...extra });
    const codeOf = (r: { status: number; json: any }): string => (r.status === 200 ? '200' : `${r.status} ${r.json?.error?.code ?? ''}`.trim());

    let r = await call(chat('Say hello.'));
    record('allowed request', '200', codeOf(r), `"${r.json?.choices?.[0]?.message?.content ?? ''}"`);
    r = await call(chat('Say hello.'), false);
    record('no API key', '401 PERIM_E_AUTH_MISSING', codeOf(r), '');
    r = await call(chat(`my AWS key is ${SECRET}; what is it for?`));
    const reached = JSON.stringify(runtime.received.at(-1)?.body ?? {});
    record('secret in the prompt', '200 redacted', `${codeOf(r)} ${reached.includes(SECRET) ? 'NOT redacted' : 'redacted'}`, `the runtime got ${/\[REDACTED:[^\]]+\]/.exec(reached)?.[0] ?? 'the secret'}`);
    r = await call(chat('Say hello.', 'tiny-unsigned'));
    record('unadmitted model', '403 PERIM_E_MODEL_NOT_ADMITTED', codeOf(r), '');
    runtime.script = { deltas: LEAK };
    r = await call(chat('Show me a key.', 'tiny-demo', { stream: true }));
    runtime.script = {};
    const blocked = r.text.includes('PERIM_E_GUARD_BLOCKED') && !r.text.includes('PRIVATE KEY');
    record('private key leaking mid-stream', 'stream cut', blocked ? 'stream cut' : 'LEAKED', blocked ? 'ended with an error event; no key text reached the client' : r.text.slice(0, 80));
    await gateway.killSwitch.kill({ kind: 'model', id: 'tiny-demo' }, { reason: 'demo kill-switch', actor });
    r = await call(chat('Say hello.'));
    record('model killed', '403 PERIM_E_KILLED', codeOf(r), '');
    await gateway.killSwitch.revive({ kind: 'model', id: 'tiny-demo' }, { actor });

    await audit.flush();
    const events = await store.db.selectFrom('audit_entries').select(({ fn }) => fn.countAll<number>().as('n')).where('type', '=', 'gateway.request').executeTakeFirstOrThrow();
    await audit.checkpoint();
    const report = await verifyStore(store, { key: audit.verifierKey });
    record('audit log', 'verified', report.ok ? 'verified' : 'TAMPERED', `${Number(events.n)} gateway decisions among ${report.entries} entries, signed checkpoint checked`);
    return steps;
  } finally {
    await closeServer();
    await gateway?.close();
    await audit.close();
    await runtime.close();
    await store.close();
  }
}
