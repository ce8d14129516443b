import type { Command } from 'commander';

/** Placeholder: the runtime commands are being written. */
export function registerRuntime(program: Command): void {
  void program;
}
