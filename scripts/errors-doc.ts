/** Writes docs/errors.md from the one registry in src/errors/errors.ts (`npm run docs:errors`). */
import { writeFileSync } from 'node:fs';
import { ERROR_CODES } from '../src/errors/errors.ts';

export function renderErrorsDoc(): string {
  const rows = Object.entries(ERROR_CODES).map(([code, { kind, summary }]) => `| \`${code}\` | ${kind} | ${summary} |`);
  return `# Error codes

Every error Perimeter reports on purpose carries one of these codes (\`perimeter errors\` prints the
same list). This file is generated from \`src/errors/errors.ts\` by \`npm run docs:errors\`; a test
fails when the two differ.

Kinds, and the exit code a command gives:

- **invalid**: hostile or broken input, or a check that failed. \`perimeter verify\` exits 1.
  Other commands exit 2 (they could not do their job).
- **usage**: a flag, argument, key or configuration the operator gave is wrong. Exit 2.
- **io**: the environment failed (missing file, permission, disk). Exit 2.

With \`--json\`, failures print \`{"ok": false, "error": {"code", "kind", "message", "details"}}\` on
stdout; otherwise a one-line reason goes to stderr as \`✘ verification failed [CODE]: reason\`.
Messages name files, digests and key hints, never secret material.

| code | kind | meaning |
|---|---|---|
${rows.join('\n')}
`;
}

if (import.meta.main) writeFileSync(new URL('../docs/errors.md', import.meta.url), renderErrorsDoc());
