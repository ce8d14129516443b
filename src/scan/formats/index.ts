import type { FormatScanner } from '../types.ts';

const todo: FormatScanner = { async scan() {} };
/** Placeholders until the format scanners land. */
export const numpyScanner = todo;
export const safetensorsScanner = todo;
export const ggufScanner = todo;
export const hdf5Scanner = todo;
export const onnxScanner = todo;
export const savedModelScanner = todo;
export const jsonScanner = todo;
export const torchscriptCodeScanner = todo;
export const pythonSourceScanner = todo;
