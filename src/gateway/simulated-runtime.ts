/**
 * A SIMULATED OpenAI-compatible inference server, standing in for the
 * OpenAI-compatible endpoints of Ollama (/v1 on :11434) and vLLM (/v1 on :8000). It is not the real
 * program: it answers /v1/models, /v1/chat/completions (streamed as SSE and not, with a usage
 * block, and the final usage chunk when stream_options.include_usage is set), /v1/completions and
 * /v1/embeddings with the documented response shapes, so the gateway can be tested over real HTTP.
 * Tests script the answer text, the stream's deltas and pacing, and failures; every request body
 * received is kept so a test can check what reached the runtime (e.g. a redacted prompt).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenLocal } from '../server/listen.ts';

export interface InferenceScript {
  /** The answer text (non-streamed), and the default stream when `deltas` is not given. */
  reply?: string;
  /** The streamed answer, delta by delta. */
  deltas?: string[];
  /** Milliseconds between streamed deltas. */
  delayMs?: number;
  /** Answer with this HTTP status and an OpenAI-style error instead. */
  status?: number;
  /** Never answer (for timeouts). */
  hang?: boolean;
}

export interface InferenceSimulation {
  url: string;
  flavor: 'ollama' | 'vllm';
  models: string[];
  /** Parsed bodies of every POST received, in order. */
  received: Array<{ path: string; body: Record<string, unknown>; authorization: string | null }>;
  /** The script for the next requests (mutable). */
  script: InferenceScript;
  /** Streams currently open, and how many were closed before they finished. */
  openStreams: number;
  abortedStreams: number;
  close(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function simulateInference(o: { flavor: 'ollama' | 'vllm'; models: string[]; script?: InferenceScript }): Promise<InferenceSimulation> {
  const sim: InferenceSimulation = { url: '', flavor: o.flavor, models: o.models, received: [], script: o.script ?? {}, openStreams: 0, abortedStreams: 0, close: async () => {} };
  const created = 1_763_000_000;
  const json = (res: ServerResponse, status: number, v: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(v));
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const path = new URL(req.url ?? '/', 'http://x').pathname;
        if (req.method === 'GET' && path === '/v1/models') {
          return json(res, 200, { object: 'list', data: sim.models.map((id) => ({ id, object: 'model', created, owned_by: sim.flavor === 'ollama' ? 'library' : 'vllm' })) });
        }
        let body: Record<string, unknown>;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          return json(res, 400, { error: { message: 'invalid JSON', type: 'invalid_request_error' } });
        }
        sim.received.push({ path, body, authorization: req.headers.authorization ?? null });
        const s = sim.script;
        if (s.hang) return;
        if (s.status) return json(res, s.status, { error: { message: `simulated ${s.status}`, type: 'server_error', code: null } });
        const model = String(body.model);
        if (!sim.models.includes(model)) return json(res, 404, { error: { message: `model "${model}" not found, try pulling it first`, type: 'not_found_error' } });
        const reply = s.reply ?? `Hello from the simulated ${sim.flavor}.`;
        const usage = { prompt_tokens: 12, completion_tokens: Math.ceil(reply.length / 4), total_tokens: 12 + Math.ceil(reply.length / 4) };
        if (path === '/v1/embeddings') {
          const inputs = Array.isArray(body.input) ? body.input : [body.input];
          return json(res, 200, { object: 'list', model, data: inputs.map((_, index) => ({ object: 'embedding', index, embedding: [0.1, 0.2, 0.3] })), usage: { prompt_tokens: 8, total_tokens: 8 } });
        }
        const chat = path === '/v1/chat/completions';
        if (!chat && path !== '/v1/completions') return json(res, 404, { error: { message: 'no such endpoint' } });
        const id = `${chat ? 'chatcmpl' : 'cmpl'}-sim${sim.received.length}`;
        if (body.stream !== true) {
          const choice = chat ? { index: 0, message: { role: 'assistant', content: reply }, finish_reason: 'stop' } : { index: 0, text: reply, finish_reason: 'stop' };
          return json(res, 200, { id, object: chat ? 'chat.completion' : 'text_completion', created, model, choices: [choice], usage });
        }
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        sim.openStreams++;
        let closed = false;
        res.on('close', () => {
          if (!res.writableFinished) {
            closed = true;
            sim.abortedStreams++;
          }
          sim.openStreams--;
        });
        const send = (v: unknown): void => void res.write(`data: ${JSON.stringify(v)}\n\n`);
        const obj = chat ? 'chat.completion.chunk' : 'text_completion';
        const deltas = s.deltas ?? reply.match(/.{1,8}/gs) ?? [];
        if (chat) send({ id, object: obj, created, model, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] });
        for (const d of deltas) {
          if (s.delayMs) await sleep(s.delayMs);
          if (closed) return;
          send({ id, object: obj, created, model, choices: [chat ? { index: 0, delta: { content: d }, finish_reason: null } : { index: 0, text: d, finish_reason: null }] });
        }
        send({ id, object: obj, created, model, choices: [chat ? { index: 0, delta: {}, finish_reason: 'stop' } : { index: 0, text: '', finish_reason: 'stop' }] });
        if ((body.stream_options as { include_usage?: boolean } | undefined)?.include_usage) send({ id, object: obj, created, model, choices: [], usage });
        res.end('data: [DONE]\n\n');
      })();
    });
  });
  const l = await listenLocal(server);
  sim.url = l.url;
  sim.close = l.close;
  return sim;
}
