/**
 * The request every target gets in the gateway benchmark: one chat completion with a ~1 KB user
 * prompt of ordinary prose (no secrets, no personal data, so DLP scans it all and finds nothing),
 * and the API key the client sends.
 */

/** The model id the request names; a Perimeter config for the benchmark must route it. */
export const MODEL = 'sim-model';

/** Sent as `Authorization: Bearer <key>` to direct, bare and Portkey; Perimeter's hook may replace it. */
export const CLIENT_KEY = 'sk-bench-simulated-client-key';

export const PROMPT = [
  'Our team is planning the quarterly maintenance window for the warehouse management system, and',
  'I would like help drafting a short announcement for the staff who work the evening shift. The',
  'window starts on Saturday at ten in the evening and should finish by two in the morning, but',
  'we want to warn people that it could run until four if the database migration takes longer',
  'than it did in the test environment. During the window the handheld scanners will keep working',
  'in offline mode, so pickers can continue to scan items, yet nothing will sync to the central',
  'inventory until the system is back. Supervisors should collect paper tally sheets as a backup',
  'and hand them to the night manager before leaving. Please keep the tone calm and practical,',
  'mention that the loading dock schedule does not change, remind everyone that the help desk',
  'will be staffed for the whole window, and end with a short thank-you for their patience. The',
  'announcement should fit on one screen of the break room display, so about one hundred and',
  'fifty words at most, written in plain language without jargon or abbreviations.',
].join(' ');

export const BODY = JSON.stringify({
  model: MODEL,
  messages: [
    { role: 'system', content: 'You are a helpful assistant for an operations team.' },
    { role: 'user', content: PROMPT },
  ],
  max_tokens: 256,
  temperature: 0.2,
});

export const CHAT_PATH = '/v1/chat/completions';
