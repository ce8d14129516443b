import type { Command } from 'commander';

/** Placeholder: the registry commands are being written. */
export function registerRegistry(program: Command): void {
  void program;
}
