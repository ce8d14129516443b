/** Option parsing shared by hash, sign and verify. */
import { Option, type Command } from 'commander';
import { PerimeterError } from '../../errors/errors.ts';
import type { HashOptions } from '../../artifact/hash.ts';
import { HASH_ALGORITHMS, type HashAlgorithm, type SerializationMethod } from '../../artifact/manifest.ts';
import { resolveCliIgnorePaths } from '../../artifact/walk.ts';

export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export interface HashFlags {
  method?: string;
  hash?: string;
  shardSize?: string;
  ignorePaths?: string[];
  allowSymlinks?: boolean;
  ignoreGitPaths?: boolean;
  json?: boolean;
}

export function addHashFlags(cmd: Command): Command {
  return cmd
    .addOption(new Option('--method <method>', 'serialization: whole files, or fixed-size shards of files').choices(['files', 'shards']).default('files'))
    .addOption(new Option('--hash <algorithm>', 'hash for each file or shard (the root digest is always sha256)').choices([...HASH_ALGORITHMS]).default('sha256'))
    .option('--shard-size <bytes>', 'shard size for --method shards', '1000000000')
    .option('--allow-symlinks', 'follow symbolic links that stay inside the model', false)
    .option('--no-ignore-git-paths', 'also hash .git, .gitattributes, .github and .gitignore at the model root');
}

export function addIgnoreFlag(cmd: Command): Command {
  return cmd.option('--ignore-paths <path>', 'leave this path out (absolute, or relative to the current folder); repeatable', collect, []);
}

export function hashOptionsFrom(modelPath: string, flags: HashFlags): HashOptions {
  const shardSize = Number(flags.shardSize ?? '1000000000');
  if (!/^[1-9][0-9]*$/.test(String(flags.shardSize ?? '1000000000')) || !Number.isSafeInteger(shardSize)) {
    throw new PerimeterError('PERIM_E_USAGE', `--shard-size must be a positive whole number of bytes, got "${flags.shardSize}"`);
  }
  return {
    method: (flags.method ?? 'files') as SerializationMethod,
    hashAlgorithm: (flags.hash ?? 'sha256') as HashAlgorithm,
    shardSize,
    ignorePaths: resolveCliIgnorePaths(modelPath, flags.ignorePaths ?? []),
    allowSymlinks: flags.allowSymlinks ?? false,
    ignoreGitPaths: flags.ignoreGitPaths ?? true,
  };
}
