/** Test helper: scans bytes end to end (detection, dispatch, findings) as a file of the given name. */
import { BufferBlob } from '../blob.ts';
import { scanBlob } from '../context.ts';
import { getRule } from '../rules.ts';
import { DEFAULT_LIMITS, SEVERITY_RANK, type Finding, type ScanContext, type ScanLimits } from '../types.ts';

export async function scanBytes(bytes: Buffer, name: string, limits: Partial<ScanLimits> = {}): Promise<{ findings: Finding[]; formats: Map<string, number>; ids: string[] }> {
  const state = await scanBlob(new BufferBlob(bytes), name, limits);
  return { findings: state.findings, formats: state.formats, ids: state.findings.map((f) => f.ruleId) };
}

/** Findings above info (what fails a scan with --strict). */
export const aboveInfo = (fs: Finding[]): Finding[] => fs.filter((f) => SEVERITY_RANK[f.severity] > 0);

export const has = (fs: Finding[], ruleId: string, severity?: Finding['severity']): boolean => fs.some((f) => f.ruleId === ruleId && (severity === undefined || f.severity === severity));

/** Runs one scanner directly on bytes named `name` (as an archive member would be named), collecting findings. */
export async function runScanner(scanner: { scan(b: BufferBlob, c: ScanContext): Promise<void> }, bytes: Buffer, name: string, limits: Partial<ScanLimits> = {}): Promise<{ findings: Finding[]; members: [string, string | undefined][] }> {
  const findings: Finding[] = [];
  const members: [string, string | undefined][] = [];
  const l = { ...DEFAULT_LIMITS, ...limits };
  const ctx: ScanContext = {
    limits: l,
    member: [],
    name,
    report(f) {
      const finding: Finding = { ruleId: f.ruleId, severity: f.severity ?? getRule(f.ruleId).severity, file: name, member: [], message: f.message, remediation: '' };
      if (f.evidence !== undefined) finding.evidence = f.evidence;
      findings.push(finding);
    },
    async scanMember(n, _b, format) {
      members.push([n, format]);
    },
    consumeBytes: () => true,
    checkDeadline: () => {},
  };
  await scanner.scan(new BufferBlob(bytes), ctx);
  return { findings, members };
}
