import type { Command } from 'commander';
import { ERROR_CODES } from '../../errors/errors.ts';
import { printJson } from '../output.ts';

export function registerErrors(program: Command): void {
  program
    .command('errors')
    .description('list every error code Perimeter can report, with what it means')
    .option('--json', 'print as JSON')
    .action((flags: { json?: boolean }) => {
      if (flags.json) return printJson(ERROR_CODES);
      for (const [code, { kind, summary }] of Object.entries(ERROR_CODES)) process.stdout.write(`${code.padEnd(34)} ${kind.padEnd(8)} ${summary}\n`);
    });
}
