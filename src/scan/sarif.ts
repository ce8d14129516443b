/**
 * SARIF 2.1.0 for GitHub code scanning and other SARIF consumers. One run, one rule per rule id
 * that fired, one result per finding above info. Findings inside archives name the member both in
 * the message and as a logical location.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Log, ReportingDescriptor, Result } from 'sarif';
import { RULES } from './rules.ts';
import type { ScanReport } from './scan.ts';
import type { Finding, Severity } from './types.ts';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const LEVEL: Record<Severity, Result.level> = { dangerous: 'error', suspicious: 'warning', low: 'note', info: 'note' };
/** GitHub maps security-severity to critical (>= 9), high (7-8.9), medium (4-6.9), low. */
const SECURITY_SEVERITY: Record<Severity, string> = { dangerous: '9.3', suspicious: '6.5', low: '3.0', info: '0.0' };

const toUri = (path: string): string => path.split(/[\\/]/).map(encodeURIComponent).join('/');

function ruleDescriptor(id: string): ReportingDescriptor {
  const r = RULES[id]!;
  return {
    id,
    name: id
      .toLowerCase()
      .split('_')
      .map((w, i) => (i === 0 ? w : w[0]!.toUpperCase() + w.slice(1)))
      .join(''),
    shortDescription: { text: r.title },
    fullDescription: { text: `${r.title}. ${r.remediation}` },
    help: { text: r.remediation, markdown: `**${r.title}**\n\n${r.remediation}` },
    defaultConfiguration: { level: LEVEL[r.severity] },
    properties: { tags: ['security', 'supply-chain', 'model-scanning'], 'security-severity': SECURITY_SEVERITY[r.severity], precision: 'high' },
  };
}

function fingerprint(f: Finding): string {
  return createHash('sha256').update([f.ruleId, f.file, ...f.member, f.evidence ?? '', String(f.offset ?? '')].join('\u0000')).digest('hex');
}

export function toSarif(report: ScanReport): Log {
  const shown = report.findings.filter((f) => f.severity !== 'info');
  const ruleIds = [...new Set(shown.map((f) => f.ruleId))].sort();
  const ruleIndex = new Map(ruleIds.map((id, i) => [id, i]));
  const results: Result[] = shown.map((f) => {
    const where = f.member.length ? ` (in ${f.member.join(' > ')})` : '';
    const result: Result = {
      ruleId: f.ruleId,
      ruleIndex: ruleIndex.get(f.ruleId)!,
      level: LEVEL[f.severity],
      message: { text: `${f.message}${where}${f.evidence ? ` [${f.evidence}]` : ''}` },
      locations: [
        {
          physicalLocation: {
            artifactLocation: { uri: toUri(f.file), uriBaseId: '%SRCROOT%' },
            // Model files are binary: line 1 keeps code scanning happy; the byte offset is exact.
            region: f.offset !== undefined && f.member.length === 0 ? { startLine: 1, byteOffset: f.offset } : { startLine: 1 },
          },
          ...(f.member.length ? { logicalLocations: [{ fullyQualifiedName: f.member.join('/'), kind: 'member' }] } : {}),
        },
      ],
      partialFingerprints: { 'perimeterFinding/v1': fingerprint(f) },
      properties: {
        severity: f.severity,
        ...(f.member.length ? { member: f.member } : {}),
        ...(f.offset !== undefined ? { offset: f.offset } : {}),
        ...(f.evidence !== undefined ? { evidence: f.evidence } : {}),
        remediation: f.remediation,
      },
    };
    return result;
  });
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'Perimeter',
            semanticVersion: pkg.version,
            rules: ruleIds.map(ruleDescriptor),
          },
        },
        invocations: [{ executionSuccessful: true, properties: { threshold: report.threshold, verdict: report.verdict } }],
        artifacts: report.files.map((f) => ({ location: { uri: toUri(f.file), uriBaseId: '%SRCROOT%' }, length: f.bytes })),
        results,
      },
    ],
  };
}
