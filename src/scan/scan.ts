/**
 * scanPath: the scanner's library entry point. Takes files and folders, scans every regular file
 * by content (archives are opened and their members scanned), and returns typed findings with a
 * verdict per file. Never executes anything it reads.
 */
import { lstatSync, readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { PerimeterError } from '../errors/errors.ts';
import { FileBlob } from './blob.ts';
import { scanBlob } from './context.ts';
import { DEFAULT_LIMITS, SEVERITY_RANK, maxSeverity, type Finding, type ScanLimits, type Severity } from './types.ts';

export type Verdict = 'clean' | Severity;

export interface FileResult {
  file: string;
  bytes: number;
  /** Formats seen in this file and inside it, with counts (e.g. zip: 1, pickle: 1). */
  formats: Record<string, number>;
  /** Highest severity among findings above info, or "clean". */
  verdict: Verdict;
  findings: Finding[];
  ms: number;
}

export interface ScanReport {
  files: FileResult[];
  findings: Finding[];
  verdict: Verdict;
  /** Findings at or above this severity fail the scan. */
  threshold: Severity;
  failed: boolean;
  limits: ScanLimits;
  ms: number;
}

export interface ScanOptions {
  /** "low" instead of "suspicious": also fail on low findings. */
  strict?: boolean;
  limits?: Partial<ScanLimits>;
  /** Called after each file, for progress. */
  onFile?: (r: FileResult, done: number) => void;
  /** Limit on files found under folders (default 1,000,000). */
  maxFiles?: number;
}

interface Target {
  abs: string;
  display: string;
}

function collectTargets(paths: readonly string[], maxFiles: number): { targets: Target[]; skipped: Finding[] } {
  const targets: Target[] = [];
  const skipped: Finding[] = [];
  const visit = (abs: string, display: string): void => {
    const st = lstatSync(abs);
    if (st.isSymbolicLink()) {
      skipped.push({ ruleId: 'SCAN_UNREADABLE', severity: 'info', file: display, member: [], message: `${display} is a symbolic link; not followed (scan its target directly)`, remediation: 'Scan the link target itself if it belongs to the model.' });
      return;
    }
    if (st.isDirectory()) {
      for (const name of readdirSync(abs).sort()) {
        if (name === '.git') continue;
        visit(join(abs, name), display === '.' ? name : join(display, name));
      }
      return;
    }
    if (!st.isFile()) {
      skipped.push({ ruleId: 'SCAN_UNREADABLE', severity: 'suspicious', file: display, member: [], message: `${display} is not a regular file (device, socket or FIFO)`, remediation: 'A model folder should hold only regular files; remove it.' });
      return;
    }
    if (targets.length >= maxFiles) throw new PerimeterError('PERIM_E_USAGE', `more than ${maxFiles} files under the given paths`);
    targets.push({ abs, display });
  };
  for (const p of paths) {
    const abs = resolve(p);
    try {
      lstatSync(abs);
    } catch (e) {
      throw new PerimeterError('PERIM_E_IO', `cannot scan ${p}: it does not exist or cannot be read`, { cause: e });
    }
    visit(abs, relative(process.cwd(), abs) || '.');
  }
  return { targets, skipped };
}

export function verdictOf(findings: readonly Finding[]): Verdict {
  let v: Verdict = 'clean';
  for (const f of findings) if (f.severity !== 'info') v = v === 'clean' ? f.severity : maxSeverity(v, f.severity);
  return v;
}

export function failsAt(verdict: Verdict, threshold: Severity): boolean {
  return verdict !== 'clean' && SEVERITY_RANK[verdict] >= SEVERITY_RANK[threshold];
}

export async function scanPath(paths: string | readonly string[], options: ScanOptions = {}): Promise<ScanReport> {
  const t0 = performance.now();
  const limits: ScanLimits = Object.freeze({ ...DEFAULT_LIMITS, ...options.limits });
  const threshold: Severity = options.strict ? 'low' : 'suspicious';
  const { targets, skipped } = collectTargets(typeof paths === 'string' ? [paths] : paths, options.maxFiles ?? 1_000_000);
  const files: FileResult[] = [];
  for (const t of targets) {
    const t1 = performance.now();
    let blob: FileBlob | undefined;
    let findings: Finding[];
    let formats: Record<string, number> = {};
    let bytes = 0;
    try {
      blob = new FileBlob(t.abs);
      bytes = blob.size;
      const state = await scanBlob(blob, t.display, limits);
      findings = state.findings;
      formats = Object.fromEntries(state.formats);
    } catch (e) {
      findings = [{ ruleId: 'SCAN_UNREADABLE', severity: 'suspicious', file: t.display, member: [], message: `could not read ${t.display}: ${(e as Error).message}`, remediation: 'Check permissions; an unread file was not scanned.' }];
    } finally {
      blob?.close();
    }
    const r: FileResult = { file: t.display, bytes, formats, verdict: verdictOf(findings), findings, ms: +(performance.now() - t1).toFixed(2) };
    files.push(r);
    options.onFile?.(r, files.length);
  }
  const findings = [...skipped, ...files.flatMap((f) => f.findings)];
  const verdict = verdictOf(findings);
  return { files, findings, verdict, threshold, failed: failsAt(verdict, threshold), limits, ms: +(performance.now() - t0).toFixed(2) };
}
