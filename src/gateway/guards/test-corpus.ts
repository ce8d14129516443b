/**
 * A small benign corpus for the guards' false-positive tests: prose (including prose about
 * prompts, tokens and systems), code, identifiers (UUIDs, git SHAs, digests), a base64 image,
 * numbers of every kind that are not personal data, logs and markdown.
 */
import { createHash, randomUUID } from 'node:crypto';
import { rng, randomFrom } from './test-fakes.ts';

const r = rng(7);
const sha1 = (s: string): string => createHash('sha1').update(s).digest('hex');
const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
const pngBase64 = Buffer.from(Array.from({ length: 1536 }, () => Math.floor(r() * 256))).toString('base64');

export const BENIGN: readonly string[] = [
  // prose
  'Please summarise the following meeting notes for the product team. We discussed the roadmap for the next quarter, including the new onboarding flow, improvements to search relevance, and the migration of the billing service to the new platform.',
  'The operating system scheduler decides which process runs next. A good system prompt for a support bot explains the tone, the product and what to escalate; keep it short and test it.',
  'Tokens are the units a language model reads: the tokenizer splits text into tokens, and max_tokens limits the answer. A 128k context window holds roughly 300 pages.',
  'Follow the instructions above carefully, then answer the question below in two paragraphs. Ignore the noise in the measurements and focus on the trend since 2019.',
  'Please disregard my previous email about the offsite; the venue changed. Forget the earlier draft, the new one is attached.',
  'Act as a translator from French to English. Imagine you are a tour guide in Lisbon and describe the old town to a visitor.',
  'In the story, Dan walks to the harbour at dawn. "Stay calm," Dan said, and the system of locks opened one by one.',
  'Our developer team uses a modern mode of working: small changes, reviewed by two people, shipped daily.',
  'The Asian markets opened higher; analysts at Akiak Capital expect the index to reach 3,450 points by the end of Q3 2026.',
  'Revenue grew 12.5% to $4,300,000 in 2025 (up from $3,822,222 in 2024); headcount is 1,250 across 14 offices.',
  'Call the front desk at extension 4417 or room 1203. Flight BA 2490 departs at 14:35 from gate 22.',
  'Résumé: naïve café owner in Zürich, 日本語のテキストも大丈夫です。 Ünïcödé is fine — including emoji 🙂👍🏽 and arrows →.',
  // identifiers
  `Request ${randomUUID()} failed; retry ${randomUUID()} succeeded.`,
  `commit ${sha1('a')} Merge branch 'main' into feature/guards (${sha1('b').slice(0, 7)})`,
  `sha256:${sha256('model')} is the root digest; the previous one was sha256:${sha256('model-old')}.`,
  `<img src="data:image/png;base64,${pngBase64}" alt="chart">`,
  `Order ids: 1700000000000, 1700000000123, 9781492052203 (ISBN), 00000000000000000000`,
  'Server 192.168.100.200 and 10.0.0.1 answered; versions 1.2.3, 2024.10.1 and 3.11.4; dates 2024-01-15 and 15/01/2024.',
  `Trace ids ${randomFrom(r, '0123456789abcdef', 32)} and span ${randomFrom(r, '0123456789abcdef', 16)}.`,
  `npm i @scope/pkg@1.2.3 left icon@2x.png and logo@3x.webp in dist/; see git@github.com:acme/repo.git`,
  // code
  [
    'import os',
    '',
    '@app.route("/login", methods=["POST"])',
    'def login(password: str, api_key: Optional[str] = None):',
    '    token = tokenizer.encode(text)',
    '    secret_key = settings.SECRET_KEY',
    '    password_hash = bcrypt.hash(password)',
    '    api_key = os.environ["OPENAI_API_KEY"]',
    '    max_tokens = 4096',
    '    return {"token_count": 4096, "pwd": "/home/user/project"}',
  ].join('\n'),
  [
    'export async function connect(cfg: Config): Promise<Client> {',
    '  const password = process.env.DB_PASSWORD;',
    '  const schema = z.object({ password: z.string().min(12), token: z.string() });',
    '  const auth = `Bearer ${cfg.token}`;',
    '  if (!cfg.secret) throw new Error("secret missing");',
    '  return new Client({ host: "db.internal", port: 5432, password });',
    '}',
  ].join('\n'),
  'SELECT id, email_verified, created_at FROM users WHERE org_id = 42 AND created_at > 1767225600000 LIMIT 100;',
  '2026-05-01T12:00:00.123Z INFO request_id=7f3e9a2b status=200 duration_ms=37 bytes=18234 path=/v1/chat/completions',
  // markdown
  '### Steps\n1. Install the package.\n2. Run `perimeter serve`.\n\n## Notes\nAssistant messages are streamed.',
];
