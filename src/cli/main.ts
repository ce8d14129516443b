/** The command-line shell: parses arguments and calls the library. No domain logic here. */
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { registerDemo } from './commands/demo.ts';
import { registerErrors } from './commands/errors.ts';
import { registerHash } from './commands/hash.ts';
import { registerScan } from './commands/scan.ts';
import { registerSign } from './commands/sign.ts';
import { registerVerify } from './commands/verify.ts';
import { registerRegistry } from './commands/registry.ts';
import { registerRuntime } from './commands/runtime.ts';
import { registerAdmit } from './commands/admit.ts';
import { registerAudit } from './commands/audit.ts';
import { registerServe } from './commands/serve.ts';
import { registerDoctor } from './commands/doctor.ts';
import { EXIT } from './output.ts';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

export function buildProgram(): Command {
  const program = new Command('perimeter')
    .description('The runtime perimeter for self-hosted open-weight models.\nExit codes: 0 valid/clean, 1 verification failed, 2 usage or I/O error.')
    .version(pkg.version)
    .showHelpAfterError()
    .exitOverride();
  registerDemo(program);
  registerHash(program);
  registerSign(program);
  registerVerify(program);
  registerScan(program);
  registerRegistry(program); // register, lineage, inventory, bom
  registerRuntime(program); // runtime add|list|sync|bind
  registerAdmit(program); // admit
  registerAudit(program); // audit checkpoint|prove|verify|export
  registerServe(program); // serve
  registerDoctor(program); // doctor
  registerErrors(program);
  // Subcommands inherit the override so usage errors exit 2, not commander's default 1.
  const walk = (c: Command): void => {
    c.exitOverride();
    c.commands.forEach(walk);
  };
  walk(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return EXIT.OK;
      return EXIT.USAGE;
    }
    throw e;
  }
  return typeof process.exitCode === 'number' ? process.exitCode : EXIT.OK;
}
