/**
 * Which globals a pickle may import. Three tiers:
 * - ALLOWED: exact dotted names that ML loading needs (tensor rebuild functions, storages,
 *   dtypes, numpy arrays, a few plain containers). Nothing on it runs arbitrary code.
 * - DENIED: module or attribute prefixes known to run code, touch files or the network, or load
 *   another pickle, with a severity. "os" covers os.system and os.path.*; "torch.hub" covers
 *   torch.hub.load whether written as module torch.hub or as the protocol 4 name "hub.load".
 * - everything else is unknown: importing it runs module code we have not vetted (suspicious).
 * Names are checked as Python resolves them: Python 2 names mapped as _compat_pickle does, and a
 * protocol 4 dotted name ("object.__subclasses__") walked; a dunder step is always dangerous.
 */
import type { Severity } from '../types.ts';

export type Verdict =
  | { kind: 'allow' }
  | { kind: 'deny'; severity: Severity; why: string; matched: string }
  | { kind: 'unknown' }
  /** A function that unpickles bytes it is given (torch.storage._load_from_bytes): scan them as a nested pickle. */
  | { kind: 'nested'; severity: Severity; why: string };

export interface PolicyContext {
  /** Inside a TorchScript archive (a .pkl member of an archive): __torch__ classes and torch.jit._pickle helpers are expected. */
  torchscript: boolean;
}

const TORCH_DTYPES = [
  'float32', 'float', 'float64', 'double', 'float16', 'half', 'bfloat16', 'complex32', 'chalf', 'complex64', 'cfloat',
  'complex128', 'cdouble', 'uint8', 'uint16', 'uint32', 'uint64', 'int8', 'int16', 'short', 'int32', 'int', 'int64', 'long',
  'bool', 'quint8', 'qint8', 'qint32', 'quint4x2', 'quint2x4', 'float8_e4m3fn', 'float8_e5m2', 'float8_e4m3fnuz',
  'float8_e5m2fnuz', 'float8_e8m0fnu', 'float4_e2m1fn_x2', 'bits8', 'bits16',
];
const TORCH_STORAGES = [
  'Double', 'Float', 'Half', 'Long', 'Int', 'Short', 'Char', 'Byte', 'Bool', 'BFloat16', 'ComplexDouble', 'ComplexFloat',
  'QUInt8', 'QInt8', 'QInt32', 'QUInt4x2', 'QUInt2x4',
].map((t) => `${t}Storage`);
const TORCH_REBUILD = [
  '_rebuild_tensor', '_rebuild_tensor_v2', '_rebuild_tensor_v3', '_rebuild_parameter', '_rebuild_parameter_with_state',
  '_rebuild_qtensor', '_rebuild_sparse_tensor', '_rebuild_nested_tensor', '_rebuild_meta_tensor_no_storage',
  '_rebuild_wrapper_subclass', '_rebuild_device_tensor_from_numpy', '_rebuild_device_tensor_from_cpu_tensor',
];
const TORCH_ENUMS = [
  'strided', 'sparse_coo', 'sparse_csr', 'sparse_csc', 'sparse_bsr', 'sparse_bsc', '_mkldnn', 'jagged', // layouts
  'contiguous_format', 'channels_last', 'channels_last_3d', 'preserve_format', // memory formats
  'per_tensor_affine', 'per_channel_affine', 'per_tensor_symmetric', 'per_channel_symmetric', 'per_channel_affine_float_qparams',
];

/** Exact dotted names a weights file may import. */
export const ALLOWED_GLOBALS: ReadonlySet<string> = new Set([
  ...TORCH_REBUILD.map((f) => `torch._utils.${f}`),
  'torch._tensor._rebuild_from_type', 'torch._tensor._rebuild_from_type_v2',
  ...TORCH_STORAGES.flatMap((s) => [`torch.${s}`, `torch.cuda.${s}`]),
  'torch.UntypedStorage', 'torch.TypedStorage', 'torch.storage.UntypedStorage', 'torch.storage.TypedStorage',
  ...[...TORCH_DTYPES, ...TORCH_ENUMS].map((d) => `torch.${d}`),
  'torch.Size', 'torch.Tensor', 'torch.device', 'torch.nn.parameter.Parameter', 'torch.nn.parameter.Buffer',
  'torch.serialization._get_layout', 'torch.torch_version.TorchVersion',
  'collections.OrderedDict', 'collections.defaultdict', 'collections.deque', 'collections.Counter',
  ...['set', 'frozenset', 'bytearray', 'bytes', 'slice', 'complex', 'range', 'object', 'int', 'float', 'str', 'bool', 'list', 'dict', 'tuple', 'Ellipsis', 'NotImplemented'].map((b) => `builtins.${b}`),
  '_codecs.encode', 'codecs.encode',
  'copyreg._reconstructor', 'copyreg.__newobj__', 'copyreg.__newobj_ex__',
  ...['numpy.core', 'numpy._core'].flatMap((m) => [`${m}.multiarray._reconstruct`, `${m}.multiarray.scalar`, `${m}.numeric._frombuffer`]),
  'numpy.ndarray', 'numpy.dtype',
  'joblib.numpy_pickle.NumpyArrayWrapper',
  'datetime.datetime', 'datetime.date', 'datetime.time', 'datetime.timedelta', 'datetime.timezone',
  'decimal.Decimal', 'fractions.Fraction', 'argparse.Namespace', 'types.SimpleNamespace',
  ...['Path', 'PosixPath', 'WindowsPath', 'PurePath', 'PurePosixPath', 'PureWindowsPath'].map((p) => `pathlib.${p}`),
]);

