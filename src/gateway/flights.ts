/**
 * Requests in flight, so the kill-switch can cut them: on every kill (local or from another
 * replica) each flight is checked against the kill-switch again and the covered ones are aborted;
 * the relay then ends the response (an error event for a stream).
 */
import { PerimeterError } from '../errors/errors.ts';
import type { KillEvent, KillSwitch, RequestSubject } from './types.ts';

export interface Flight {
  readonly subject: RequestSubject;
  readonly abort: AbortController;
  /** Set when the kill-switch cut it. */
  killed: PerimeterError | undefined;
}

export class Flights {
  readonly #live = new Set<Flight>();
  readonly #kills: KillSwitch;
  readonly #unsubscribe: () => void;
  /** Called once per flight cut. */
  onCut: (f: Flight, k: KillEvent) => void = () => {};

  constructor(kills: KillSwitch) {
    this.#kills = kills;
    this.#unsubscribe = kills.onKill(() => this.#sweep());
  }

  get size(): number {
    return this.#live.size;
  }

  start(subject: RequestSubject): Flight {
    const f: Flight = { subject, abort: new AbortController(), killed: undefined };
    this.#live.add(f);
    return f;
  }

  end(f: Flight): void {
    this.#live.delete(f);
  }

  #sweep(): void {
    for (const f of this.#live) {
      if (f.killed) continue;
      const k = this.#kills.killed(f.subject);
      if (!k) continue;
      f.killed = new PerimeterError('PERIM_E_KILLED', `the ${k.kind} ${k.id} was stopped by the kill-switch${k.reason ? `: ${k.reason}` : ''}`);
      f.abort.abort(f.killed);
      this.onCut(f, k);
    }
  }

  close(): void {
    this.#unsubscribe();
  }
}
