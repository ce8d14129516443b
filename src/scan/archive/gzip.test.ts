import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { makeTar } from '../../../test/corpus/tar-writer.ts';
import { BufferBlob } from '../blob.ts';
import type { ScanLimits } from '../types.ts';
import { gunzippedName, gzipScanner } from './gzip.ts';
import { EVIL_PICKLE, RecordingContext } from './test-context.ts';

const MiB = 1024 * 1024;

async function scan(buf: Buffer, name = 'model.pkl.gz', limits: Partial<ScanLimits> = {}, recurse = false): Promise<RecordingContext> {
  const ctx = new RecordingContext({ name, limits, recurse });
  await gzipScanner.scan(new BufferBlob(buf), ctx);
  return ctx;
}
const ids = (ctx: RecordingContext): string[] => ctx.findings.map((f) => f.ruleId).sort();

describe('gzip', () => {
  it('inflates and hands over the content under the name without .gz', async () => {
    const ctx = await scan(gzipSync(EVIL_PICKLE));
    assert.deepEqual(ids(ctx), []);
    assert.equal(ctx.members.length, 1);
    assert.equal(ctx.members[0]!.name, 'model.pkl');
    assert.equal(ctx.members[0]!.format, 'pickle');
    assert.deepEqual(ctx.members[0]!.bytes, EVIL_PICKLE);
  });

  it('reads multi-member gzip as one stream', async () => {
    const half = EVIL_PICKLE.length >> 1;
    const ctx = await scan(Buffer.concat([gzipSync(EVIL_PICKLE.subarray(0, half)), gzipSync(EVIL_PICKLE.subarray(half))]));
    assert.deepEqual(ids(ctx), []);
    assert.deepEqual(ctx.members[0]!.bytes, EVIL_PICKLE);
  });

  it('recurses into a .tgz as a tar', async () => {
    const ctx = await scan(gzipSync(makeTar([{ name: 'pickle', data: EVIL_PICKLE }])), 'legacy.tgz', {}, true);
    assert.deepEqual(ids(ctx), []);
    assert.equal(ctx.members[0]!.name, 'legacy.tar');
    assert.equal(ctx.members[0]!.format, 'tar');
    assert.deepEqual(ctx.get('pickle')!.path, ['legacy.tar', 'pickle']);
    assert.deepEqual(ctx.get('pickle')!.bytes, EVIL_PICKLE);
  });

  it('reports a truncated stream and scans the bytes before the cut', async () => {
    const gz = gzipSync(Buffer.concat([EVIL_PICKLE, Buffer.from('x'.repeat(50_000))]), { level: 1 });
    const ctx = await scan(gz.subarray(0, gz.length - 20));
    assert.deepEqual(ids(ctx), ['ARCHIVE_MALFORMED']);
    assert.deepEqual(ctx.members[0]!.bytes.subarray(0, EVIL_PICKLE.length), EVIL_PICKLE);
  });

  it('reports corrupt data and a bad header', async () => {
    const gz = gzipSync(EVIL_PICKLE);
    gz[12] = gz[12]! ^ 0xff;
    const ctx = await scan(gz);
    assert.ok(ctx.rule('ARCHIVE_MALFORMED').length >= 1);
    const short = await scan(Buffer.from([0x1f, 0x8b, 8, 0]));
    assert.deepEqual(ids(short), ['ARCHIVE_MALFORMED']);
    assert.equal(short.members.length, 0);
  });

  it('stops a gzip bomb at the ratio limit', async () => {
    const gz = gzipSync(Buffer.alloc(200 * MiB));
    const ctx = await scan(gz);
    assert.deepEqual(ids(ctx), ['SCAN_LIMIT']);
    // Stopped within one output chunk of 200 x the compressed size, far short of 200 MiB.
    assert.ok(ctx.consumed <= gz.length * 200 + 64 * 1024, `inflated ${ctx.consumed}`);
    assert.throws(() => ctx.members[0]!.blob.read(100 * MiB, 1), /only the first/);
  });

  it('stops at maxBytes and at the byte budget', async () => {
    const data = Buffer.from(Array.from({ length: 300_000 }, (_, i) => `row ${i}\n`).join(''));
    const big = await scan(gzipSync(data), 'x.gz', { maxBytes: MiB });
    assert.deepEqual(ids(big), ['SCAN_LIMIT']);
    assert.equal(big.members[0]!.bytes.length, MiB);
    const budget = await scan(gzipSync(data), 'x.gz', { maxTotalBytes: MiB });
    assert.deepEqual(ids(budget), ['SCAN_LIMIT']);
    assert.ok(budget.consumed < 2 * MiB);
  });

  it('names the content', () => {
    assert.equal(gunzippedName('a/model.PT.GZ', Buffer.alloc(0)), 'a/model.PT');
    assert.equal(gunzippedName('x.tgz', Buffer.alloc(0)), 'x.tar');
    const withName = gzipSync('x');
    const h = Buffer.concat([withName.subarray(0, 10), Buffer.from('inner.pkl\0'), withName.subarray(10)]);
    h[3] = 0x08;
    assert.equal(gunzippedName('blob', h), 'inner.pkl');
    assert.equal(gunzippedName('blob', withName), 'blob');
  });
});
