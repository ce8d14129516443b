/**
 * The one interface every room records events through (registrations, admission decisions,
 * discovery findings, kill-switch, key and config changes, gateway decisions). The audit log
 * implements it as an append-only Merkle log; rooms never write audit tables themselves.
 */
export interface AuditEvent {
  /** Dotted type, e.g. "registry.register", "admission.decision", "runtime.finding". */
  type: string;
  /** Who caused it: a principal id, "cli:<user>", "system". */
  actor?: string;
  /** What it is about: an artifact digest, a runtime name, a principal. */
  subject?: string;
  /** Event details. Never raw prompts or secrets: digests instead. */
  data: Record<string, unknown>;
  /** Epoch ms; the sink fills it in when absent. */
  at?: number;
}

export interface EventSink {
  /** Records the event; resolves once it is durable. */
  record(event: AuditEvent): Promise<void>;
}

/** A sink that keeps events in memory: for tests and for dry runs, never for production. */
export class MemorySink implements EventSink {
  readonly events: AuditEvent[] = [];
  async record(event: AuditEvent): Promise<void> {
    this.events.push({ ...event, at: event.at ?? Date.now() });
  }
}
