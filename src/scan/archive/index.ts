/** The archive readers: zip (read the way PyTorch reads it), tar, gzip, and 7z / bzip2 / xz through a WebAssembly 7-Zip. */
export { gzipScanner } from './gzip.ts';
/** 7z, and bzip2/xz streams, through a WebAssembly 7-Zip. */
export { sevenZipScanner } from './sevenzip.ts';
export { tarScanner } from './tar.ts';
export { zipScanner } from './zip.ts';
