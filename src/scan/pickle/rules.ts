import type { RuleTable } from '../rule.ts';

const DO_NOT_LOAD =
  'Do not load this file with pickle, joblib or torch.load(weights_only=False). Get a safetensors copy from the publisher, or convert it in an isolated, disposable environment; torch.load(weights_only=True) refuses these globals.';

/** Rules of the pickle analyser (src/scan/pickle). Severities are defaults; a finding may be raised higher. */
export const PICKLE_RULES: RuleTable = {
  PICKLE_DANGEROUS_GLOBAL: {
    severity: 'dangerous',
    title: 'Pickle imports a global that runs code, touches files or the network',
    remediation: DO_NOT_LOAD,
  },
  PICKLE_UNKNOWN_GLOBAL: {
    severity: 'suspicious',
    title: 'Pickle imports a global outside the allow-list for model weights',
    remediation:
      'Importing a module runs its code. Check that the named module is one you expect (your own training code, scikit-learn, ...) from a publisher you trust. For weights, prefer safetensors or torch.load(weights_only=True), which refuses unknown globals.',
  },
  PICKLE_DYNAMIC_GLOBAL: {
    severity: 'dangerous',
    title: 'Pickle imports a name computed while loading',
    remediation: `No legitimate weights file computes the names it imports; this hides what it runs. ${DO_NOT_LOAD}`,
  },
  PICKLE_GLOBAL_MUTATION: {
    severity: 'dangerous',
    title: 'Pickle modifies an imported module or class',
    remediation: `The file patches Python objects in the loading process, which can turn a safe-looking call into any other. ${DO_NOT_LOAD}`,
  },
  PICKLE_INDIRECT_CALL: {
    severity: 'suspicious',
    title: 'Pickle calls the result of another call',
    remediation: 'Weights never call a computed callable; this is how gadget chains (attrgetter, getattr) reach code. Do not load the file until its origin is verified; prefer safetensors.',
  },
  PICKLE_NESTED_LOAD: {
    severity: 'suspicious',
    title: 'Pickle unpickles bytes embedded in it',
    remediation:
      'The embedded data is scanned as its own file (see the findings under this member). Re-save the checkpoint with a current torch.save from a trusted environment, or convert it to safetensors.',
  },
  PICKLE_EXTENSION_CODE: {
    severity: 'suspicious',
    title: 'Pickle imports a global through a copyreg extension code',
    remediation: 'Extension codes name globals registered by the loading program, so the scanner cannot tell what runs. Standard Python registers none; do not load the file unless you know which registry it expects.',
  },
  PICKLE_OUT_OF_BAND_BUFFER: {
    severity: 'suspicious',
    title: 'Pickle expects out-of-band buffers',
    remediation: 'Part of the data is supplied outside this file (protocol 5 buffers) and was not scanned. Re-save the object without buffer_callback, or ship it as safetensors.',
  },
  PICKLE_MALFORMED: {
    severity: 'suspicious',
    title: 'Pickle stream is malformed or truncated',
    remediation:
      'Python stops at the error, but everything before it has already run: a broken stream after a payload is how scanners were evaded (nullifAI). Do not load the file; fetch an intact copy from the publisher and scan it again.',
  },
  PICKLE_LIMIT: {
    severity: 'suspicious',
    title: 'Pickle too large to analyse within the limits',
    remediation: 'The part after the limit was not inspected. Raise --max-bytes (or the opcode limit) if you trust the source, or convert the file to safetensors.',
  },
  PICKLE_JOBLIB_ARRAY: {
    severity: 'suspicious',
    title: 'joblib array data whose length cannot be worked out',
    remediation: 'The rest of the file could not be located and was not inspected. Re-save it with a current joblib from a trusted environment, or store arrays as .npy/safetensors.',
  },
  PICKLE_TRAILING_DATA: {
    severity: 'info',
    title: 'Bytes after the last pickle',
    remediation: 'Python stops reading at the pickle\'s STOP, so these bytes do not run on load; check they are expected if the file should hold a single pickle.',
  },
};
