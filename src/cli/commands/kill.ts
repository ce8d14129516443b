/** perimeter kill, perimeter revive (placeholder until src/gateway/killswitch lands). */
import type { Command } from 'commander';
export function registerKill(_program: Command): void {}
