/**
 * Code in model folders. TorchScript archives carry their program as Python-like source under
 * code/ (run by torch.jit's own interpreter, which can still call ops that read and write files).
 * Loose *.py files are what transformers imports with trust_remote_code=True. Both are searched
 * line by line (comments skipped) for calls that reach files, processes, the network or eval;
 * nothing is executed or imported.
 */
import type { Blob, FormatScanner, ScanContext } from '../types.ts';
import { printable } from './cursor.ts';

interface Pattern {
  re: RegExp;
  what: string;
}

const TORCHSCRIPT_IO: Pattern[] = [
  { re: /\bfrom_file\b/, what: 'from_file (reads a file into a tensor)' },
  { re: /\btorch\.ops\.[\w.]*\bsave\w*\b|\btorch\.save\b/, what: 'save (writes a file)' },
  { re: /\btorch\.ops\.[\w.]*\bload\w*\b|\btorch\.load\b/, what: 'load (reads a file)' },
  { re: /(^|[^\w.])open\s*\(/, what: 'open()' },
  { re: /__import__/, what: '__import__' },
  { re: /(^|[^\w.])(exec|eval)\s*\(/, what: 'exec/eval' },
  { re: /(^|[^\w])os\.\w+/, what: 'os module' },
  { re: /\bsubprocess\b/, what: 'subprocess' },
  { re: /\bbuiltins\b/, what: 'builtins' },
];

const PYTHON_DANGER: Pattern[] = [
  { re: /\bos\.(system|popen|exec\w*|spawn\w*|fork|remove|unlink|rmdir|removedirs|putenv)\s*\(/, what: 'os process/file call' },
  { re: /\bsubprocess\b/, what: 'subprocess' },
  { re: /(^|[^\w.])(eval|exec|compile)\s*\(/, what: 'eval/exec/compile' },
  { re: /__import__\s*\(|\bimportlib\.import_module\s*\(/, what: 'dynamic import' },
  { re: /^\s*(import|from)\s+(requests|urllib|http\.client|socket|httpx|aiohttp|paramiko|ftplib|smtplib)\b|\b(requests|httpx)\.(get|post|put)\s*\(|\bsocket\.socket\s*\(|\burlopen\s*\(/, what: 'network access' },
  { re: /\b(pickle|marshal|dill|cloudpickle)\.loads?\s*\(/, what: 'deserialisation of code (pickle/marshal)' },
  { re: /\bctypes\b/, what: 'ctypes' },
  { re: /\bbase64\.b64decode\s*\(/, what: 'base64 decoding (often hides payloads)' },
  { re: /\bshutil\.rmtree\s*\(/, what: 'recursive delete' },
];

const MAX_LINES_REPORTED = 8;

export function findPatterns(text: string, patterns: Pattern[]): string[] {
  const hits: string[] = [];
  const lines = text.split('\n');
  for (let n = 0; n < lines.length && hits.length < MAX_LINES_REPORTED; n++) {
    const line = lines[n]!;
    if (/^\s*#/.test(line)) continue;
    for (const p of patterns) {
      if (p.re.test(line)) {
        hits.push(`line ${n + 1}: ${p.what}: ${printable(line.trim(), 100)}`);
        break;
      }
    }
  }
  return hits;
}

function readText(blob: Blob, ctx: ScanContext): string {
  if (blob.size > ctx.limits.maxBytes) {
    ctx.report({ ruleId: 'SCAN_LIMIT', message: `${ctx.name}: ${blob.size} bytes of code, only the first ${ctx.limits.maxBytes} were searched` });
  }
  return blob.read(0, Math.min(blob.size, ctx.limits.maxBytes)).toString('utf8');
}

export const torchscriptCodeScanner: FormatScanner = {
  async scan(blob: Blob, ctx: ScanContext): Promise<void> {
    const hits = findPatterns(readText(blob, ctx), TORCHSCRIPT_IO);
    ctx.report({ ruleId: 'CODE_TORCHSCRIPT', message: `${ctx.name}: TorchScript code (${blob.size} bytes)` });
    if (hits.length) ctx.report({ ruleId: 'CODE_TORCHSCRIPT_IO', message: `${ctx.name}: TorchScript code reaches file or process APIs`, evidence: hits.join(' | ') });
  },
};

export const pythonSourceScanner: FormatScanner = {
  async scan(blob: Blob, ctx: ScanContext): Promise<void> {
    const hits = findPatterns(readText(blob, ctx), PYTHON_DANGER);
    ctx.report({
      ruleId: 'CODE_PYTHON_SOURCE',
      severity: hits.length ? 'suspicious' : 'low',
      message: `${ctx.name}: custom code that trust_remote_code would execute${hits.length ? '; it reaches processes, the network, eval or deserialisation' : ''}`,
      ...(hits.length ? { evidence: hits.join(' | ') } : {}),
    });
  },
};
