/** Format detection by content; names are used only where a format has no magic (ONNX, SavedModel, code). */
import { OPCODES } from './pickle/opcodes.ts';
import type { Blob, FormatId } from './types.ts';

const startsWith = (b: Buffer, sig: number[], at = 0): boolean => b.length >= at + sig.length && sig.every((x, i) => b[at + i] === x);
const ascii = (b: Buffer, s: string, at = 0): boolean => b.length >= at + s.length && b.toString('latin1', at, at + s.length) === s;

/**
 * pickle.load accepts a stream without a PROTO opcode that starts with any opcode (even protocol 4
 * ones such as SHORT_BINUNICODE), so content starting with any opcode byte is probed. The probe
 * stays silent unless the content turns out to import something, so text files cost little.
 */
const PICKLE_START: ReadonlySet<number> = new Set(OPCODES.flatMap((o, code) => (o ? [code] : [])));

function tarChecksumOk(h: Buffer): boolean {
  if (h.length < 512) return false;
  const field = h.toString('latin1', 148, 156).replace(/[\0 ]+$/g, '').trim();
  if (!/^[0-7]{1,8}$/.test(field)) return false;
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
  return sum === parseInt(field, 8);
}

export function detectFormat(blob: Blob, name: string): FormatId {
  const head = blob.read(0, 512);
  const lower = name.toLowerCase();
  const base = lower.slice(lower.lastIndexOf('/') + 1);
  if (startsWith(head, [0x50, 0x4b, 0x03, 0x04]) || startsWith(head, [0x50, 0x4b, 0x05, 0x06]) || startsWith(head, [0x50, 0x4b, 0x07, 0x08])) return 'zip';
  if (startsWith(head, [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c])) return '7z';
  if (startsWith(head, [0x1f, 0x8b])) return 'gzip';
  if (ascii(head, 'BZh') && head.length > 3 && head[3]! >= 0x31 && head[3]! <= 0x39) return 'bzip2';
  if (startsWith(head, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) return 'xz';
  if (startsWith(head, [0x93]) && ascii(head, 'NUMPY', 1)) return 'numpy';
  if (ascii(head, 'GGUF')) return 'gguf';
  if (startsWith(head, [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a])) return 'hdf5';
  if (head.length >= 2 && head[0] === 0x80 && head[1]! >= 2 && head[1]! <= 5) return 'pickle';
  if (head.length >= 9) {
    const n = head.readBigUInt64LE(0);
    if (n > 1n && n <= BigInt(Math.max(0, blob.size - 8)) && head[8] === 0x7b /* { */) return 'safetensors';
  }
  if (ascii(head, 'ustar', 257) || tarChecksumOk(head)) return 'tar';
  // Named like a model format but without its signature: the format's scanner reports why (never silently clean).
  if (base.endsWith('.safetensors')) return 'safetensors';
  if (base.endsWith('.gguf')) return 'gguf';
  if (base.endsWith('.npy')) return 'numpy';
  if (base.endsWith('.h5') || base.endsWith('.hdf5')) return 'hdf5';
  if (base === 'saved_model.pb') return 'tf-savedmodel';
  if (base.endsWith('.onnx')) return 'onnx';
  if (base.endsWith('.py')) return /(^|\/)code\//.test(lower) ? 'torchscript-code' : 'python-source';
  // Jinja templates are text of any shape; the json scanner checks them as templates. A .json that is
  // not JSON goes there too: for model configs that is a finding, for other JSON it is ignored.
  if (base.endsWith('.jinja') || base.endsWith('.j2') || base === 'chat_template' || base.endsWith('.json')) return 'json';
  if (head.length > 0 && PICKLE_START.has(head[0]!)) return 'pickle-probe';
  return 'unknown';
}
