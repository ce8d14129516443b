import type { Command } from 'commander';

/** Placeholder: the serve commands are being written. */
export function registerServe(program: Command): void {
  void program;
}
