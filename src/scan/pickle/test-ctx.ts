/** Test helpers for the pickle analyser: scan bytes end to end, or inside a fake archive member. */
import { BufferBlob } from '../blob.ts';
import { scanBlob } from '../context.ts';
import { getRule } from '../rules.ts';
import { DEFAULT_LIMITS, SEVERITY_RANK, type Blob, type Finding, type FormatId, type ScanContext, type ScanLimits, type Severity } from '../types.ts';
import { scanPickles } from './scanner.ts';

/** Scans bytes as a top-level file through the real context (detection included). */
export async function scanBytes(buf: Buffer, name = 'model.pkl', limits: Partial<ScanLimits> = {}): Promise<Finding[]> {
  return (await scanBlob(new BufferBlob(buf), name, limits)).findings;
}

/** "RULE:severity" for each finding, in order. */
export const brief = (fs: readonly Finding[]): string[] => fs.map((f) => `${f.ruleId}:${f.severity}`);

/** The highest severity, or 'clean'. */
export const verdict = (fs: readonly Finding[]): Severity | 'clean' =>
  fs.reduce<Severity | 'clean'>((w, f) => (w === 'clean' || SEVERITY_RANK[f.severity] > SEVERITY_RANK[w] ? f.severity : w), 'clean');

export interface FakeScan {
  ctx: ScanContext;
  findings: Finding[];
  members: { name: string; format: FormatId | undefined; size: number }[];
}

/** A context for a blob found inside an archive (member path given), recording findings and member hand-offs. */
export function fakeContext(name: string, member: string[] = [name], limits: Partial<ScanLimits> = {}, deadline = Infinity): FakeScan {
  const findings: Finding[] = [];
  const members: FakeScan['members'] = [];
  const ctx: ScanContext = {
    limits: { ...DEFAULT_LIMITS, ...limits },
    member,
    name,
    report(f) {
      const rule = getRule(f.ruleId);
      findings.push({ ruleId: f.ruleId, severity: f.severity ?? rule.severity, file: 'archive.zip', member, message: f.message, remediation: rule.remediation, ...(f.offset !== undefined ? { offset: f.offset } : {}), ...(f.evidence !== undefined ? { evidence: f.evidence } : {}) });
    },
    async scanMember(n: string, blob: Blob, format?: FormatId) {
      members.push({ name: n, format, size: blob.size });
    },
    consumeBytes: () => true,
    checkDeadline() {
      if (Date.now() > deadline) throw Object.assign(new Error('scan exceeded budget'), { code: 'PERIM_E_SCAN_TIMEOUT' });
    },
  };
  return { ctx, findings, members };
}

/** Runs the pickle scanner on bytes inside a fake archive member. */
export async function scanMemberBytes(buf: Buffer, name: string, member?: string[], limits?: Partial<ScanLimits>): Promise<FakeScan> {
  const f = fakeContext(name, member, limits);
  await scanPickles(new BufferBlob(buf), f.ctx, false);
  return f;
}

/** A blob that counts the bytes read from it. */
export { CountingBlob } from '../../../test/counting-blob.ts';
