/**
 * A SIMULATED OpenAI-compatible upstream for the gateway benchmark (not a model runtime): it
 * answers as fast as one Node process can, so the benchmark measures what a proxy in front of it
 * adds, not inference.
 *
 *   POST /v1/chat/completions  -> a fixed small chat.completion JSON with a usage block
 *   GET  /v1/models            -> one model, "sim-model"
 *   GET  /_sim/stats           -> request counters, so the benchmark can check that traffic sent
 *                                 through a proxy really reached this process
 *
 * Started by bench/gateway/run.ts as a child process with an IPC channel: it listens on
 * 127.0.0.1 port 0, sends { port } to the parent, and exits when the parent goes away.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';

const MODEL = 'sim-model';

const completion = Buffer.from(JSON.stringify({
  id: 'chatcmpl-sim-0001',
  object: 'chat.completion',
  created: 1767225600,
  model: MODEL,
  system_fingerprint: 'fp_simulated',
  choices: [{
    index: 0,
    message: { role: 'assistant', content: 'This is a simulated answer from the benchmark upstream.' },
    logprobs: null,
    finish_reason: 'stop',
  }],
  usage: { prompt_tokens: 251, completion_tokens: 11, total_tokens: 262 },
}));

const models = Buffer.from(JSON.stringify({
  object: 'list',
  data: [{ id: MODEL, object: 'model', created: 1767225600, owned_by: 'simulation' }],
}));

const stats = {
  chat: 0,
  /** Chat requests that carried an Authorization header. */
  chatWithAuth: 0,
  /** Bytes of the last chat request body, to see that the prompt arrived whole. */
  lastChatBodyBytes: 0,
  models: 0,
  other: 0,
};

const jsonHeaders = (len: number) => ({ 'content-type': 'application/json', 'content-length': len });

function send(res: ServerResponse, status: number, body: Buffer): void {
  res.writeHead(status, jsonHeaders(body.length));
  res.end(body);
}

function onRequest(req: IncomingMessage, res: ServerResponse): void {
  const url = req.url ?? '';
  if (req.method === 'POST' && url === '/v1/chat/completions') {
    let bytes = 0;
    req.on('data', (chunk: Buffer) => { bytes += chunk.length; });
    req.on('end', () => {
      stats.chat++;
      if (req.headers.authorization) stats.chatWithAuth++;
      stats.lastChatBodyBytes = bytes;
      send(res, 200, completion);
    });
    return;
  }
  req.resume();
  if (req.method === 'GET' && url === '/v1/models') {
    stats.models++;
    send(res, 200, models);
  } else if (req.method === 'GET' && url === '/_sim/stats') {
    send(res, 200, Buffer.from(JSON.stringify(stats)));
  } else {
    stats.other++;
    send(res, 404, Buffer.from('{"error":{"message":"not found in the simulated upstream"}}'));
  }
}

const server = createServer({ keepAliveTimeout: 60_000 }, onRequest);
server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  if (process.send) process.send({ port });
  else console.log(`simulated upstream on http://127.0.0.1:${port}`);
});
process.on('disconnect', () => process.exit(0));
