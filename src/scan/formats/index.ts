/** The model-format scanners (everything but pickle and archives), by the names scanners.ts uses. */
export { numpyScanner } from './numpy.ts';
export { safetensorsScanner } from './safetensors.ts';
export { ggufScanner } from './gguf.ts';
export { hdf5Scanner } from './hdf5.ts';
export { onnxScanner } from './onnx.ts';
export { savedModelScanner } from './savedmodel.ts';
export { jsonScanner } from './json.ts';
export { torchscriptCodeScanner, pythonSourceScanner } from './code.ts';
export { analyzeTemplate, reportTemplate } from './template.ts';
