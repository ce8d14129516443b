/**
 * The scan of one top-level file: a shared state (findings, byte budget, deadline) and one
 * ScanContext per nesting level. Dispatch by detected format happens here.
 */
import { PerimeterError, isPerimeterError } from '../errors/errors.ts';
import { detectFormat } from './detect.ts';
import { getRule } from './rules.ts';
import { SCANNERS } from './scanners.ts';
import { DEFAULT_LIMITS, type Blob, type Finding, type FindingInput, type FormatId, type ScanContext, type ScanLimits } from './types.ts';

export interface FileScanState {
  file: string;
  limits: ScanLimits;
  findings: Finding[];
  bytesConsumed: number;
  deadline: number;
  /** Formats seen, for the summary (e.g. {"zip": 1, "pickle": 2}). */
  formats: Map<string, number>;
  /** Set once the byte budget is exhausted so the finding is reported once. */
  budgetReported: boolean;
}

export function newFileState(file: string, limits: Partial<ScanLimits> = {}): FileScanState {
  const l = { ...DEFAULT_LIMITS, ...limits };
  return { file, limits: l, findings: [], bytesConsumed: 0, deadline: Date.now() + l.timeoutMs, formats: new Map(), budgetReported: false };
}

class Context implements ScanContext {
  readonly limits: ScanLimits;
  readonly member: readonly string[];
  readonly name: string;
  readonly #state: FileScanState;

  constructor(state: FileScanState, member: readonly string[], name: string) {
    this.#state = state;
    this.limits = state.limits;
    this.member = member;
    this.name = name;
  }

  report(f: FindingInput): void {
    const rule = getRule(f.ruleId);
    const finding: Finding = {
      ruleId: f.ruleId,
      severity: f.severity ?? rule.severity,
      file: this.#state.file,
      member: [...this.member],
      message: f.message,
      remediation: f.remediation ?? rule.remediation,
    };
    if (f.offset !== undefined) finding.offset = f.offset;
    if (f.evidence !== undefined) finding.evidence = f.evidence.length > 300 ? f.evidence.slice(0, 300) + '…' : f.evidence;
    this.#state.findings.push(finding);
  }

  async scanMember(name: string, blob: Blob, format?: FormatId): Promise<void> {
    if (this.member.length + 1 > this.limits.maxDepth) {
      this.report({ ruleId: 'SCAN_LIMIT', message: `archive nesting deeper than ${this.limits.maxDepth} levels: ${name} not scanned`, evidence: name });
      return;
    }
    await new Context(this.#state, [...this.member, name], name).run(blob, format);
  }

  /** Detects the format (unless given) and runs its scanner; a timeout or a scanner failure becomes a finding. */
  async run(blob: Blob, format?: FormatId): Promise<void> {
    const id = format ?? detectFormat(blob, this.name);
    const formats = this.#state.formats;
    formats.set(id, (formats.get(id) ?? 0) + 1);
    if (id === 'unknown') return;
    try {
      this.checkDeadline();
      await SCANNERS[id].scan(blob, this);
    } catch (e) {
      if (isPerimeterError(e, 'PERIM_E_SCAN_TIMEOUT')) {
        this.report({ ruleId: 'SCAN_TIMEOUT', message: `scan of ${this.name} stopped after ${this.limits.timeoutMs} ms` });
        return;
      }
      // A scanner that throws could not finish: never clean. Keep the reason for the user.
      this.report({ ruleId: 'SCAN_UNREADABLE', message: `could not finish scanning ${this.name} as ${id}: ${(e as Error)?.message ?? String(e)}` });
    }
  }

  consumeBytes(n: number): boolean {
    this.#state.bytesConsumed += n;
    if (this.#state.bytesConsumed <= this.limits.maxTotalBytes) return true;
    if (!this.#state.budgetReported) {
      this.#state.budgetReported = true;
      this.report({ ruleId: 'SCAN_LIMIT', message: `more than ${this.limits.maxTotalBytes} bytes decompressed from this file; the rest was not scanned` });
    }
    return false;
  }

  checkDeadline(): void {
    if (Date.now() > this.#state.deadline) throw new PerimeterError('PERIM_E_SCAN_TIMEOUT', `scan exceeded ${this.limits.timeoutMs} ms`);
  }
}

/** Scans one blob as a top-level file; returns its findings and the formats seen. */
export async function scanBlob(blob: Blob, file: string, limits: Partial<ScanLimits> = {}): Promise<FileScanState> {
  const state = newFileState(file, limits);
  const base = file.slice(file.lastIndexOf('/') + 1);
  await new Context(state, [], base).run(blob);
  return state;
}
