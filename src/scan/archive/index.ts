import type { FormatScanner } from '../types.ts';

/** Placeholders until the archive readers land. */
export const zipScanner: FormatScanner = { async scan() {} };
export const tarScanner: FormatScanner = { async scan() {} };
export const gzipScanner: FormatScanner = { async scan() {} };
/** 7z, and bzip2/xz streams, through a WebAssembly 7-Zip. */
export const sevenZipScanner: FormatScanner = { async scan() {} };
