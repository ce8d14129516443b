#!/usr/bin/env node
// Thin launcher. Node >= 22.18 runs the TypeScript sources directly (type stripping);
// `npm install` pins node@24 as a devDependency, so `npx perimeter` and npm scripts use it.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(
    `perimeter: Node ${process.versions.node} is too old (need >= 22.18). ` +
      'Run it through `npx perimeter` from the repository, which uses the pinned Node 24.\n',
  );
  process.exit(2);
}
// Cache compiled (and type-stripped) modules on disk: a second start is several times faster.
const { enableCompileCache } = await import('node:module');
enableCompileCache?.();
// `inventory --json` moves tens of MB: exactly that command takes a path that loads neither the
// command line (commander) nor the store (kysely); ~20 ms of a ~0.2 s run.
const fast = process.argv[2] === 'inventory' ? await import('../src/cli/commands/registry-inventory.ts') : undefined;
const code = await fast?.inventoryJsonFast(process.argv);
if (code !== undefined) process.exitCode = code;
else {
  const { main } = await import('../src/cli/main.ts');
  process.exitCode = await main(process.argv);
}
