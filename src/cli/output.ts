/** Terminal output shared by the commands: JSON or human text, exit codes, a TTY progress bar. */
import { ERROR_CODES, asPerimeterError, type PerimeterError } from '../errors/errors.ts';

export const EXIT = { OK: 0, FAILED: 1, USAGE: 2 } as const;

export interface Out {
  json: boolean;
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

const useColor = (): boolean => process.stdout.isTTY === true && !('NO_COLOR' in process.env);
const paint = (code: string) => (s: string): string => (useColor() ? `\x1b[${code}m${s}\x1b[0m` : s);
export const green = paint('32');
export const red = paint('31');
export const dim = paint('2');
export const bold = paint('1');

/**
 * Reports an error and returns the exit code. `verifying` commands exit 1 when a check failed
 * (hostile or wrong input); everything else that goes wrong is 2.
 */
export function reportError(e: unknown, out: Out, verifying: boolean): number {
  const err: PerimeterError = asPerimeterError(e);
  const failed = verifying && err.kind === 'invalid';
  if (out.json) {
    printJson({ ok: false, error: { code: err.code, kind: err.kind, message: err.message, ...(err.details ? { details: err.details } : {}) } });
  } else {
    const head = failed ? 'verification failed' : 'error';
    process.stderr.write(`${red('✘')} ${head} [${err.code}]: ${err.message}\n`);
    if (err.code === 'PERIM_E_INTERNAL' && process.env.PERIMETER_DEBUG) process.stderr.write(`${(err.cause as Error)?.stack ?? ''}\n`);
  }
  return failed ? EXIT.FAILED : EXIT.USAGE;
}

export function errorCodeSummary(code: keyof typeof ERROR_CODES): string {
  return ERROR_CODES[code].summary;
}

const units = ['B', 'KB', 'MB', 'GB', 'TB'];
export function formatBytes(n: number): string {
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 2)} ${units[i]}`;
}

/** A progress bar on stderr when it is a TTY and the output is not JSON; otherwise silent. */
export function progressBar(label: string, out: Out): { update: (done: number, total: number) => void; finish: () => void } {
  if (out.json || !process.stderr.isTTY) return { update: () => {}, finish: () => {} };
  const start = Date.now();
  let last = 0;
  let drawn = false;
  const update = (done: number, total: number): void => {
    const now = Date.now();
    if (now - last < 100 && done < total) return;
    last = now;
    const width = 24;
    const frac = total > 0 ? Math.min(1, done / total) : 1;
    const bar = '█'.repeat(Math.round(frac * width)).padEnd(width, '░');
    const rate = done / Math.max(0.001, (now - start) / 1000);
    process.stderr.write(`\r${label} ${bar} ${(frac * 100).toFixed(0).padStart(3)}% ${formatBytes(done)}/${formatBytes(total)} ${formatBytes(rate)}/s `);
    drawn = true;
  };
  return { update, finish: () => drawn && process.stderr.write('\r\x1b[2K') };
}
