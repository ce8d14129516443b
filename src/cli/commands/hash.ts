import type { Command } from 'commander';
import { hashModel } from '../../artifact/hash.ts';
import { EXIT, dim, formatBytes, printJson, progressBar, reportError } from '../output.ts';
import { addHashFlags, addIgnoreFlag, hashOptionsFrom, type HashFlags } from './common.ts';

export function registerHash(program: Command): void {
  const cmd = program
    .command('hash')
    .description('compute the OMS manifest and root digest (sha256:<hex>) of a model folder or file')
    .argument('<MODEL_PATH>', 'model folder or single file')
    .option('--json', 'print the whole manifest as JSON');
  addHashFlags(cmd);
  addIgnoreFlag(cmd);
  cmd.action(async (modelPath: string, flags: HashFlags) => {
    const out = { json: flags.json === true };
    const bar = progressBar('hashing', out);
    try {
      const t0 = performance.now();
      const { manifest, bytes } = await hashModel(modelPath, { ...hashOptionsFrom(modelPath, flags), onProgress: bar.update });
      bar.finish();
      const seconds = (performance.now() - t0) / 1000;
      if (out.json) printJson({ ...manifest, bytes, seconds: +seconds.toFixed(3) });
      else {
        process.stdout.write(`${manifest.rootDigest}\n`);
        process.stderr.write(dim(`${manifest.resources.length} ${manifest.serialization.method === 'shards' ? 'shards' : 'files'}, ${formatBytes(bytes)} in ${seconds.toFixed(2)} s (${formatBytes(bytes / Math.max(seconds, 1e-6))}/s)\n`));
      }
      process.exitCode = EXIT.OK;
    } catch (e) {
      bar.finish();
      process.exitCode = reportError(e, out, false);
    }
  });
}
