/**
 * >>> HOOK: the Perimeter target of the gateway benchmark. <<<
 *
 * To wire it: start `node bin/perimeter.js serve --config <file>` (e.g. with startNode() from
 * ./procs.ts, a port from freePort(), readiness by waitFor()) with a config that routes the model
 * MODEL (./workload.ts) to `upstreamUrl` and turns on what the issue measures: API key auth, Cedar
 * policy, rate limit (set high enough not to trip at ~10,000 requests/s), DLP on the prompt and
 * audit. Return the gateway's origin, the headers a client sends (at least
 * `authorization: Bearer <a valid API key>`, lower-case name), and a stop function.
 *
 * Until then it throws, and bench/gateway/run.ts skips the target with a message.
 */
export interface PerimeterTarget {
  /** Origin, e.g. http://127.0.0.1:41234 (no trailing slash). */
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  stop(): Promise<void>;
}

export const NOT_WIRED = 'not wired yet';

export async function startPerimeter(upstreamUrl: string): Promise<PerimeterTarget> {
  void upstreamUrl;
  throw new Error(NOT_WIRED);
}
