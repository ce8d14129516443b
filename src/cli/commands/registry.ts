/**
 * The registry commands: register, lineage, inventory, bom. Parse flags, call src/registry, print.
 * Exit codes: 0 ok; 1 a check failed (register: the signature did not verify with the trust
 * given, or the scan failed; the artifact is recorded all the same); 2 usage or I/O error.
 */
import { Option, type Command } from 'commander';
import { readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { PerimeterError } from '../../errors/errors.ts';
import type { ArtifactKind } from '../../registry/metadata.ts';
import type { Verifier } from '../../signing/verifier.ts';
import type { Store } from '../../store/store.ts';
import { EXIT, printJson, progressBar, reportError } from '../output.ts';
import type { DbFlags } from './store-flags.ts';

// The library is imported when a command runs, so defining the commands costs no start-up time:
// nothing here loads the store (kysely alone takes ~0.1 s to load), which `inventory --json` skips.
const KINDS = ['base', 'fine-tune', 'adapter', 'quantization', 'merge'];

/** common.ts collect, without loading the artifact modules common.ts imports (~5 ms). */
const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** store-flags.ts addDbFlag, without loading the store module it imports. */
const addDbFlag = (cmd: Command): Command =>
  cmd.option('--db <path|url>', 'SQLite file or postgres:// URL (default: $PERIMETER_DB, else a per-user file; see perimeter doctor)');

interface RegisterFlags extends DbFlags {
  name?: string;
  license?: string;
  parent?: string[];
  signature?: string;
  publicKey?: string;
  certificateChain?: string[];
  identity?: string;
  identityProvider?: string;
  trustRoot?: string;
  kind?: ArtifactKind;
  trainingFlops?: string;
  json?: boolean;
}

/** The trust material given, as one Verifier; none given: undefined ("signed, not verified"). */
export async function verifierFromFlags(f: RegisterFlags): Promise<Verifier | undefined> {
  const methods = [f.publicKey !== undefined, (f.certificateChain?.length ?? 0) > 0, f.identity !== undefined || f.identityProvider !== undefined].filter(Boolean).length;
  if (methods > 1) throw new PerimeterError('PERIM_E_USAGE', 'give one kind of trust material: --public-key, --certificate-chain, or --identity with --identity-provider');
  if (f.publicKey !== undefined) {
    const [{ KeyVerifier }, { loadPublicKey }] = await Promise.all([import('../../signing/key-method.ts'), import('../../signing/keys.ts')]);
    return new KeyVerifier(loadPublicKey(f.publicKey));
  }
  if (f.certificateChain?.length) {
    const { CertificateVerifier } = await import('../../signing/certificate-verifier.ts');
    return new CertificateVerifier(
      f.certificateChain.map((p) => {
        try {
          return readFileSync(p, 'utf8');
        } catch (e) {
          throw new PerimeterError('PERIM_E_IO', `cannot read certificate file ${p}`, { cause: e });
        }
      }),
    );
  }
  if (f.identity !== undefined || f.identityProvider !== undefined) {
    if (!f.identity || !f.identityProvider) throw new PerimeterError('PERIM_E_USAGE', '--identity and --identity-provider go together');
    const [{ SigstoreVerifier }, { defaultTrustRoot, loadTrustRoot }] = await Promise.all([import('../../signing/sigstore/verifier.ts'), import('../../signing/sigstore/trust-root.ts')]);
    return new SigstoreVerifier({ identity: f.identity, issuer: f.identityProvider, trustRoot: f.trustRoot ? loadTrustRoot(f.trustRoot) : defaultTrustRoot() });
  }
  if (f.trustRoot) throw new PerimeterError('PERIM_E_USAGE', '--trust-root goes with --identity and --identity-provider');
  return undefined;
}

export function parseFlops(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const n = Number(s);
  if (s.trim() === '' || !Number.isFinite(n) || n < 0) throw new PerimeterError('PERIM_E_USAGE', `--training-flops must be a non-negative number (e.g. 3.8e25), got "${s}"`);
  return n;
}

async function withStore<T>(flags: DbFlags, fn: (store: Store) => Promise<T>): Promise<T> {
  const [{ openStoreRetrying }, { resolveDbTarget }] = await Promise.all([import('../../registry/db.ts'), import('../../store/store.ts')]);
  const store = await openStoreRetrying(resolveDbTarget(flags.db));
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

const actor = (): string => {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli';
  }
};

async function runRegister(modelPath: string, f: RegisterFlags): Promise<void> {
  const out = { json: f.json === true };
  const bar = progressBar('hashing', out);
  try {
    const verifier = await verifierFromFlags(f);
    const trainingFlops = parseFlops(f.trainingFlops);
    const [{ AuditLog }, { registerModel }, { renderRegister }] = await Promise.all([import('../../audit/log.ts'), import('../../registry/register.ts'), import('./registry-format.ts')]);
    const r = await withStore(f, async (store) => {
      const log = await AuditLog.open(store);
      try {
        return await registerModel(store, log, modelPath, {
          name: f.name,
          license: f.license,
          parents: f.parent,
          kind: f.kind,
          signaturePath: f.signature,
          verifier,
          trainingFlops,
          actor: actor(),
          onProgress: bar.update,
        });
      } finally {
        await log.close();
      }
    });
    bar.finish();
    const failed = [...(r.signature.status === 'invalid' ? ['signature'] : []), ...(r.scan.failed ? ['scan'] : [])];
    if (out.json) printJson({ ok: failed.length === 0, failedChecks: failed, ...r });
    else process.stdout.write(renderRegister(r));
    process.exitCode = failed.length ? EXIT.FAILED : EXIT.OK;
  } catch (e) {
    bar.finish();
    process.exitCode = reportError(e, out, false);
  }
}

export function registerRegistry(program: Command): void {
  addDbFlag(
    program
      .command('register')
      .description('record a model in the inventory: root digest, scan, signature, metadata and lineage (exit 1 when its signature or scan fails; it is recorded all the same)')
      .argument('<MODEL_PATH>', 'model folder or single file')
      .option('--name <name>', 'artifact name, e.g. the model id (default: the folder or file name)')
      .option('--license <spdx>', 'license, an SPDX id or expression (default: what the model says)')
      .option('--parent <name|digest>', 'the model this one derives from; repeat for a merge (default: what the model says)', collect)
      .addOption(new Option('--kind <kind>', 'what the artifact is (default: inferred)').choices(KINDS))
      .option('--training-flops <n>', "training compute in FLOP: a base model's own, a derivative's modification")
      .option('--signature <path>', 'the bundle (default: MODEL_PATH/model.sig, or FILE.sig)')
      .option('--public-key <pem>', "verify the signature with this signer's public key")
      .option('--certificate-chain <pem>', 'verify against these trust anchor certificates; repeatable', collect)
      .option('--identity <id>', 'verify a Sigstore signature from this identity')
      .option('--identity-provider <url>', 'the OIDC issuer for --identity')
      .option('--trust-root <file>', 'Sigstore trusted_root.json (default: the public-good root shipped with Perimeter)')
      .option('--json', 'print the result as JSON'),
  ).action((m: string, f: RegisterFlags) => runRegister(m, f));

  addDbFlag(
    program
      .command('lineage')
      .description('show where an artifact comes from and what derives from it, with the EU AI Act modification estimate per edge')
      .argument('<NAME|DIGEST>', 'artifact name, digest or digest prefix')
      .option('--json', 'print the result as JSON'),
  ).action(async (ref: string, f: DbFlags & { json?: boolean }) => {
    const out = { json: f.json === true };
    try {
      const [{ lineage }, { renderLineage }] = await Promise.all([import('../../registry/lineage.ts'), import('./registry-format.ts')]);
      const r = await withStore(f, (s) => lineage(s, ref));
      if (out.json) printJson({ ok: true, ...r });
      else process.stdout.write(renderLineage(r));
      process.exitCode = EXIT.OK;
    } catch (e) {
      process.exitCode = reportError(e, out, false);
    }
  });

  addDbFlag(
    program
      .command('inventory')
      .description('every artifact (digest, name, kind, parent, license, signer, scan, admitted environments) and every runtime with what it serves')
      .option('--json', 'print the inventory as JSON (full values)'),
  ).action(async (f: DbFlags & { json?: boolean }) => {
    // --json: the database's bytes to stdout (bin/perimeter.js takes the same path without commander).
    if (f.json === true) return void (process.exitCode = await (await import('./registry-inventory.ts')).runInventoryJson(f.db));
    try {
      const [{ inventory }, { renderInventory }] = await Promise.all([import('../../registry/inventory.ts'), import('./registry-format.ts')]);
      process.stdout.write(renderInventory(await withStore(f, (s) => inventory(s))));
      process.exitCode = EXIT.OK;
    } catch (e) {
      process.exitCode = reportError(e, { json: false }, false);
    }
  });

  addDbFlag(
    program
      .command('bom')
      .description('export the inventory as a CycloneDX 1.6 JSON BOM: models (with lineage pedigree) and runtimes')
      .option('--json', 'CycloneDX JSON (the default and only format)')
      .option('--out <file>', 'write the BOM to this file instead of standard output'),
  ).action(async (f: DbFlags & { json?: boolean; out?: string }) => {
    const out = { json: true };
    try {
      const { buildBom } = await import('../../registry/bom.ts');
      const bom = await withStore(f, (s) => buildBom(s));
      const text = JSON.stringify(bom, null, 2) + '\n';
      if (f.out) {
        try {
          writeFileSync(f.out, text);
        } catch (e) {
          throw new PerimeterError('PERIM_E_IO', `cannot write ${f.out}`, { cause: e });
        }
        process.stderr.write(`wrote ${f.out}: CycloneDX 1.6, ${(bom.components as unknown[]).length} components\n`);
      } else process.stdout.write(text);
      process.exitCode = EXIT.OK;
    } catch (e) {
      process.exitCode = reportError(e, out, false);
    }
  });
}
