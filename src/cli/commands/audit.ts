import type { Command } from 'commander';

/** Placeholder: the audit commands are being written. */
export function registerAudit(program: Command): void {
  void program;
}
