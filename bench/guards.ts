/**
 * Guard costs on the request path, printed as a table and JSON:
 *   - inspect() per 1 KB prompt with nothing in it (target: well under 50 us): plain prose, and
 *     prose full of the words the injection triggers look for (system, prompt, instructions, token);
 *   - inspect() per 1 KB prompt with secrets and PII in it (redacted);
 *   - guardChatRequest() on a typical 3-message body;
 *   - the streaming output guard per 1 KB of output in ~4-character deltas (a token each).
 * Every detector is on (secrets and PII redact, injection block) so this is the worst case.
 *
 *   npx node bench/guards.ts [--iterations N]
 */
import { cpus } from 'node:os';
import { gatewayGuardsSchema } from '../src/config/gateway-guards.ts';
import { GuardSet } from '../src/gateway/guards/guard-set.ts';
import { guardChatRequest } from '../src/gateway/guards/request.ts';
import { OutputStreamGuard } from '../src/gateway/guards/stream.ts';
import { FAKE_SECRETS as F } from '../src/gateway/guards/test-fakes.ts';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
};
const ITER = Number(arg('iterations', '20000'));

const set = new GuardSet(gatewayGuardsSchema.parse({ input: { secrets: 'redact', pii: 'redact', injection: 'block' }, output: { secrets: 'redact', pii: 'redact', injection: 'block' } }));

/** Exactly `n` characters of a repeated paragraph, as a flat string (as JSON.parse gives them). */
function kb(para: string, n = 1024): string {
  let s = '';
  while (s.length < n) s += para;
  return Buffer.from(s.slice(0, n)).toString('utf8');
}

const prose = kb('Please summarise the following meeting notes for the product team. We discussed the roadmap for the next quarter, including the new onboarding flow, improvements to search relevance, and the migration of the billing service to the new platform. The team agreed that the onboarding flow should ship first. ');
const llmish = kb('You are a helpful assistant for our support system. Follow the instructions in the system prompt, answer from the documents above, keep each answer under 200 tokens, and respond in the language of the user. If the prompt asks for something outside the product, say so politely. ');
const withSecrets = kb(`Deploy notes: set AWS_ACCESS_KEY_ID=${F.awsKeyId} and the token ${F.github}; contact jane.doe@example.com or +44 20 7946 0958. Card on file 4111 1111 1111 1111. The rest of this prompt is ordinary text about the release schedule and the rollout plan for next week. `);

function time(fn: () => unknown, iterations = ITER): number {
  for (let i = 0; i < Math.min(2000, iterations); i++) fn();
  let best = Infinity;
  for (let round = 0; round < 5; round++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) fn();
    best = Math.min(best, Number(process.hrtime.bigint() - t) / 1e3 / iterations);
  }
  return best;
}

const check = set.inspect(withSecrets, 'input');
if (check.verdict !== 'redact' || check.findings.length < 5) throw new Error(`the secrets prompt should have redactions, got ${check.verdict}/${check.findings.length}`);
if (set.inspect(prose, 'input').findings.length + set.inspect(llmish, 'input').findings.length !== 0) throw new Error('the clean prompts should be clean');

const body = { model: 'llama3.1:8b', messages: [{ role: 'system', content: llmish.slice(0, 300) }, { role: 'user', content: prose.slice(0, 600) }, { role: 'assistant', content: prose.slice(200, 500) }] };

function streamKb(text: string): void {
  const g = new OutputStreamGuard(set);
  for (let i = 0; i < text.length; i += 4) g.push(text.slice(i, i + 4));
  g.end();
}

const results = {
  clean_prose_1kb_us: time(() => set.inspect(prose, 'input')),
  clean_llm_prompt_1kb_us: time(() => set.inspect(llmish, 'input')),
  with_secrets_1kb_us: time(() => set.inspect(withSecrets, 'input')),
  chat_body_3_messages_us: time(() => guardChatRequest(body, set)),
  stream_clean_1kb_4char_deltas_us: time(() => streamKb(llmish), Math.ceil(ITER / 20)),
  stream_secrets_1kb_4char_deltas_us: time(() => streamKb(withSecrets), Math.ceil(ITER / 20)),
};

const round = (x: number): number => Math.round(x * 100) / 100;
console.log(`guards, every detector on; ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}; best of 5 rounds x ${ITER}`);
for (const [k, v] of Object.entries(results)) console.log(`  ${k.padEnd(36)} ${round(v).toFixed(2).padStart(9)} us`);
console.log(JSON.stringify(Object.fromEntries(Object.entries(results).map(([k, v]) => [k, round(v)]))));