/** Prefixes allowed only inside TorchScript archives. */
export const TORCHSCRIPT_ALLOWED_PREFIXES: readonly string[] = ['__torch__.', 'torch.jit._pickle.'];

export interface DenyEntry {
  /** Dotted prefix, matched at a dot boundary against module.name. */
  prefix: string;
  severity: Severity;
  why: string;
}

const deny = (severity: Severity, why: string, prefixes: string[]): DenyEntry[] => prefixes.map((prefix) => ({ prefix, severity, why }));
const each = (mod: string, names: string[]): string[] => names.map((n) => `${mod}.${n}`);

export const DENIED: readonly DenyEntry[] = [
  ...deny('dangerous', 'runs operating-system commands', ['os', 'posix', 'nt', 'subprocess', '_posixsubprocess', '_winapi', 'commands', 'popen2', 'pty', 'platform', 'pip', 'ensurepip', 'venv', 'setuptools', 'distutils', 'webbrowser']),
  ...deny('dangerous', 'runs Python code', ['runpy', 'code', 'codeop', 'pdb', 'bdb', 'timeit', 'trace', 'profile', 'cProfile', 'doctest', 'idlelib', 'lib2to3', 'pydoc', 'logging.config', 'numpy.f2py', 'numpy.testing', 'numpy.distutils']),
  ...deny('dangerous', 'runs Python code', each('builtins', ['exec', 'eval', 'compile', 'execfile', 'apply', 'breakpoint', 'input', 'raw_input', 'help', 'exit', 'quit'])),
  ...deny('dangerous', 'reaches arbitrary objects (a gadget for calling anything)', [
    ...each('builtins', ['getattr', 'setattr', 'delattr', '__import__', 'globals', 'locals', 'vars', 'reload']),
    ...each('operator', ['attrgetter', 'itemgetter', 'methodcaller', 'call']), ...each('_operator', ['attrgetter', 'itemgetter', 'methodcaller', 'call']),
    ...each('functools', ['partial', 'reduce', 'partialmethod']), ...each('_functools', ['partial', 'reduce']),
    ...each('types', ['CodeType', 'FunctionType', 'LambdaType', 'MethodType', 'ModuleType']),
    'importlib', 'imp', 'zipimport', 'pkgutil', 'sys', 'marshal', '_thread', 'thread', 'multiprocessing', 'concurrent', 'signal', 'asyncio', 'gc',
    ...each('copyreg', ['add_extension', '_extension_registry', '_inverted_registry', '_extension_cache', 'dispatch_table']), '_compat_pickle',
  ]),
  ...deny('dangerous', 'loads native code', ['ctypes', '_ctypes', 'cffi', 'numpy.ctypeslib', 'torch.utils.cpp_extension', 'torch._inductor']),
  ...deny('dangerous', 'opens network connections', ['socket', '_socket', 'ssl', 'urllib', 'urllib2', 'urllib3', 'http', 'httplib', 'requests', 'httpx', 'aiohttp', 'ftplib', 'smtplib', 'telnetlib', 'poplib', 'imaplib', 'nntplib', 'socketserver', 'xmlrpc', 'asyncore', 'asynchat', 'torch.distributed']),
  ...deny('dangerous', 'reads, writes or deletes files', ['shutil', 'tempfile', 'fcntl', 'builtins.open', 'builtins.file', ...each('io', ['open', 'open_code', 'FileIO']), ...each('_io', ['open', 'open_code', 'FileIO']), 'codecs.open', 'fileinput', 'torch.save', 'numpy.save', 'numpy.savez', 'numpy.savez_compressed', 'numpy.savetxt', 'numpy.ndarray.tofile', 'numpy.ndarray.dump']),
  ...deny('suspicious', 'lists files', ['glob']),
  ...deny('dangerous', 'loads another pickle or model file (code in it runs too)', [
    'pickle', '_pickle', 'cPickle', 'dill', 'cloudpickle', 'jsonpickle', 'shelve', 'yaml', 'joblib.load', 'joblib.numpy_pickle.load',
    'numpy.load', 'numpy.lib.npyio.load', 'numpy.lib._npyio_impl.load', 'pandas.read_pickle', 'pandas.io.pickle',
    'torch.load', 'torch.serialization', 'torch.hub', 'torch.package', 'torch.jit', 'torch.fx', 'torch._dynamo',
    'torch.utils._config_module', 'torch.utils.bottleneck', 'torch.utils.collect_env', 'torch.utils.data.datapipes.utils.decoder',
  ]),
  // Harmless TorchScript helpers, but only TorchScript archives have a reason to use them.
  ...deny('suspicious', 'is a TorchScript helper outside a TorchScript archive', ['torch.jit._pickle']),
];

