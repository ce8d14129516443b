import type { FormatScanner } from '../types.ts';

/** Placeholder until the pickle analyser lands. */
export const pickleScanner: FormatScanner = { async scan() {} };
export const pickleProbeScanner: FormatScanner = { async scan() {} };
