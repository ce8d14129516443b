/** Which scanner handles which detected format. */
import { gzipScanner, sevenZipScanner, tarScanner, zipScanner } from './archive/index.ts';
import {
  ggufScanner,
  hdf5Scanner,
  jsonScanner,
  numpyScanner,
  onnxScanner,
  pythonSourceScanner,
  safetensorsScanner,
  savedModelScanner,
  torchscriptCodeScanner,
} from './formats/index.ts';
import { pickleProbeScanner, pickleScanner } from './pickle/scanner.ts';
import type { FormatId, FormatScanner } from './types.ts';

export const SCANNERS: Readonly<Record<Exclude<FormatId, 'unknown'>, FormatScanner>> = {
  pickle: pickleScanner,
  'pickle-probe': pickleProbeScanner,
  zip: zipScanner,
  tar: tarScanner,
  gzip: gzipScanner,
  bzip2: sevenZipScanner,
  xz: sevenZipScanner,
  '7z': sevenZipScanner,
  numpy: numpyScanner,
  safetensors: safetensorsScanner,
  gguf: ggufScanner,
  hdf5: hdf5Scanner,
  onnx: onnxScanner,
  'tf-savedmodel': savedModelScanner,
  json: jsonScanner,
  'torchscript-code': torchscriptCodeScanner,
  'python-source': pythonSourceScanner,
};
