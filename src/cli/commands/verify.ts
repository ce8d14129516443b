import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { PerimeterError } from '../../errors/errors.ts';
import { resolveCliIgnorePaths } from '../../artifact/walk.ts';
import { CertificateVerifier } from '../../signing/certificate-verifier.ts';
import { KeyVerifier } from '../../signing/key-method.ts';
import { loadPublicKey } from '../../signing/keys.ts';
import { verifyModel } from '../../signing/model.ts';
import { SigstoreVerifier } from '../../signing/sigstore/verifier.ts';
import { defaultTrustRoot, loadTrustRoot } from '../../signing/sigstore/trust-root.ts';
import type { Verifier } from '../../signing/verifier.ts';
import { EXIT, dim, green, printJson, progressBar, reportError } from '../output.ts';
import { collect } from './common.ts';

interface VerifyFlags {
  signature?: string;
  ignorePaths?: string[];
  ignoreUnsignedFiles?: boolean;
  ignoreGitPaths?: boolean;
  json?: boolean;
  publicKey?: string;
  certificateChain?: string[];
  identity?: string;
  identityProvider?: string;
  trustRoot?: string;
}

async function run(modelPath: string, flags: VerifyFlags, makeVerifier: () => Verifier): Promise<void> {
  const out = { json: flags.json === true };
  const bar = progressBar('verifying', out);
  try {
    const r = await verifyModel(modelPath, makeVerifier(), {
      signaturePath: flags.signature,
      ignorePaths: resolveCliIgnorePaths(modelPath, flags.ignorePaths ?? []),
      ignoreUnsignedFiles: flags.ignoreUnsignedFiles === true,
      ignoreGitPaths: flags.ignoreGitPaths ?? true,
      onProgress: bar.update,
    });
    bar.finish();
    if (out.json) printJson({ ok: true, ...r });
    else {
      process.stdout.write(`${green('✔')} valid: ${r.rootDigest}\n`);
      for (const c of r.checks) process.stdout.write(dim(`  ✔ ${c}\n`));
    }
    process.exitCode = EXIT.OK;
  } catch (e) {
    bar.finish();
    process.exitCode = reportError(e, out, true);
  }
}

function common(c: Command): Command {
  return c
    .argument('<MODEL_PATH>', 'model folder or single file')
    .option('--signature <path>', 'the bundle (default: MODEL_PATH/model.sig, or FILE.sig)')
    .option('--ignore-paths <path>', 'also leave this path out (absolute, or relative to the current folder); repeatable', collect, [])
    .option('--ignore-unsigned-files', 'do not fail on files the signature does not list', false)
    .option('--no-ignore-git-paths', 'do not leave out .git, .gitattributes, .github and .gitignore')
    .option('--json', 'print the result as JSON');
}

export function registerVerify(program: Command): void {
  const verify = program
    .command('verify')
    .description('verify a model against its OMS bundle: exit 0 valid, 1 invalid, 2 usage or I/O error');
  common(verify.command('key').description('verify a bundle signed with a key'))
    .requiredOption('--public-key <pem>', 'the signer\'s public key, PEM')
    .action((m: string, f: VerifyFlags) => run(m, f, () => new KeyVerifier(loadPublicKey(f.publicKey!))));
  common(verify.command('certificate').description('verify a bundle signed with a certificate that chains to a trust anchor'))
    .requiredOption('--certificate-chain <pem>', 'trust anchor certificate(s), PEM; repeatable', collect, [])
    .action((m: string, f: VerifyFlags) =>
      run(m, f, () => {
        const pems = (f.certificateChain ?? []).map((p) => {
          try {
            return readFileSync(p, 'utf8');
          } catch (e) {
            throw new PerimeterError('PERIM_E_IO', `cannot read certificate file ${p}`, { cause: e });
          }
        });
        return new CertificateVerifier(pems);
      }),
    );
  common(verify.command('sigstore').description('verify a Sigstore (keyless) bundle offline: Fulcio chain, Rekor entry, identity'))
    .requiredOption('--identity <id>', 'expected signer identity (email or URI in the certificate)')
    .requiredOption('--identity-provider <url>', 'expected OIDC issuer')
    .option('--trust-root <file>', 'trusted_root.json (default: the Sigstore public-good root shipped with Perimeter)')
    .action((m: string, f: VerifyFlags) =>
      run(m, f, () => new SigstoreVerifier({ identity: f.identity!, issuer: f.identityProvider!, trustRoot: f.trustRoot ? loadTrustRoot(f.trustRoot) : defaultTrustRoot() })),
    );
}
