import type { Command } from 'commander';

/** Placeholder: the doctor commands are being written. */
export function registerDoctor(program: Command): void {
  void program;
}
