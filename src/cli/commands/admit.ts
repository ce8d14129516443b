/**
 * perimeter admit MODEL_PATH|DIGEST --env ENV: run the admission pipeline, print allow or deny
 * with every reason, record the decision. Exit 0 allow, 1 deny, 2 usage or I/O error. With
 * --verify-files (the init-container step) the files are re-hashed and must match the digest.
 */
import type { Command } from 'commander';
import { PerimeterError } from '../../errors/errors.ts';
import { DIGEST } from '../../config/schema.ts';
import { admit, type Decision } from '../../policy/admit.ts';
import { EXIT, bold, dim, green, printJson, red, reportError } from '../output.ts';
import { actor, addConfigFlags, loadConfigFrom, withStoreAndLog, type ConfigFlags } from './config-flags.ts';

interface AdmitFlags extends ConfigFlags {
  env: string;
  digest?: string;
  verifyFiles?: boolean;
}

const mark = { pass: green('✔'), fail: red('✘'), skip: dim('–') } as const;

export function renderDecision(d: Decision): string {
  const head = d.allowed ? `${green('✔')} ${bold('allow')}` : `${red('✘')} ${bold('deny')}`;
  const what = d.digest ? `${d.digest}${d.artifact ? ` (${d.artifact.name})` : ''}` : 'the model';
  const lines = [`${head} ${what} for environment ${d.env}`];
  for (const r of d.reasons) lines.push(`  ${mark[r.status]} ${r.check}: ${r.message}`);
  lines.push(dim(`  decided by: ${d.policies.join(', ') || '-'} (decision #${d.id})`));
  return lines.join('\n') + '\n';
}

export function registerAdmit(program: Command): void {
  addConfigFlags(
    program
      .command('admit')
      .description('decide whether a model may run in an environment (signed by a trusted identity, scanned clean, license allowed, not revoked): exit 0 allow, 1 deny, 2 usage or I/O error')
      .argument('<MODEL_PATH|DIGEST>', 'a model folder or file (hashed to find it), or its digest sha256:<hex>')
      .requiredOption('--env <env>', 'the environment, e.g. production (admission.environments.<env> in the config)')
      .option('--digest <digest>', 'with a MODEL_PATH: the digest the files must have (e.g. from the pod annotation)')
      .option('--verify-files', 're-hash the files on disk and refuse when they differ from the admitted digest', false)
      .option('--json', 'print the decision as JSON'),
  ).action(async (target: string, f: AdmitFlags) => {
    const out = { json: f.json === true };
    try {
      const isDigest = DIGEST.test(target);
      if (isDigest && f.digest !== undefined) throw new PerimeterError('PERIM_E_USAGE', '--digest goes with a MODEL_PATH, not with a digest');
      if (!isDigest && target.startsWith('sha256:')) throw new PerimeterError('PERIM_E_USAGE', `"${target}" is not a digest (sha256:<64 hex>)`);
      const config = loadConfigFrom(f);
      const d = await withStoreAndLog(f, config, (store, log) =>
        admit(
          { store, sink: log, config, actor: actor() },
          { env: f.env, verifyFiles: f.verifyFiles === true, ...(isDigest ? { digest: target } : { path: target, ...(f.digest ? { digest: f.digest } : {}) }), context: { source: 'cli' } },
        ),
      );
      if (out.json) printJson({ ok: d.allowed, decision: d });
      else process.stdout.write(renderDecision(d));
      process.exitCode = d.allowed ? EXIT.OK : EXIT.FAILED;
    } catch (e) {
      process.exitCode = reportError(e, out, false);
    }
  });
}