const DENY_BY_PREFIX: ReadonlyMap<string, DenyEntry> = new Map(DENIED.map((d) => [d.prefix, d]));

/** Functions that unpickle their bytes argument: the bytes are scanned as a nested pickle. */
export const NESTED_LOADERS: ReadonlySet<string> = new Set([
  'torch.storage._load_from_bytes', 'pickle.loads', '_pickle.loads', 'dill.loads', 'dill._dill.loads', 'cloudpickle.loads',
]);

// Python 2 names the unpickler maps for protocols < 3 (a subset of CPython's _compat_pickle).
const MODULE_MAP: Readonly<Record<string, string>> = {
  __builtin__: 'builtins', copy_reg: 'copyreg', cPickle: 'pickle', exceptions: 'builtins', UserDict: 'collections',
  UserList: 'collections', UserString: 'collections', urllib2: 'urllib.request', urlparse: 'urllib.parse', httplib: 'http.client',
  commands: 'subprocess', thread: '_thread', Queue: 'queue', SocketServer: 'socketserver', cStringIO: 'io', StringIO: 'io',
  BaseHTTPServer: 'http.server', SimpleHTTPServer: 'http.server', CGIHTTPServer: 'http.server', xmlrpclib: 'xmlrpc.client',
  cookielib: 'http.cookiejar', Tkinter: 'tkinter',
};
const NAME_MAP: Readonly<Record<string, string>> = {
  '__builtin__.xrange': 'builtins.range', '__builtin__.reduce': 'functools.reduce', '__builtin__.intern': 'sys.intern',
  '__builtin__.unichr': 'builtins.chr', '__builtin__.unicode': 'builtins.str', '__builtin__.long': 'builtins.int',
  '__builtin__.basestring': 'builtins.str', '__builtin__.raw_input': 'builtins.input', 'itertools.izip': 'builtins.zip',
  'itertools.imap': 'builtins.map', 'itertools.ifilter': 'builtins.filter',
};

/** The dotted name Python resolves (module, then the name walked attribute by attribute), with Python 2 names mapped. */
export function resolvedName(module: string, name: string): string {
  const raw = `${module}.${name}`;
  const mapped = NAME_MAP[raw];
  if (mapped) return mapped;
  const m = MODULE_MAP[module];
  return m ? `${m}.${name}` : raw;
}

function denyLookup(full: string): DenyEntry | undefined {
  let best: DenyEntry | undefined;
  let i = full.indexOf('.');
  for (;;) {
    const hit = DENY_BY_PREFIX.get(i < 0 ? full : full.slice(0, i));
    if (hit) best = hit; // longer prefixes come later and win
    if (i < 0) return best;
    i = full.indexOf('.', i + 1);
  }
}

const DUNDER = /(^|\.)__[A-Za-z0-9_]+__($|\.)/;
const PATH_METHOD = /^pathlib\.(Pure)?(Posix|Windows)?Path\./;

function classifyUncached(module: string, name: string, torchscript: boolean): Verdict {
  const full = resolvedName(module, name);
  if (ALLOWED_GLOBALS.has(full)) return { kind: 'allow' };
  if (torchscript && TORCHSCRIPT_ALLOWED_PREFIXES.some((p) => full.startsWith(p))) return { kind: 'allow' };
  if (NESTED_LOADERS.has(full) && !denyLookup(full)) return { kind: 'nested', severity: 'suspicious', why: 'unpickles the bytes it is given (torch.load on embedded data)' };
  const d = denyLookup(full) ?? denyLookup(`${module}.${name}`);
  if (d) return { kind: 'deny', severity: d.severity, why: d.why, matched: d.prefix };
  if (DUNDER.test(name)) return { kind: 'deny', severity: 'dangerous', why: 'walks to a dunder attribute (object internals: a gadget for reaching anything)', matched: name };
  if (PATH_METHOD.test(full)) return { kind: 'deny', severity: 'dangerous', why: 'reads, writes or deletes files', matched: full };
  return { kind: 'unknown' };
}

const cache = new Map<string, Verdict>();

/** The verdict for importing `name` from `module`. */
export function classifyGlobal(module: string, name: string, ctx: PolicyContext): Verdict {
  const key = `${ctx.torchscript ? 1 : 0}\0${module}\0${name}`;
  let v = cache.get(key);
  if (!v) {
    v = classifyUncached(module, name, ctx.torchscript);
    if (cache.size > 10_000) cache.clear();
    cache.set(key, v);
  }
  return v;
}
