/** The command-line shell: parses arguments and calls the library. No domain logic here. */
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { EXIT } from './output.ts';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

type Register = (program: Command) => void;

/**
 * Command modules, loaded on demand: a run of `perimeter scan` need not load the store, the
 * audit log or the 7-Zip glue. Several commands can share one module (the registry's four).
 */
const MODULES: Readonly<Record<string, () => Promise<Register>>> = {
  demo: async () => (await import('./commands/demo.ts')).registerDemo,
  hash: async () => (await import('./commands/hash.ts')).registerHash,
  sign: async () => (await import('./commands/sign.ts')).registerSign,
  verify: async () => (await import('./commands/verify.ts')).registerVerify,
  scan: async () => (await import('./commands/scan.ts')).registerScan,
  registry: async () => (await import('./commands/registry.ts')).registerRegistry, // register, lineage, inventory, bom
  runtime: async () => (await import('./commands/runtime.ts')).registerRuntime, // runtime add|list|sync|bind
  admit: async () => (await import('./commands/admit.ts')).registerAdmit,
  audit: async () => (await import('./commands/audit.ts')).registerAudit, // audit checkpoint|prove|verify|export
  serve: async () => (await import('./commands/serve.ts')).registerServe,
  keys: async () => (await import('./commands/keys.ts')).registerKeys, // keys create|list|revoke
  kill: async () => (await import('./commands/kill.ts')).registerKill, // kill, revive
  doctor: async () => (await import('./commands/doctor.ts')).registerDoctor,
  errors: async () => (await import('./commands/errors.ts')).registerErrors,
};
/** Which module defines each top-level command. */
const COMMAND_MODULE: Readonly<Record<string, string>> = {
  ...Object.fromEntries(Object.keys(MODULES).map((m) => [m, m])),
  register: 'registry',
  lineage: 'registry',
  inventory: 'registry',
  bom: 'registry',
  revive: 'kill',
};

/**
 * The program with the modules needed for these arguments: just the named command's module when
 * the first argument is a command, every module otherwise (help, version, mistakes), so help
 * always lists everything.
 */
export async function buildProgram(argv: readonly string[] = []): Promise<Command> {
  const program = new Command('perimeter')
    .description('The runtime perimeter for self-hosted open-weight models.\nExit codes: 0 valid/clean, 1 verification failed, 2 usage or I/O error.')
    .version(pkg.version)
    .showHelpAfterError()
    .exitOverride();
  const first = argv[2];
  const only = first !== undefined ? COMMAND_MODULE[first] : undefined;
  const versionOnly = argv.length === 3 && (first === '--version' || first === '-V');
  const names = only ? [only] : versionOnly ? [] : Object.keys(MODULES);
  const registers = await Promise.all(names.map((n) => MODULES[n]!()));
  for (const register of registers) register(program);
  // Subcommands inherit the override so usage errors exit 2, not commander's default 1.
  const walk = (c: Command): void => {
    c.exitOverride();
    c.commands.forEach(walk);
  };
  walk(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = await buildProgram(argv);
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
