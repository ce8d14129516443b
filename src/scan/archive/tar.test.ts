import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeTar } from '../../../test/corpus/tar-writer.ts';
import { BufferBlob } from '../blob.ts';
import type { ScanLimits } from '../types.ts';
import { parsePax, tarNumber, tarScanner } from './tar.ts';
import { BENIGN_PICKLE, EVIL_PICKLE, RecordingContext } from './test-context.ts';

async function scan(buf: Buffer, limits: Partial<ScanLimits> = {}): Promise<RecordingContext> {
  const ctx = new RecordingContext({ name: 'model.tar', limits });
  await tarScanner.scan(new BufferBlob(buf), ctx);
  return ctx;
}
const ids = (ctx: RecordingContext): string[] => ctx.findings.map((f) => f.ruleId).sort();

describe('tar', () => {
  it('hands over the members of a legacy PyTorch tar by content', async () => {
    const ctx = await scan(makeTar([
      { name: 'sys_info', data: BENIGN_PICKLE },
      { name: 'pickle', data: EVIL_PICKLE },
      { name: 'storages', data: Buffer.alloc(1000) },
      { name: 'tensors', data: BENIGN_PICKLE },
    ]));
    assert.deepEqual(ids(ctx), []);
    assert.deepEqual(ctx.members.map((m) => m.name), ['sys_info', 'pickle', 'storages', 'tensors']);
    assert.deepEqual(ctx.get('pickle')!.bytes, EVIL_PICKLE);
    assert.equal(ctx.get('pickle')!.format, 'pickle');
    assert.equal(ctx.get('storages')!.size, 1000);
  });

  it('reads GNU long names, pax paths and ustar prefixes', async () => {
    const long = 'deep/' + 'x'.repeat(150) + '/data.pkl';
    const paxName = 'pax/' + 'y'.repeat(140) + '/p.pkl';
    const ctx = await scan(makeTar([
      { name: long, data: EVIL_PICKLE },
      { name: paxName, data: EVIL_PICKLE, longName: 'pax' },
      { name: 'file.pkl', prefix: 'some/prefix', data: BENIGN_PICKLE },
    ]));
    assert.deepEqual(ids(ctx), []);
    assert.deepEqual(ctx.members.map((m) => m.name), [long, paxName, 'some/prefix/file.pkl']);
    assert.deepEqual(ctx.get(long)!.bytes, EVIL_PICKLE);
  });

  it('honours a pax size over the header size, and base-256 sizes', async () => {
    const ctx = await scan(makeTar([
      { name: 'a.pkl', data: EVIL_PICKLE, size: 3, pax: { size: String(EVIL_PICKLE.length) } },
      { name: 'b.pkl', data: EVIL_PICKLE, base256: true, size: EVIL_PICKLE.length },
    ]));
    assert.deepEqual(ids(ctx), []);
    assert.deepEqual(ctx.get('a.pkl')!.bytes, EVIL_PICKLE);
    assert.deepEqual(ctx.get('b.pkl')!.bytes, EVIL_PICKLE);
  });

  it('reports links: low inside the folder, unsafe when they escape', async () => {
    const ctx = await scan(makeTar([
      { name: 'a/link', type: '2', linkName: 'b.bin' },
      { name: 'a/hard', type: '1', linkName: 'a/b.bin' },
      { name: 'a/out', type: '2', linkName: '../../etc/passwd' },
      { name: 'a/abs', type: '2', linkName: '/etc/passwd' },
    ]));
    assert.equal(ctx.rule('ARCHIVE_LINK').length, 2);
    assert.ok(ctx.rule('ARCHIVE_LINK').every((f) => f.severity === 'low'));
    assert.equal(ctx.rule('ARCHIVE_UNSAFE_PATH').length, 2);
    assert.equal(ctx.members.length, 0);
  });

  it('reports ".." and absolute names but still scans them', async () => {
    const ctx = await scan(makeTar([{ name: '../../x.pkl', data: EVIL_PICKLE }, { name: '/abs.pkl', data: 'x' }, { name: 'ok/file..pkl', data: 'x' }]));
    assert.equal(ctx.rule('ARCHIVE_UNSAFE_PATH').length, 2);
    assert.equal(ctx.members.length, 3);
  });

  it('does not treat the data of a folder or link entry as data (as Python tarfile)', async () => {
    // A folder entry that claims 512 bytes: tarfile reads the next block as a header, and so do we.
    const ctx = await scan(makeTar([{ name: 'dir/', type: '5', size: 512 }, { name: 'dir/x.pkl', data: EVIL_PICKLE }]));
    assert.deepEqual(ids(ctx), []);
    assert.deepEqual(ctx.get('dir/x.pkl')!.bytes, EVIL_PICKLE);
  });

  it('reports a bad checksum and stops there', async () => {
    const ctx = await scan(makeTar([{ name: 'a.pkl', data: BENIGN_PICKLE }, { name: 'b.pkl', data: EVIL_PICKLE, badChecksum: true }]));
    assert.deepEqual(ids(ctx), ['ARCHIVE_MALFORMED']);
    assert.deepEqual(ctx.members.map((m) => m.name), ['a.pkl']);
  });

  it('reports truncation and scans what is there', async () => {
    const tar = makeTar([{ name: 'a.pkl', data: Buffer.concat([EVIL_PICKLE, Buffer.alloc(2000)]) }]);
    const ctx = await scan(tar.subarray(0, 1024));
    assert.ok(ctx.rule('ARCHIVE_MALFORMED').length >= 1);
    assert.deepEqual(ctx.get('a.pkl')!.bytes.subarray(0, EVIL_PICKLE.length), EVIL_PICKLE);
    const noEnd = await scan(makeTar([{ name: 'a', data: 'x' }], { end: false }));
    assert.equal(noEnd.rule('ARCHIVE_MALFORMED').length, 1);
  });

  it('reports sparse members as unsupported', async () => {
    const ctx = await scan(makeTar([{ name: 's', data: 'x', type: 'S', size: 1 }, { name: 'p', data: 'y', pax: { 'GNU.sparse.size': '100' } }]));
    assert.equal(ctx.rule('ARCHIVE_UNSUPPORTED_METHOD').length, 2);
  });

  it('stops at maxMembers', async () => {
    const ctx = await scan(makeTar(Array.from({ length: 30 }, (_, i) => ({ name: `f${i}`, data: 'x' }))), { maxMembers: 5 });
    assert.equal(ctx.rule('SCAN_LIMIT').length, 1);
    assert.equal(ctx.members.length, 5);
  });

  it('parses numbers and pax records strictly', () => {
    assert.equal(tarNumber(Buffer.from('0000644\0')), 0o644);
    assert.equal(tarNumber(Buffer.from('  12 \0')), 10);
    assert.equal(tarNumber(Buffer.from('9\0')), undefined);
    const b256 = Buffer.alloc(12);
    b256[0] = 0x80;
    b256.writeUInt32BE(5_000_000_000 % 2 ** 32, 8);
    b256[7] = 1;
    assert.equal(tarNumber(b256), 5_000_000_000);
    assert.deepEqual(parsePax(Buffer.from('12 path=abc\n')), new Map([['path', 'abc']]));
    assert.equal(parsePax(Buffer.from('99 path=abc\n')), undefined);
    assert.equal(parsePax(Buffer.from('x path=abc\n')), undefined);
  });
});
