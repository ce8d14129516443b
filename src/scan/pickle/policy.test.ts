import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ALLOWED_GLOBALS, DENIED, classifyGlobal, resolvedName } from './policy.ts';

const plain = { torchscript: false };
const ts = { torchscript: true };
const kind = (m: string, n: string, ctx = plain): string => {
  const v = classifyGlobal(m, n, ctx);
  return v.kind === 'deny' || v.kind === 'nested' ? `${v.kind}:${v.severity}` : v.kind;
};

test('what ML loading needs is allowed', () => {
  for (const [m, n] of [
    ['torch._utils', '_rebuild_tensor_v2'], ['torch._utils', '_rebuild_parameter'], ['torch._utils', '_rebuild_qtensor'],
    ['torch._tensor', '_rebuild_from_type_v2'], ['torch', 'FloatStorage'], ['torch', 'BFloat16Storage'], ['torch.cuda', 'HalfStorage'],
    ['torch', 'Size'], ['torch', 'device'], ['torch', 'bfloat16'], ['torch', 'float8_e4m3fn'], ['collections', 'OrderedDict'],
    ['builtins', 'set'], ['__builtin__', 'frozenset'], ['builtins', 'bytearray'], ['builtins', 'slice'], ['builtins', 'complex'], ['builtins', 'range'],
    ['_codecs', 'encode'], ['numpy.core.multiarray', '_reconstruct'], ['numpy._core.multiarray', '_reconstruct'], ['numpy', 'ndarray'],
    ['numpy', 'dtype'], ['numpy.core.multiarray', 'scalar'], ['joblib.numpy_pickle', 'NumpyArrayWrapper'], ['copy_reg', '_reconstructor'],
    ['torch.serialization', '_get_layout'], // allowed exactly, although torch.serialization is denied
  ]) assert.equal(kind(m!, n!), 'allow', `${m}.${n}`);
  assert.ok(ALLOWED_GLOBALS.size > 100);
});

test('denied by module prefix, so submodules and protocol 4 dotted names count', () => {
  for (const [m, n] of [
    ['os', 'system'], ['os.path', 'join'], ['posix', 'system'], ['nt', 'system'], ['subprocess', 'Popen'], ['pip', 'main'], ['pip._internal.cli.main', 'main'],
    ['asyncio.unix_events', '_UnixSubprocessTransport'], ['builtins', 'eval'], ['builtins', 'exec'], ['builtins', 'getattr'], ['__builtin__', 'compile'],
    ['builtins', '__import__'], ['builtins', 'open'], ['builtins', 'breakpoint'], ['runpy', '_run_code'], ['pty', 'spawn'], ['socket', 'create_connection'],
    ['shutil', 'rmtree'], ['webbrowser', 'open'], ['ctypes', 'CDLL'], ['importlib', 'import_module'], ['marshal', 'loads'], ['types', 'CodeType'],
    ['operator', 'attrgetter'], ['_operator', 'methodcaller'], ['functools', 'partial'], ['pkgutil', 'resolve_name'], ['torch.hub', 'load'], ['torch', 'hub.load'],
    ['torch.jit', 'load'], ['torch._inductor.codecache', 'compile_file'], ['torch', 'load'], ['torch.serialization', 'load'], ['sys', 'modules'],
    ['code', 'InteractiveInterpreter.runcode'], ['pdb', 'run'], ['timeit', 'timeit'], ['multiprocessing.util', 'spawnv_passfds'], ['signal', 'signal'],
    ['urllib.request', 'urlopen'], ['http.client', 'HTTPSConnection'], ['requests.api', 'get'], ['ftplib', 'FTP'], ['pickle', 'loads'], ['_pickle', 'loads'],
    ['dill', 'loads'], ['cloudpickle', 'loads'], ['numpy', 'load'], ['numpy.f2py', 'compile'], ['numpy.testing._private.utils', 'runstring'],
    ['io', 'open'], ['_io', 'FileIO'], ['fcntl', 'ioctl'], ['tempfile', 'mkstemp'], ['commands', 'getoutput'], ['copyreg', 'add_extension'],
    ['_posixsubprocess', 'fork_exec'], ['pydoc', 'locate'], ['torch.fx.graph_module', 'reduce_graph_module'], ['logging.config', 'listen'],
  ]) assert.equal(kind(m!, n!), 'deny:dangerous', `${m}.${n}`);
  assert.equal(kind('glob', 'glob'), 'deny:suspicious');
});

test('Python 2 names are mapped as the unpickler maps them', () => {
  assert.equal(resolvedName('__builtin__', 'eval'), 'builtins.eval');
  assert.equal(resolvedName('__builtin__', 'reduce'), 'functools.reduce');
  assert.equal(kind('__builtin__', 'reduce'), 'deny:dangerous');
  assert.equal(resolvedName('copy_reg', '_reconstructor'), 'copyreg._reconstructor');
  assert.equal(kind('__builtin__', 'xrange'), 'allow');
  assert.equal(resolvedName('mypkg', 'x'), 'mypkg.x');
});

test('dunder walks and pathlib methods are dangerous; lookalikes are not allowed', () => {
  assert.equal(kind('builtins', 'object.__subclasses__'), 'deny:dangerous');
  assert.equal(kind('torch', 'Tensor.__reduce_ex__'), 'deny:dangerous');
  assert.equal(kind('pathlib', 'Path.write_text'), 'deny:dangerous');
  assert.equal(kind('pathlib', 'PosixPath'), 'allow');
  assert.equal(kind('torch._utils', '_rebuild_tensor_v2.__globals__'), 'deny:dangerous');
  assert.equal(kind('torch._utils', '_rebuild_tensor_v9'), 'unknown');
  assert.equal(kind('ostrich', 'system'), 'unknown'); // prefix match stops at a dot boundary
  assert.equal(kind('torchvision.models', 'resnet50'), 'unknown');
});

test('anything on neither list is unknown', () => {
  for (const [m, n] of [['sklearn.linear_model._base', 'LinearRegression'], ['__main__', 'MyModel'], ['torch.nn.modules.linear', 'Linear'], ['builtins', 'print']]) {
    assert.equal(kind(m!, n!), 'unknown', `${m}.${n}`);
  }
});

test('TorchScript helpers: allowed inside TorchScript archives, suspicious outside; the rest of torch.jit stays dangerous', () => {
  assert.equal(kind('torch.jit._pickle', 'build_intlist', ts), 'allow');
  assert.equal(kind('__torch__.model', 'Net', ts), 'allow');
  assert.equal(kind('torch.jit._pickle', 'build_intlist'), 'deny:suspicious');
  assert.equal(kind('__torch__.model', 'Net'), 'unknown');
  assert.equal(kind('torch.jit', 'load', ts), 'deny:dangerous');
  assert.equal(kind('os', 'system', ts), 'deny:dangerous');
});

test('torch.storage._load_from_bytes is a nested load (suspicious); pickle.loads is denied outright', () => {
  assert.equal(kind('torch.storage', '_load_from_bytes'), 'nested:suspicious');
  assert.equal(kind('pickle', 'loads'), 'deny:dangerous');
});

test('deny entries are well formed', () => {
  for (const d of DENIED) {
    assert.match(d.prefix, /^[A-Za-z_][\w.]*[A-Za-z0-9_]$/, d.prefix);
    assert.ok(!ALLOWED_GLOBALS.has(d.prefix) || d.prefix === 'torch.serialization', d.prefix);
  }
});
