/**
 * The guards of one gateway, built once from `gateway.guards`: per side, the detectors that are
 * not off, each with its action. `inspect` is synchronous and answers from memory; a text in which
 * no trigger occurs costs one character scan.
 */
import type { GatewayGuardsConfig } from '../../config/gateway-guards.ts';
import type { GuardAction, GuardFinding, GuardResult, Guard } from '../types.ts';
import { INJECTION_INPUT_RULES, INJECTION_OUTPUT_RULES } from './injection.ts';
import { PII_RULES } from './pii.ts';
import type { Rule } from './rule.ts';
import { Scanner, type ActiveRule } from './scanner.ts';
import { SECRET_RULES } from './secrets.ts';
import { ClassifierGuard } from './classifier.ts';
import { OutputStreamGuard } from './stream.ts';

export type Where = 'input' | 'output';

export interface GuardSetResult extends GuardResult {
  /** Sum of the weights of the injection patterns found (the action applies from 1). */
  readonly score: number;
}

export interface InspectOptions {
  /** Leave out the injection heuristics (system and developer messages: the operator's own words). */
  readonly injection?: boolean;
}

type SideConfig = GatewayGuardsConfig['input'];

const NO_FINDINGS: readonly GuardFinding[] = Object.freeze([]);

function activeRules(side: SideConfig, where: Where, injection: boolean): ActiveRule[] {
  const out: ActiveRule[] = [];
  const add = (rules: readonly Rule[], action: GuardAction | 'off'): void => {
    if (action === 'off') return;
    for (const rule of rules) out.push({ rule, action });
  };
  add(SECRET_RULES, side.secrets);
  add(PII_RULES, side.pii);
  if (injection) add(where === 'input' ? INJECTION_INPUT_RULES : INJECTION_OUTPUT_RULES, side.injection);
  return out;
}

export class GuardSet implements Guard {
  readonly config: GatewayGuardsConfig;
  readonly #input: Scanner;
  readonly #inputTrusted: Scanner;
  readonly #output: Scanner;
  /** The classifier guard when one is configured (asynchronous; run by the request helpers' callers). */
  readonly classifier: ClassifierGuard | undefined;

  constructor(config: GatewayGuardsConfig, o: { classifier?: ClassifierGuard } = {}) {
    this.config = config;
    this.#input = new Scanner(activeRules(config.input, 'input', true));
    this.#inputTrusted = new Scanner(activeRules(config.input, 'input', false));
    this.#output = new Scanner(activeRules(config.output, 'output', true));
    this.classifier = o.classifier;
  }

  /**
   * The guard set of a config, with its classifier when one is configured (reads the policy file
   * and the API key variable now: a PerimeterError PERIM_E_CONFIG when they are missing).
   */
  static create(config: GatewayGuardsConfig): GuardSet {
    return new GuardSet(config, config.classifier ? { classifier: new ClassifierGuard(config.classifier) } : {});
  }

  /** Closes the classifier's connections. */
  async close(): Promise<void> {
    await this.classifier?.close();
  }

  /** Whether any detector is on for that side. */
  enabled(where: Where): boolean {
    return !(where === 'input' ? this.#input : this.#output).empty;
  }

  /**
   * Characters a streamed output is held back: the configured `holdback_chars`, raised to what
   * the enabled output rules need so that no part of a match is ever released early.
   */
  get holdback(): number {
    return this.#output.empty ? 0 : Math.max(this.config.holdback_chars, this.#output.holdback);
  }

  /** A fresh output guard for one streamed choice. */
  outputStream(): OutputStreamGuard {
    return new OutputStreamGuard(this);
  }

  /** The output scanner (for the stream guard). */
  get outputScanner(): Scanner {
    return this.#output;
  }

  inspect(text: string, where: Where, o: InspectOptions = {}): GuardSetResult {
    const scanner = where === 'output' ? this.#output : o.injection === false ? this.#inputTrusted : this.#input;
    const matches = scanner.scan(text, 0);
    if (matches.length === 0) return { verdict: 'allow', text, findings: NO_FINDINGS, score: 0 };
    const a = scanner.apply(text, matches, 0, text.length, 0, 0);
    const verdict = a.blocking.length > 0 ? 'block' : a.redacted ? 'redact' : 'allow';
    return { verdict, text: a.redacted ? a.text : text, findings: a.findings, score: a.score };
  }
}
