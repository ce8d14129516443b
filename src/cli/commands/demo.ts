/**
 * `perimeter demo`: the README's first command. Builds a small model and a throwaway key, then
 * hashes, signs and verifies it, and shows that tampering is refused, printing every check; then
 * admits it and puts the gateway in front of a simulated runtime (demo-gateway.ts).
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { hashModel } from '../../artifact/hash.ts';
import { asPerimeterError, type ErrorCode } from '../../errors/errors.ts';
import { KeySigner, KeyVerifier } from '../../signing/key-method.ts';
import { signModel, verifyModel } from '../../signing/model.ts';
import { gatewayDemo } from './demo-gateway.ts';
import { EXIT, bold, dim, formatBytes, green, printJson, red } from '../output.ts';

/** A tiny but well-formed safetensors file: two F32 tensors. */
function safetensors(): Buffer {
  const a = Buffer.alloc(64 * 64 * 4);
  const b = Buffer.alloc(64 * 4);
  for (let i = 0; i < a.length / 4; i++) a.writeFloatLE(Math.sin(i) / 8, i * 4);
  for (let i = 0; i < b.length / 4; i++) b.writeFloatLE(0.01 * i, i * 4);
  const header = JSON.stringify({
    __metadata__: { format: 'pt' },
    'layers.0.weight': { dtype: 'F32', shape: [64, 64], data_offsets: [0, a.length] },
    'layers.0.bias': { dtype: 'F32', shape: [64], data_offsets: [a.length, a.length + b.length] },
  });
  const padded = header.padEnd(Math.ceil(header.length / 8) * 8, ' ');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(padded.length));
  return Buffer.concat([len, Buffer.from(padded), a, b]);
}

export function writeDemoModel(dir: string): void {
  mkdirSync(join(dir, '.git'), { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: 64, num_hidden_layers: 1 }, null, 2));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ chat_template: "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}" }, null, 2));
  writeFileSync(join(dir, 'model.safetensors'), safetensors());
  writeFileSync(join(dir, 'README.md'), '# tiny-demo\nA 17 KB stand-in model made by `perimeter demo`.\n');
  writeFileSync(join(dir, '.git', 'HEAD'), 'ref: refs/heads/main\n');
}

interface Step {
  step: string;
  expected: 'valid' | ErrorCode;
  got: 'valid' | ErrorCode;
  detail: string;
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('sign and verify a small generated model, show tampering refused, then admit it and run the gateway in front of a simulated runtime')
    .option('--dir <dir>', 'where to create the demo (default: a new temporary folder)')
    .option('--keep', 'keep the demo folder afterwards')
    .option('--json', 'print the steps as JSON')
    .action(async (flags: { dir?: string; keep?: boolean; json?: boolean }) => {
      const base = flags.dir ? resolve(flags.dir) : mkdtempSync(join(tmpdir(), 'perimeter-demo-'));
      const model = join(base, 'tiny-demo');
      const say = (s: string): void => void (flags.json || process.stdout.write(s + '\n'));
      const steps: Step[] = [];
      try {
        mkdirSync(base, { recursive: true });
        writeDemoModel(model);
        const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
        const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
        mkdirSync(join(base, 'keys'), { recursive: true });
        writeFileSync(join(base, 'keys', 'signing-key.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
        writeFileSync(join(base, 'keys', 'signing-key.pub.pem'), publicKey.export({ type: 'spki', format: 'pem' }));

        say(bold('Perimeter demo: sign and verify a model (OpenSSF Model Signing v1.0)'));
        say(dim(`  model  ${model}`));
        say(dim(`  key    throwaway EC P-256 key in ${join(base, 'keys')}`));

        const h = await hashModel(model);
        say(`\n1. hash    ${h.manifest.rootDigest}`);
        say(dim(`           ${h.manifest.resources.map((r) => r.name).join(', ')} (${formatBytes(h.bytes)}); .git left out by default`));

        const s = await signModel(model, new KeySigner(privateKey));
        say(`2. sign    bundle written to ${s.signaturePath}`);

        const verifier = new KeyVerifier(publicKey);
        const attempt = async (label: string, expected: Step['expected'], v = verifier): Promise<void> => {
          let got: Step['got'] = 'valid';
          let detail = '';
          try {
            const r = await verifyModel(model, v);
            detail = r.checks.join('; ');
            if (!flags.json) for (const c of r.checks) say(`           ${green('✔')} ${c}`);
          } catch (e) {
            const err = asPerimeterError(e);
            got = err.code;
            detail = err.message;
          }
          const okay = got === expected;
          steps.push({ step: label, expected, got, detail });
          if (got !== 'valid') say(`           ${okay ? green('✔ refused') : red('✘ UNEXPECTED')} [${got}] ${detail}`);
          else if (!okay) say(`           ${red('✘ UNEXPECTED: accepted')}`);
        };

        say('3. verify  the signed model with the right public key');
        await attempt('verify', 'valid');

        const weights = join(model, 'model.safetensors');
        const original = readFileSync(weights);
        const tampered = Buffer.from(original);
        tampered[tampered.length - 1]! ^= 0x01;
        writeFileSync(weights, tampered);
        say('4. tamper  flip one bit in model.safetensors, verify again');
        await attempt('tampered weights', 'PERIM_E_MODEL_MISMATCH');
        writeFileSync(weights, original);

        writeFileSync(join(model, 'extra.py'), `print(${JSON.stringify(randomBytes(4).toString('hex'))})\n`);
        say('5. add     drop an unsigned extra.py into the model, verify again');
        await attempt('unsigned file', 'PERIM_E_MODEL_MISMATCH');
        rmSync(join(model, 'extra.py'));

        say('6. key     verify with somebody else\'s public key');
        await attempt('wrong key', 'PERIM_E_KEY_MISMATCH', new KeyVerifier(other));

        const gw = await gatewayDemo({ base, model, publicKey, say, mark: (ok) => (ok ? green('✔') : red('✘ UNEXPECTED')) });
        const passed = steps.every((x) => x.got === x.expected) && gw.every((x) => x.got === x.expected);
        if (flags.json) printJson({ ok: passed, model, rootDigest: h.manifest.rootDigest, signature: s.signaturePath, steps, gateway: gw });
        else say(passed ? `\n${green('✔')} demo passed: the signed model verified, all 3 tampering cases were refused, and the gateway allowed, refused, redacted, cut and recorded as it should.` : `\n${red('✘')} demo FAILED: see the steps above.`);
        if (flags.keep || flags.dir) say(dim(`  kept ${base}`));
        process.exitCode = passed ? EXIT.OK : EXIT.FAILED;
      } catch (e) {
        const err = asPerimeterError(e);
        process.stderr.write(`${red('✘')} demo error [${err.code}]: ${err.message}\n`);
        process.exitCode = EXIT.USAGE;
      } finally {
        if (!flags.keep && !flags.dir) rmSync(base, { recursive: true, force: true });
      }
    });
}
