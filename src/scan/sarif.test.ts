import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toSarif } from './sarif.ts';
import type { ScanReport } from './scan.ts';
import { DEFAULT_LIMITS, type Finding } from './types.ts';

const finding = (o: Partial<Finding>): Finding => ({
  ruleId: 'SCAN_LIMIT', severity: 'suspicious', file: 'models/evil model.pt', member: [], message: 'm', remediation: 'r', ...o,
});

function report(findings: Finding[]): ScanReport {
  return {
    files: [{ file: 'models/evil model.pt', bytes: 10, formats: { zip: 1 }, verdict: 'dangerous', findings, ms: 1 }],
    findings, verdict: 'dangerous', threshold: 'suspicious', failed: true, limits: DEFAULT_LIMITS, ms: 1,
  };
}

test('SARIF has what GitHub code scanning requires: version, driver rules, levels, locations', () => {
  const log = toSarif(report([
    finding({ ruleId: 'SCAN_TIMEOUT', severity: 'dangerous', member: ['archive/data.pkl'], offset: 12, evidence: 'os.system' }),
    finding({ ruleId: 'SCAN_LIMIT', severity: 'suspicious', offset: 3 }),
    finding({ ruleId: 'SCAN_UNKNOWN_FORMAT', severity: 'info' }),
  ]));
  assert.equal(log.version, '2.1.0');
  const run = log.runs[0]!;
  assert.equal(run.tool.driver.name, 'Perimeter');
  assert.deepEqual(run.tool.driver.rules!.map((r) => r.id), ['SCAN_LIMIT', 'SCAN_TIMEOUT']);
  for (const r of run.tool.driver.rules!) {
    assert.ok(r.shortDescription?.text && r.help?.text);
    assert.match(String(r.properties!['security-severity']), /^\d+\.\d$/);
  }
  assert.equal(run.results!.length, 2, 'info findings are not results');
  const [a, b] = run.results!;
  assert.equal(a!.level, 'error');
  assert.equal(run.tool.driver.rules![a!.ruleIndex!]!.id, a!.ruleId);
  assert.equal(a!.locations![0]!.physicalLocation!.artifactLocation!.uri, 'models/evil%20model.pt');
  assert.equal(a!.locations![0]!.logicalLocations![0]!.fullyQualifiedName, 'archive/data.pkl');
  assert.match(a!.message.text!, /in archive\/data\.pkl.*\[os\.system\]/);
  assert.equal(b!.level, 'warning');
  assert.equal(b!.locations![0]!.physicalLocation!.region!.byteOffset, 3);
  assert.notEqual(a!.partialFingerprints!['perimeterFinding/v1'], b!.partialFingerprints!['perimeterFinding/v1']);
  assert.equal(JSON.parse(JSON.stringify(log)).runs[0].results.length, 2);
});

test('a clean report is a valid SARIF log with no results', () => {
  const log = toSarif({ ...report([]), verdict: 'clean', failed: false, files: [] });
  assert.deepEqual(log.runs[0]!.results, []);
  assert.deepEqual(log.runs[0]!.tool.driver.rules, []);
});
