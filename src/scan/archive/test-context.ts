/**
 * A ScanContext for unit tests of the archive readers: records findings and every member handed
 * over (name, size, first bytes), enforces depth and byte budget like the real context, and
 * optionally recurses into members that are archives themselves.
 */
import { PerimeterError } from '../../errors/errors.ts';
import { detectFormat } from '../detect.ts';
import { getRule } from '../rules.ts';
import { SCANNERS } from '../scanners.ts';
import { DEFAULT_LIMITS, type Blob, type FindingInput, type FormatId, type ScanContext, type ScanLimits, type Severity } from '../types.ts';

export interface RecordedFinding extends FindingInput {
  severity: Severity;
  member: string[];
}

export interface RecordedMember {
  name: string;
  /** Member path, outermost first, ending with `name`. */
  path: string[];
  size: number;
  /** The first `readCap` bytes (or the read error, for a partial member). */
  bytes: Buffer;
  readError?: string;
  blob: Blob;
  format: FormatId;
}

interface Shared {
  limits: ScanLimits;
  findings: RecordedFinding[];
  members: RecordedMember[];
  consumed: number;
  budgetReported: boolean;
  deadline: number;
  readCap: number;
  recurse: boolean;
}

const ARCHIVES = new Set<FormatId>(['zip', 'tar', 'gzip', '7z', 'bzip2', 'xz']);

export class RecordingContext implements ScanContext {
  readonly limits: ScanLimits;
  readonly member: readonly string[];
  readonly name: string;
  readonly #s: Shared;

  constructor(opts: { limits?: Partial<ScanLimits>; name?: string; readCap?: number; recurse?: boolean } = {}, shared?: Shared, member: string[] = []) {
    const limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.#s = shared ?? {
      limits,
      findings: [],
      members: [],
      consumed: 0,
      budgetReported: false,
      deadline: Date.now() + limits.timeoutMs,
      readCap: opts.readCap ?? 1024 * 1024,
      recurse: opts.recurse ?? false,
    };
    this.limits = this.#s.limits;
    this.member = member;
    this.name = opts.name ?? 'test.bin';
  }

  get findings(): RecordedFinding[] {
    return this.#s.findings;
  }
  get members(): RecordedMember[] {
    return this.#s.members;
  }
  get consumed(): number {
    return this.#s.consumed;
  }
  /** Findings of one rule. */
  rule(id: string): RecordedFinding[] {
    return this.#s.findings.filter((f) => f.ruleId === id);
  }
  /** The recorded member with this name (the first, if several). */
  get(name: string): RecordedMember | undefined {
    return this.#s.members.find((m) => m.name === name);
  }

  report(f: FindingInput): void {
    const rule = getRule(f.ruleId); // throws on an unregistered id
    this.#s.findings.push({ ...f, severity: f.severity ?? rule.severity, member: [...this.member] });
  }

  async scanMember(name: string, blob: Blob, format?: FormatId): Promise<void> {
    if (this.member.length + 1 > this.limits.maxDepth) {
      this.report({ ruleId: 'SCAN_LIMIT', message: `archive nesting deeper than ${this.limits.maxDepth} levels: ${name} not scanned`, evidence: name });
      return;
    }
    const path = [...this.member, name];
    const id = format ?? detectFormat(blob, name);
    let bytes = Buffer.alloc(0);
    let readError: string | undefined;
    try {
      bytes = Buffer.from(blob.read(0, Math.min(blob.size, this.#s.readCap)));
    } catch (e) {
      readError = (e as Error).message;
    }
    const rec: RecordedMember = { name, path, size: blob.size, bytes, blob, format: id };
    if (readError !== undefined) rec.readError = readError;
    this.#s.members.push(rec);
    if (this.#s.recurse && ARCHIVES.has(id) && id !== 'unknown') {
      const child = new RecordingContext({ name }, this.#s, path);
      await SCANNERS[id as Exclude<FormatId, 'unknown'>].scan(blob, child);
    }
  }

  consumeBytes(n: number): boolean {
    this.#s.consumed += n;
    if (this.#s.consumed <= this.limits.maxTotalBytes) return true;
    if (!this.#s.budgetReported) {
      this.#s.budgetReported = true;
      this.report({ ruleId: 'SCAN_LIMIT', message: `more than ${this.limits.maxTotalBytes} bytes decompressed` });
    }
    return false;
  }

  checkDeadline(): void {
    if (Date.now() > this.#s.deadline) throw new PerimeterError('PERIM_E_SCAN_TIMEOUT', 'scan exceeded its time budget');
  }
}

/** Tiny protocol 2 pickle calling os.system("id"), hand-assembled. */
export const EVIL_PICKLE = Buffer.from('\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03.', 'latin1');
/** Tiny protocol 2 pickle of an empty dict. */
export const BENIGN_PICKLE = Buffer.from('\x80\x02}q\x00.', 'latin1');
