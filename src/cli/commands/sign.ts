import type { Command } from 'commander';
import { PerimeterError } from '../../errors/errors.ts';
import { CertificateSigner, readPemCertificates } from '../../signing/certificate-signer.ts';
import { KeySigner } from '../../signing/key-method.ts';
import { loadPrivateKey } from '../../signing/keys.ts';
import { signModel } from '../../signing/model.ts';
import type { Signer } from '../../signing/verifier.ts';
import { EXIT, dim, formatBytes, green, printJson, progressBar, reportError } from '../output.ts';
import { addHashFlags, addIgnoreFlag, collect, hashOptionsFrom, type HashFlags } from './common.ts';

interface SignFlags extends HashFlags {
  privateKey: string;
  passwordEnv?: string;
  signature?: string;
  signingCertificate?: string;
  certificateChain?: string[];
}

function passphrase(flags: SignFlags): string | undefined {
  if (!flags.passwordEnv) return undefined;
  const v = process.env[flags.passwordEnv];
  if (v === undefined) throw new PerimeterError('PERIM_E_USAGE', `--password-env names ${flags.passwordEnv}, which is not set`);
  return v;
}

async function run(modelPath: string, flags: SignFlags, makeSigner: () => Signer): Promise<void> {
  const out = { json: flags.json === true };
  const bar = progressBar('hashing', out);
  try {
    const signer = makeSigner();
    const r = await signModel(modelPath, signer, { ...hashOptionsFrom(modelPath, flags), signaturePath: flags.signature, onProgress: bar.update });
    bar.finish();
    if (out.json) {
      printJson({ ok: true, rootDigest: r.manifest.rootDigest, signature: r.signaturePath, resources: r.manifest.resources.length, bytes: r.bytes, serialization: r.manifest.serialization });
    } else {
      process.stdout.write(`${green('✔')} signed ${r.manifest.rootDigest}\n`);
      process.stdout.write(dim(`  ${r.manifest.resources.length} ${r.manifest.serialization.method}, ${formatBytes(r.bytes)}, ${r.manifest.serialization.hash_type}; bundle written to ${r.signaturePath}\n`));
    }
    process.exitCode = EXIT.OK;
  } catch (e) {
    bar.finish();
    process.exitCode = reportError(e, out, false);
  }
}

export function registerSign(program: Command): void {
  const sign = program.command('sign').description('sign a model: write an OMS v1.0 bundle (model.sig in the model folder by default)');
  const common = (c: Command): Command => {
    c.argument('<MODEL_PATH>', 'model folder or single file')
      .requiredOption('--private-key <pem>', 'EC private key (P-256, P-384 or P-521), PEM')
      .option('--password-env <var>', 'read the private key password from this environment variable')
      .option('--signature <out>', 'where to write the bundle (default: MODEL_PATH/model.sig, or FILE.sig)')
      .option('--json', 'print the result as JSON');
    addHashFlags(c);
    addIgnoreFlag(c);
    return c;
  };
  common(sign.command('key').description('sign with a long-lived key; verifiers need the public key')).action((modelPath: string, flags: SignFlags) =>
    run(modelPath, flags, () => new KeySigner(loadPrivateKey(flags.privateKey, passphrase(flags)))),
  );
  common(sign.command('certificate').description('sign with a key and its X.509 certificate; verifiers need the CA'))
    .requiredOption('--signing-certificate <pem>', 'the signing (leaf) certificate, PEM')
    .option('--certificate-chain <pem>', 'intermediate certificates to include, PEM; repeatable', collect, [])
    .action((modelPath: string, flags: SignFlags) =>
      run(modelPath, flags, () => {
        const chain = [...readPemCertificates(flags.signingCertificate!), ...(flags.certificateChain ?? []).flatMap(readPemCertificates)];
        return new CertificateSigner(loadPrivateKey(flags.privateKey, passphrase(flags)), chain);
      }),
    );
}
