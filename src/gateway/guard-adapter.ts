/**
 * The guards as the request flow uses them: the pattern guards (secrets, PII, injection) on the
 * request body and on the answer, then the classifier guard when one is configured. Streamed
 * answers go through the pattern guards as they flow (hold-back window); the classifier judges
 * whole answers only, so with `apply_to: output|both` a streamed answer is checked by the patterns
 * alone (docs/guards.md says so, and the gateway warns at start).
 */
import type { GatewayGuardsConfig } from '../config/gateway-guards.ts';
import { ClassifierGuard } from './guards/classifier.ts';
import { GuardSet } from './guards/guard-set.ts';
import { classifyRequest, conversationOf, guardRequestBody } from './guards/request.ts';
import { OutputStreamGuard, guardOutputText } from './guards/stream.ts';
import type { Endpoint, RequestGuards } from './parts.ts';
import type { GuardFinding, GuardResult } from './types.ts';

export interface ClosableGuards extends RequestGuards {
  close(): Promise<void>;
}

export function createGuards(config: GatewayGuardsConfig): ClosableGuards {
  const classifier = config.classifier ? new ClassifierGuard(config.classifier) : undefined;
  const set = new GuardSet(config, classifier ? { classifier } : {});
  return {
    async input(endpoint, body) {
      const g = guardRequestBody(endpoint, body, set);
      if (g.blocked || !classifier) return g;
      const c = await classifyRequest(endpoint, g.body, classifier);
      if (!c || c.findings.length === 0) return g;
      const findings: GuardFinding[] = [...g.findings, ...c.findings];
      return { body: g.body, changed: g.changed, findings: findings as typeof g.findings, blocked: c.verdict === 'block' };
    },
    async output(text: string, request?: { endpoint: Endpoint; body: Record<string, unknown> }): Promise<GuardResult> {
      const r = guardOutputText(text, set);
      if (r.verdict === 'block' || !classifier?.appliesTo('output')) return r;
      const prompt = request ? conversationOf(request.endpoint, request.body).filter((t) => t.role === 'user').at(-1)?.content : undefined;
      const c = await classifier.inspect(r.text, 'output', prompt);
      if (c.findings.length === 0) return r;
      return { verdict: c.verdict === 'block' ? 'block' : r.verdict, text: r.text, findings: [...r.findings, ...c.findings] };
    },
    stream: () => new OutputStreamGuard(set),
    close: async () => {
      await classifier?.close();
    },
  };
}
