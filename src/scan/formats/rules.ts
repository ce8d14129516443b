import type { RuleTable } from '../rule.ts';

const NOT_CLEAN = 'A loader would refuse this file, or read it differently from Perimeter; do not load it until it is regenerated from a trusted source.';

/** Rules of the model-format scanners (everything but pickle and archives). */
export const FORMATS_RULES: RuleTable = {
  // NumPy
  NUMPY_MALFORMED: { severity: 'suspicious', title: 'NumPy array file that cannot be fully validated', remediation: NOT_CLEAN },
  NUMPY_OBJECT_ARRAY: {
    severity: 'suspicious',
    title: 'NumPy object array: loading it needs allow_pickle=True and unpickles its data',
    remediation: 'Object arrays are pickles; load them only from a trusted source, or re-save the data with a numeric dtype.',
  },
  NUMPY_TRAILING_DATA: { severity: 'low', title: 'Bytes after the end of the NumPy array data', remediation: 'numpy ignores trailing bytes; they may hide another payload. Re-save the array.' },

  // safetensors
  SAFETENSORS_MALFORMED: { severity: 'suspicious', title: 'safetensors file that breaks the format rules', remediation: NOT_CLEAN },
  SAFETENSORS_UNUSUAL: { severity: 'low', title: 'safetensors header with unusual content', remediation: 'The loader accepts it, but writers never produce it; check where the file came from.' },
  SAFETENSORS_TEMPLATE_METADATA: { severity: 'info', title: 'safetensors metadata value that looks like a Jinja template', remediation: 'No action unless a template finding accompanies it.' },

  // GGUF
  GGUF_MALFORMED: { severity: 'suspicious', title: 'GGUF file that breaks the format rules llama.cpp enforces', remediation: NOT_CLEAN },
  GGUF_UNSUPPORTED: { severity: 'suspicious', title: 'GGUF version the scanner cannot read', remediation: 'Convert the model to GGUF v3 with current tools and scan again.' },
  GGUF_HEADER_TOO_LARGE: { severity: 'suspicious', title: 'GGUF header larger than the scan limit', remediation: 'The metadata (and any chat template in it) was not fully read; raise --max-bytes if you trust the source.' },

  // Jinja chat templates
  TEMPLATE_DUNDER_ACCESS: {
    severity: 'dangerous',
    title: 'Chat template reaches Python internals through underscore attributes',
    remediation: 'Sandbox escapes in Jinja go through attributes like __class__ or __globals__; no chat template needs them. Remove the template or the model.',
  },
  TEMPLATE_DANGEROUS_CALL: { severity: 'dangerous', title: 'Chat template names a process, file or code-execution function', remediation: 'A chat template only formats messages; remove the template or the model.' },
  TEMPLATE_DUNDER_STRING: {
    severity: 'suspicious',
    title: 'Chat template spells a dunder name in a string (literally, by concatenation or with escapes)',
    remediation: 'Building names like "__class__" out of pieces is how template payloads dodge filters; inspect the template before use.',
  },
  TEMPLATE_GADGET: {
    severity: 'suspicious',
    title: 'Chat template uses an object that is a known sandbox-escape gadget',
    remediation: 'self, lipsum, cycler, joiner, config and request have no use in chat formatting; inspect the template.',
  },
  TEMPLATE_INCLUDE: { severity: 'suspicious', title: 'Chat template loads other templates', remediation: 'include, import and extends have no place in a chat template; inspect it.' },
  TEMPLATE_DOS: { severity: 'low', title: 'Chat template that may exhaust CPU or memory when rendered', remediation: 'Huge ranges, repeated strings or deeply nested loops can stall the server; inspect the template.' },
  TEMPLATE_TOO_LARGE: { severity: 'suspicious', title: 'Chat template larger than the scanner reads', remediation: 'Only the beginning was checked; real chat templates are a few kilobytes.' },
  TEMPLATE_UNPARSEABLE: { severity: 'suspicious', title: 'Chat template the scanner cannot parse', remediation: 'A template Perimeter cannot read was not fully checked; inspect it before use.' },

  // JSON and Keras
  JSON_MALFORMED: { severity: 'suspicious', title: 'Model configuration that is not valid JSON', remediation: NOT_CLEAN },
  JSON_TOO_LARGE: { severity: 'suspicious', title: 'JSON file larger than the scan limit', remediation: 'It was not read; raise --max-bytes if you trust the source.' },
  JSON_AUTO_MAP: {
    severity: 'low',
    title: 'Configuration maps classes to custom code (auto_map)',
    remediation: 'transformers imports this code when trust_remote_code=True; review the named Python files before enabling it.',
  },
  KERAS_LAMBDA: {
    severity: 'dangerous',
    title: 'Keras Lambda layer or serialized lambda (marshalled Python bytecode)',
    remediation: 'The function runs when the model is loaded with safe_mode=False or called; rebuild the model without Lambda layers.',
  },
  KERAS_UNSAFE_MODULE: { severity: 'dangerous', title: 'Keras config names a system module or built-in that can run code', remediation: 'Keras imports the named module on load; remove the model.' },
  KERAS_CUSTOM_OBJECT: {
    severity: 'suspicious',
    title: 'Keras config needs custom objects from outside Keras',
    remediation: 'Loading imports the named module or needs custom_objects; review that code before loading.',
  },
  KERAS_TF_OP_LAMBDA: { severity: 'low', title: 'Keras config calls TensorFlow functions by name (TFOpLambda)', remediation: 'Usually harmless; check the function names in the evidence.' },
  KERAS_CONFIG_ONLY: { severity: 'info', title: 'HDF5 file: only the Keras model configuration was checked', remediation: 'No action needed; HDF5 weights hold no code, and the config was checked where found.' },
  KERAS_H5_LIMIT: { severity: 'suspicious', title: 'HDF5 file too large to search for its Keras config', remediation: 'Raise --max-bytes to search the whole file, or inspect the model config by other means.' },

  // TensorFlow SavedModel
  TF_MALFORMED: { severity: 'suspicious', title: 'SavedModel protobuf that cannot be parsed', remediation: NOT_CLEAN },
  TF_PYFUNC: { severity: 'dangerous', title: 'SavedModel graph calls Python (PyFunc)', remediation: 'py_func ops run arbitrary Python registered in the process; do not serve this graph.' },
  TF_FILE_IO: { severity: 'low', title: 'SavedModel graph reads or writes files when run', remediation: 'Check the op list in the evidence; a served model rarely needs file I/O.' },

  // ONNX
  ONNX_MALFORMED: { severity: 'suspicious', title: 'ONNX protobuf that cannot be parsed', remediation: NOT_CLEAN },
  ONNX_EXTERNAL_DATA_PATH: {
    severity: 'dangerous',
    title: 'ONNX external data points outside the model folder',
    remediation: 'Loading reads that file into a tensor (arbitrary file read). Remove the model.',
  },
  ONNX_CUSTOM_DOMAIN: { severity: 'low', title: 'ONNX graph uses operators from a custom domain', remediation: 'Custom ops need a native library registered at load; check where it comes from.' },

  // Code
  CODE_TORCHSCRIPT: { severity: 'info', title: 'TorchScript code in the archive', remediation: 'No action needed; TorchScript runs in its own interpreter.' },
  CODE_TORCHSCRIPT_IO: { severity: 'suspicious', title: 'TorchScript code reaches file or process APIs', remediation: 'Check the calls in the evidence before loading the model with torch.jit.load.' },
  CODE_PYTHON_SOURCE: {
    severity: 'low',
    title: 'Python source in the model: custom code that trust_remote_code would execute',
    remediation: 'Review the code before enabling trust_remote_code; prefer models that need none.',
  },
};
