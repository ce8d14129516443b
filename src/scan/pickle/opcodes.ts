/**
 * Every pickle opcode of protocols 0-5, as CPython's Lib/pickletools.py documents them: the byte,
 * its name, how its argument is encoded, and the protocol that introduced it.
 * Python's unpickler accepts any opcode whatever PROTO said, so the protocol is informative only.
 */

/** How an opcode's inline argument is laid out after the opcode byte. */
export type ArgKind =
  | 'none'
  | 'uint1' // 1 byte unsigned
  | 'uint2' // 2 bytes little-endian unsigned
  | 'int4' // 4 bytes little-endian signed
  | 'uint4' // 4 bytes little-endian unsigned
  | 'uint8' // 8 bytes little-endian unsigned
  | 'float8' // 8 bytes big-endian IEEE double
  | 'long1' // uint1 length, then that many bytes of two's complement little-endian
  | 'long4' // int4 length (>= 0), then that many bytes
  | 'decimalnl_short' // ASCII integer (or 00/01 for booleans) up to a newline
  | 'decimalnl_long' // ASCII integer with an optional trailing L, up to a newline
  | 'floatnl' // ASCII float up to a newline
  | 'stringnl' // a quoted Python 2 str repr with escapes, up to a newline
  | 'stringnl_noescape' // raw text up to a newline (PERSID)
  | 'stringnl_noescape_pair' // two such lines: module, then name (GLOBAL, INST)
  | 'unicodestringnl' // raw-unicode-escape text up to a newline
  | 'string1' // uint1 length + bytes (a Python 2 str)
  | 'string4' // int4 length (>= 0) + bytes
  | 'bytes1'
  | 'bytes4' // uint4 length + bytes
  | 'bytes8' // uint8 length + bytes
  | 'bytearray8'
  | 'unicodestring1' // uint1 length + UTF-8
  | 'unicodestring4' // uint4 length + UTF-8
  | 'unicodestring8'; // uint8 length + UTF-8

export interface OpcodeInfo {
  readonly code: number;
  readonly name: string;
  readonly arg: ArgKind;
  readonly proto: number;
}

const TABLE: ReadonlyArray<readonly [string, string, ArgKind, number]> = [
  // integers
  ['I', 'INT', 'decimalnl_short', 0],
  ['J', 'BININT', 'int4', 1],
  ['K', 'BININT1', 'uint1', 1],
  ['M', 'BININT2', 'uint2', 1],
  ['L', 'LONG', 'decimalnl_long', 0],
  ['\x8a', 'LONG1', 'long1', 2],
  ['\x8b', 'LONG4', 'long4', 2],
  // strings and bytes
  ['S', 'STRING', 'stringnl', 0],
  ['T', 'BINSTRING', 'string4', 1],
  ['U', 'SHORT_BINSTRING', 'string1', 1],
  ['B', 'BINBYTES', 'bytes4', 3],
  ['C', 'SHORT_BINBYTES', 'bytes1', 3],
  ['\x8e', 'BINBYTES8', 'bytes8', 4],
  ['\x96', 'BYTEARRAY8', 'bytearray8', 5],
  ['\x97', 'NEXT_BUFFER', 'none', 5],
  ['\x98', 'READONLY_BUFFER', 'none', 5],
  ['N', 'NONE', 'none', 0],
  ['\x88', 'NEWTRUE', 'none', 2],
  ['\x89', 'NEWFALSE', 'none', 2],
  ['V', 'UNICODE', 'unicodestringnl', 0],
  ['\x8c', 'SHORT_BINUNICODE', 'unicodestring1', 4],
  ['X', 'BINUNICODE', 'unicodestring4', 1],
  ['\x8d', 'BINUNICODE8', 'unicodestring8', 4],
  ['F', 'FLOAT', 'floatnl', 0],
  ['G', 'BINFLOAT', 'float8', 1],
  // containers
  [']', 'EMPTY_LIST', 'none', 1],
  ['a', 'APPEND', 'none', 0],
  ['e', 'APPENDS', 'none', 1],
  ['l', 'LIST', 'none', 0],
  [')', 'EMPTY_TUPLE', 'none', 1],
  ['t', 'TUPLE', 'none', 0],
  ['\x85', 'TUPLE1', 'none', 2],
  ['\x86', 'TUPLE2', 'none', 2],
  ['\x87', 'TUPLE3', 'none', 2],
  ['}', 'EMPTY_DICT', 'none', 1],
  ['d', 'DICT', 'none', 0],
  ['s', 'SETITEM', 'none', 0],
  ['u', 'SETITEMS', 'none', 1],
  ['\x8f', 'EMPTY_SET', 'none', 4],
  ['\x90', 'ADDITEMS', 'none', 4],
  ['\x91', 'FROZENSET', 'none', 4],
  // stack and memo
  ['0', 'POP', 'none', 0],
  ['2', 'DUP', 'none', 0],
  ['(', 'MARK', 'none', 0],
  ['1', 'POP_MARK', 'none', 1],
  ['g', 'GET', 'decimalnl_short', 0],
  ['h', 'BINGET', 'uint1', 1],
  ['j', 'LONG_BINGET', 'uint4', 1],
  ['p', 'PUT', 'decimalnl_short', 0],
  ['q', 'BINPUT', 'uint1', 1],
  ['r', 'LONG_BINPUT', 'uint4', 1],
  ['\x94', 'MEMOIZE', 'none', 4],
  // objects and code
  ['\x82', 'EXT1', 'uint1', 2],
  ['\x83', 'EXT2', 'uint2', 2],
  ['\x84', 'EXT4', 'int4', 2],
  ['c', 'GLOBAL', 'stringnl_noescape_pair', 0],
  ['\x93', 'STACK_GLOBAL', 'none', 4],
  ['R', 'REDUCE', 'none', 0],
  ['b', 'BUILD', 'none', 0],
  ['i', 'INST', 'stringnl_noescape_pair', 0],
  ['o', 'OBJ', 'none', 1],
  ['\x81', 'NEWOBJ', 'none', 2],
  ['\x92', 'NEWOBJ_EX', 'none', 4],
  // machine control
  ['\x80', 'PROTO', 'uint1', 2],
  ['.', 'STOP', 'none', 0],
  ['\x95', 'FRAME', 'uint8', 4],
  ['P', 'PERSID', 'stringnl_noescape', 0],
  ['Q', 'BINPERSID', 'none', 1],
];

/** Opcode info by byte value; undefined for bytes that are not opcodes. */
export const OPCODES: ReadonlyArray<OpcodeInfo | undefined> = (() => {
  const t: (OpcodeInfo | undefined)[] = new Array(256).fill(undefined);
  for (const [ch, name, arg, proto] of TABLE) {
    const code = ch.charCodeAt(0);
    t[code] = Object.freeze({ code, name, arg, proto });
  }
  return Object.freeze(t);
})();

/** Opcode byte by name, e.g. OP.GLOBAL === 0x63. */
export const OP: Readonly<Record<string, number>> = Object.freeze(Object.fromEntries(TABLE.map(([ch, name]) => [name, ch.charCodeAt(0)])));

export const HIGHEST_PROTOCOL = 5;

/** "GLOBAL" for 0x63, "0xff" for a byte that is not an opcode. */
export function opName(code: number): string {
  return OPCODES[code]?.name ?? `0x${code.toString(16).padStart(2, '0')}`;
}

/** Bytes a protocol 0/1 pickle can start with (mirrors detect.ts, for trailing-data probing). */
export const PROTO01_START: ReadonlySet<number> = new Set([...'(]})cNILFSVTUGJKMdlt'].map((c) => c.charCodeAt(0)));
