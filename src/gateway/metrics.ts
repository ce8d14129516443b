/**
 * Prometheus metrics for the gateway (GET /metrics): requests by endpoint, model and status;
 * policy decisions; guard hits; upstream errors; latency histograms (whole request, and the part
 * the gateway itself adds before the upstream is called). One registry per gateway, so tests and
 * several gateways in one process never share counters. Labels never carry prompt content.
 */
import { Counter, Histogram, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const OVERHEAD_BUCKETS = [0.00005, 0.0001, 0.0002, 0.0004, 0.0008, 0.0016, 0.0032, 0.0064, 0.0128, 0.05];

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({ name: 'perimeter_gateway_requests_total', help: 'Requests by endpoint, model and HTTP status.', labelNames: ['endpoint', 'model', 'status'] as const, registers: [this.registry] });
  readonly decisions = new Counter({ name: 'perimeter_gateway_decisions_total', help: 'Refusals and allows by stage (auth, kill, admission, policy, limit, guard) and result.', labelNames: ['stage', 'result'] as const, registers: [this.registry] });
  readonly guardHits = new Counter({ name: 'perimeter_gateway_guard_hits_total', help: 'Guard findings by side, rule and action.', labelNames: ['side', 'rule', 'action'] as const, registers: [this.registry] });
  readonly upstreamErrors = new Counter({ name: 'perimeter_gateway_upstream_errors_total', help: 'Upstream failures by runtime and code.', labelNames: ['runtime', 'code'] as const, registers: [this.registry] });
  readonly tokens = new Counter({ name: 'perimeter_gateway_tokens_total', help: 'Tokens used, by model and kind (prompt, completion).', labelNames: ['model', 'kind'] as const, registers: [this.registry] });
  readonly duration = new Histogram({ name: 'perimeter_gateway_request_duration_seconds', help: 'Whole request time, first byte in to last byte out.', labelNames: ['endpoint'] as const, buckets: BUCKETS, registers: [this.registry] });
  readonly overhead = new Histogram({ name: 'perimeter_gateway_overhead_seconds', help: 'Time the gateway spends before calling the upstream (identity, policy, limits, input guards).', buckets: OVERHEAD_BUCKETS, registers: [this.registry] });
  readonly inflight = new Gauge({ name: 'perimeter_gateway_inflight_requests', help: 'Requests being proxied now.', registers: [this.registry] });
  readonly kills = new Counter({ name: 'perimeter_gateway_streams_cut_total', help: 'In-flight requests cut by the kill-switch.', registers: [this.registry] });

  constructor(o: { processMetrics?: boolean } = {}) {
    if (o.processMetrics) collectDefaultMetrics({ register: this.registry });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
