import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { make7z, setLzma2Dictionary } from '../../../test/corpus/sevenzip-writer.ts';
import { makeZip } from '../../../test/corpus/zip-writer.ts';
import { BufferBlob } from '../blob.ts';
import type { ScanLimits } from '../types.ts';
import { decoderMemory, parseSlt, sevenZipScanner } from './sevenzip.ts';
import { sevenZipHost } from './sevenzip-wasm.ts';
import { BENIGN_PICKLE, EVIL_PICKLE, RecordingContext } from './test-context.ts';

const MiB = 1024 * 1024;
const text = (n: number): Buffer => Buffer.from(Array.from({ length: Math.ceil(n / 16) }, (_, i) => `line ${i.toString(36).padStart(10, '0')}\n`).join('').slice(0, n), 'latin1');

async function scan(buf: Buffer, name = 'model.7z', limits: Partial<ScanLimits> = {}, recurse = false): Promise<RecordingContext> {
  const ctx = new RecordingContext({ name, limits, recurse });
  await sevenZipScanner.scan(new BufferBlob(buf), ctx);
  return ctx;
}
const ids = (ctx: RecordingContext): string[] => ctx.findings.map((f) => f.ruleId).sort();

describe('7z, bzip2 and xz through WebAssembly 7-Zip', () => {
  it('extracts a 7z and hands over each file by content', async () => {
    const ctx = await scan(await make7z({ 'models/evil.bin': EVIL_PICKLE, 'readme.txt': 'hello', 'models/ok.pkl': BENIGN_PICKLE }));
    assert.deepEqual(ids(ctx), []);
    assert.deepEqual(ctx.members.map((m) => m.name), ['models/evil.bin', 'models/ok.pkl', 'readme.txt']);
    assert.equal(ctx.get('models/evil.bin')!.format, 'pickle');
    assert.deepEqual(ctx.get('models/evil.bin')!.bytes, EVIL_PICKLE);
  });

  it('reports a truncated 7z as malformed', async () => {
    const full = await make7z({ 'evil.pkl': EVIL_PICKLE, 'pad.bin': text(100_000) });
    const ctx = await scan(full.subarray(0, full.length - 30));
    assert.deepEqual(ids(ctx), ['ARCHIVE_MALFORMED']);
    assert.match(ctx.findings[0]!.message, /7-Zip cannot read/);
  });

  it('inflates bzip2 and xz streams under the name without the extension', async () => {
    for (const [type, ext] of [['bzip2', 'bz2'], ['xz', 'xz']] as const) {
      const stream = await make7z({ 'model.pkl': EVIL_PICKLE }, { type });
      const ctx = await scan(stream, `model.pkl.${ext}`);
      assert.deepEqual(ids(ctx), [], type);
      assert.equal(ctx.members.length, 1);
      assert.equal(ctx.members[0]!.name, 'model.pkl');
      assert.deepEqual(ctx.members[0]!.bytes, EVIL_PICKLE);
    }
  });

  it('reports a truncated xz stream and still scans what was extracted', async () => {
    const stream = await make7z({ 'model.pkl': Buffer.concat([EVIL_PICKLE, text(400_000)]) }, { type: 'xz' });
    const ctx = await scan(stream.subarray(0, stream.length >> 1), 'model.pkl.xz');
    assert.ok(ctx.rule('ARCHIVE_MALFORMED').length >= 1, JSON.stringify(ctx.findings));
    assert.deepEqual(ctx.members[0]!.bytes.subarray(0, EVIL_PICKLE.length), EVIL_PICKLE);
  });

  it('refuses to extract a 7z whose declared sizes are a bomb', async () => {
    const ctx = await scan(await make7z({ 'zeros.bin': Buffer.alloc(32 * MiB) }));
    assert.deepEqual(ids(ctx), ['SCAN_LIMIT']);
    assert.equal(ctx.members.length, 0);
    assert.equal(ctx.consumed, 0);
  });

  it('stops a bzip2 bomb (no declared size) while extracting', async () => {
    const bomb = await make7z({ 'zeros.bin': Buffer.alloc(48 * MiB) }, { type: 'bzip2' });
    const ctx = await scan(bomb, 'zeros.bin.bz2');
    assert.deepEqual(ids(ctx), ['SCAN_LIMIT']);
    assert.ok(ctx.consumed <= Math.max(MiB, bomb.length * 200) + 4 * MiB, `inflated ${ctx.consumed}`);
  });

  it('enforces maxMembers and maxTotalBytes before extracting', async () => {
    const many = await make7z(Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`f${i}`, `x${i}`])));
    const a = await scan(many, 'm.7z', { maxMembers: 3 });
    assert.deepEqual(ids(a), ['SCAN_LIMIT']);
    assert.equal(a.members.length, 0);
    const b = await scan(await make7z({ big: text(2 * MiB) }), 'b.7z', { maxTotalBytes: MiB });
    assert.deepEqual(ids(b), ['SCAN_LIMIT']);
    assert.equal(b.members.length, 0);
  });

  it('keeps only the start of a member over maxBytes', async () => {
    const ctx = await scan(await make7z({ 'big.txt': text(3 * MiB), 'small.pkl': EVIL_PICKLE }), 'x.7z', { maxBytes: MiB });
    assert.deepEqual(ids(ctx), ['SCAN_LIMIT']);
    const big = ctx.get('big.txt')!;
    assert.equal(big.size, 3 * MiB);
    assert.deepEqual(big.bytes, text(3 * MiB).subarray(0, MiB));
    assert.throws(() => big.blob.read(2 * MiB, 1), /only the first/);
    assert.deepEqual(ctx.get('small.pkl')!.bytes, EVIL_PICKLE);
  });

  it('reports encrypted content, with and without encrypted names', async () => {
    const a = await scan(await make7z({ 'evil.pkl': EVIL_PICKLE }, { password: 'secret' }));
    assert.deepEqual(ids(a), ['ARCHIVE_ENCRYPTED']);
    const b = await scan(await make7z({ 'evil.pkl': EVIL_PICKLE }, { password: 'secret', encryptHeaders: true }));
    assert.deepEqual(ids(b), ['ARCHIVE_ENCRYPTED']);
    // 7-Zip gives up on encrypted names with an uncaught exception: the module is replaced, and works.
    const after = await scan(await make7z({ 'evil.pkl': EVIL_PICKLE }));
    assert.deepEqual(after.members[0]!.bytes, EVIL_PICKLE);
  });

  it('recurses into a zip inside a 7z', async () => {
    const ctx = await scan(await make7z({ 'model.pt': makeZip([{ name: 'archive/data.pkl', data: EVIL_PICKLE }]) }), 'm.7z', {}, true);
    assert.deepEqual(ids(ctx), []);
    assert.deepEqual(ctx.get('archive/data.pkl')!.path, ['model.pt', 'archive/data.pkl']);
  });

  it('leaves the process exit code alone, even when 7-Zip fails', async () => {
    const before = process.exitCode;
    await scan(Buffer.from('7z\xbc\xaf\x27\x1c garbage', 'latin1'));
    assert.equal(process.exitCode, before);
  });

  it('refuses archives whose decoder would need a huge dictionary', async () => {
    const ctx = await scan(await make7z({ 'a.pkl': EVIL_PICKLE }), 'x.7z', { maxBytes: 1024 });
    assert.equal(ctx.rule('SCAN_LIMIT').length, 0, 'the default 6m dictionary is under the 64 MiB floor');
    const plain = await make7z({ 'a.pkl': EVIL_PICKLE }, { method: 'LZMA2', plainHeader: true });
    const patched = await scan(setLzma2Dictionary(plain, 36)); // (2 | 0) << (18 + 11) = 1 GiB
    assert.deepEqual(ids(patched), ['SCAN_LIMIT']);
    assert.match(patched.findings[0]!.message, /1073741824 bytes of decoder memory/);
    assert.equal(patched.members.length, 0);
    const normal = await scan(plain);
    assert.deepEqual(ids(normal), []);
    assert.deepEqual(normal.members[0]!.bytes, EVIL_PICKLE);
    assert.equal(decoderMemory('Method = LZMA2:24\nMethod = LZMA:1536m BCJ\n'), 1536 * 1024 * 1024);
    assert.equal(decoderMemory('Method = PPMD:o32:mem2g 7zAES:19'), 2 * 1024 ** 3);
    assert.equal(decoderMemory('Method = LZMA2:6m\nMethod = LZMA2:26'), 2 ** 26);
    assert.equal(decoderMemory('Method = BZip2 Copy Deflate'), 0);
  });

  it('works in memory only: the real file system is not mounted', async () => {
    const host = await sevenZipHost();
    assert.deepEqual(host.listFiles(process.cwd()), []);
    assert.deepEqual(host.listFiles(new URL('.', import.meta.url).pathname), []);
    const job = host.mkdtemp();
    host.remove(job);
    assert.deepEqual(host.listFiles(job), []);
  });

  it('parses 7-Zip technical listings', () => {
    const out = 'Listing archive: x\n--\nPath = x\nType = 7z\n\n----------\nPath = a/b\nSize = 12\nPacked Size = 5\nFolder = -\nEncrypted = +\n\nPath = d\nFolder = +\nSize = 0\n';
    const p = parseSlt(out);
    assert.equal(p.type, '7z');
    assert.deepEqual(p.items, [
      { path: 'a/b', size: 12, packed: 5, folder: false, encrypted: true },
      { path: 'd', size: 0, folder: true, encrypted: false },
    ]);
    assert.deepEqual(parseSlt('no separator').items, []);
  });
});
