/** perimeter keys create|list|revoke (placeholder until src/gateway/identity lands). */
import type { Command } from 'commander';
export function registerKeys(_program: Command): void {}
