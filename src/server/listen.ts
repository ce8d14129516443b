/** Listening on a free port of 127.0.0.1, for the simulated runtimes (tests, the demo, benchmarks). */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Listening {
  /** Origin, e.g. http://127.0.0.1:41234. */
  readonly url: string;
  /** Stops listening and drops open (keep-alive, streaming) connections. */
  close(): Promise<void>;
}

export async function listenLocal(server: Server): Promise<Listening> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
