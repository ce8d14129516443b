import type { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import { PerimeterError } from '../../errors/errors.ts';
import { toSarif } from '../../scan/sarif.ts';
import { scanPath, type FileResult, type ScanReport } from '../../scan/scan.ts';
import type { Finding } from '../../scan/types.ts';
import { EXIT, bold, dim, formatBytes, green, red, reportError } from '../output.ts';

const LIMITS_NOTE = `
What a scan can and cannot promise:
  - It reads model files without running them: pickles are analysed symbolically, archives are
    opened the way PyTorch opens them, and headers (safetensors, GGUF, NumPy, ONNX, SavedModel,
    Keras) are validated. A file it cannot fully parse is never reported clean.
  - "dangerous" means code would run on load. An import the scanner does not know is
    "suspicious": that verdict is a heuristic, not proof of safety or of harm.
  - A clean scan is not a guarantee: new gadgets appear. The real fix is formats that carry no
    code (safetensors, GGUF) from a publisher whose signature you verify (perimeter verify).

Exit codes: 0 clean, 1 findings at or above the threshold (suspicious; low with --strict),
2 could not scan (missing path, bad option).`;

interface ScanFlags {
  format: 'text' | 'json' | 'sarif';
  strict?: boolean;
  maxBytes?: string;
  output?: string;
}

const ICON: Record<string, (s: string) => string> = { clean: green, info: green, low: dim, suspicious: red, dangerous: red };
const MARK: Record<string, string> = { clean: '✔', info: '✔', low: '•', suspicious: '!', dangerous: '✘' };

function findingLine(f: Finding): string {
  const where = f.member.length ? `${f.member.join(' > ')}${f.offset !== undefined ? ` @${f.offset}` : ''}: ` : f.offset !== undefined ? `@${f.offset}: ` : '';
  return `    ${f.severity.padEnd(10)} ${f.ruleId}  ${where}${f.message}${f.evidence ? `  [${f.evidence}]` : ''}`;
}

function renderText(report: ScanReport): string {
  const lines: string[] = [];
  const total = report.files.reduce((s, f) => s + f.bytes, 0);
  lines.push(bold(`Perimeter scan: ${report.files.length} file${report.files.length === 1 ? '' : 's'}, ${formatBytes(total)}, ${report.ms.toFixed(0)} ms`));
  const byFile = (f: FileResult): void => {
    const formats = Object.keys(f.formats).filter((k) => k !== 'unknown');
    lines.push(`${ICON[f.verdict]!(`${MARK[f.verdict]} ${f.verdict.padEnd(10)}`)} ${f.file}${formats.length ? dim(`  (${formats.join(', ')})`) : ''}`);
    const shown = f.findings.filter((x) => x.severity !== 'info');
    for (const x of shown) lines.push(findingLine(x));
    const remedies = [...new Set(shown.map((x) => x.remediation))];
    for (const r of remedies) lines.push(dim(`      → ${r}`));
  };
  report.files.forEach(byFile);
  const extra = report.findings.filter((f) => !report.files.some((r) => r.file === f.file) && f.severity !== 'info');
  for (const f of extra) lines.push(findingLine(f));
  const count = (v: string) => report.files.filter((f) => f.verdict === v).length;
  lines.push('');
  lines.push(`${count('dangerous')} dangerous, ${count('suspicious')} suspicious, ${count('low')} low, ${count('clean')} clean; threshold ${report.threshold}: ${report.failed ? red('FAIL') : green('PASS')}`);
  return lines.join('\n') + '\n';
}

export function registerScan(program: Command): void {
  program
    .command('scan')
    .description('scan model files, folders and archives for code that runs on load')
    .argument('<PATH...>', 'files, folders or archives')
    .option('--format <format>', 'text, json or sarif (SARIF 2.1.0, for GitHub code scanning)', 'text')
    .option('--strict', 'also fail on low-severity findings')
    .option('--max-bytes <n>', 'largest pickle, JSON or member read into memory, in bytes (default 536870912)')
    .option('--output <file>', 'write the report to a file instead of stdout')
    .addHelpText('after', LIMITS_NOTE)
    .action(async (paths: string[], flags: ScanFlags) => {
      const out = { json: flags.format !== 'text' };
      try {
        if (!['text', 'json', 'sarif'].includes(flags.format)) throw new PerimeterError('PERIM_E_USAGE', `--format must be text, json or sarif, got "${flags.format}"`);
        let maxBytes: number | undefined;
        if (flags.maxBytes !== undefined) {
          maxBytes = Number(flags.maxBytes);
          if (!/^[1-9][0-9]*$/.test(flags.maxBytes) || !Number.isSafeInteger(maxBytes)) throw new PerimeterError('PERIM_E_USAGE', `--max-bytes must be a positive whole number, got "${flags.maxBytes}"`);
        }
        const report = await scanPath(paths, { strict: flags.strict === true, limits: maxBytes ? { maxBytes } : {} });
        const text = flags.format === 'sarif' ? JSON.stringify(toSarif(report), null, 2) + '\n' : flags.format === 'json' ? JSON.stringify(report, null, 2) + '\n' : renderText(report);
        if (flags.output) writeFileSync(flags.output, text);
        else process.stdout.write(text);
        if (flags.output && flags.format !== 'text') process.stderr.write(renderText(report));
        process.exitCode = report.failed ? EXIT.FAILED : EXIT.OK;
      } catch (e) {
        process.exitCode = reportError(e, out, false);
      }
    });
}
