import type { Command } from 'commander';

/** Placeholder: the admit commands are being written. */
export function registerAdmit(program: Command): void {
  void program;
}
