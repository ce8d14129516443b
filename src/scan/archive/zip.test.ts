import { CountingBlob } from '../../../test/counting-blob.ts';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { deflateRawSync } from 'node:zlib';
import { makeZip, torchZipEntries, type ZipEntrySpec } from '../../../test/corpus/zip-writer.ts';
import { BufferBlob } from '../blob.ts';
import type { Blob, ScanLimits } from '../types.ts';
import { BENIGN_PICKLE, EVIL_PICKLE, RecordingContext } from './test-context.ts';
import { zipScanner } from './zip.ts';

const MiB = 1024 * 1024;


async function scan(buf: Buffer | Blob, limits: Partial<ScanLimits> = {}, readCap?: number): Promise<RecordingContext> {
  const ctx = new RecordingContext({ name: 'model.pt', limits, ...(readCap !== undefined ? { readCap } : {}) });
  await zipScanner.scan(Buffer.isBuffer(buf) ? new BufferBlob(buf) : buf, ctx);
  return ctx;
}

const ids = (ctx: RecordingContext): string[] => ctx.findings.map((f) => f.ruleId).sort();
/** Compressible but not trivially so (ratio well under 200). */
const text = (n: number): Buffer => Buffer.from(Array.from({ length: Math.ceil(n / 16) }, (_, i) => `line ${i.toString(36).padStart(10, '0')}\n`).join('').slice(0, n), 'latin1');

describe('zip: members are handed over by content', () => {
  it('hands over a stored pickle named data.txt without a copy or a finding', async () => {
    const ctx = await scan(makeZip([{ name: 'notes/data.txt', data: EVIL_PICKLE }]));
    assert.deepEqual(ids(ctx), []);
    const m = ctx.get('notes/data.txt');
    assert.ok(m);
    assert.equal(m.format, 'pickle');
    assert.deepEqual(m.bytes, EVIL_PICKLE);
  });

  it('hands over deflated and stored members alike, in directory order', async () => {
    const ctx = await scan(makeZip([
      { name: 'a/weights.bin', data: EVIL_PICKLE, method: 8 },
      { name: 'b/config.json', data: '{"a": 1}', method: 8 },
      { name: 'c/raw.bin', data: BENIGN_PICKLE },
    ]));
    assert.deepEqual(ids(ctx), []);
    assert.deepEqual(ctx.members.map((m) => m.name), ['a/weights.bin', 'b/config.json', 'c/raw.bin']);
    assert.deepEqual(ctx.get('a/weights.bin')!.bytes, EVIL_PICKLE);
    assert.equal(ctx.get('a/weights.bin')!.format, 'pickle');
    assert.equal(ctx.get('b/config.json')!.bytes.toString(), '{"a": 1}');
  });

  it('skips raw tensor storages of a PyTorch archive, counting them', async () => {
    const ctx = await scan(makeZip(torchZipEntries(EVIL_PICKLE, [Buffer.alloc(64), EVIL_PICKLE])));
    assert.deepEqual(ctx.members.map((m) => m.name).sort(), ['archive/.data/serialization_id', 'archive/byteorder', 'archive/data.pkl', 'archive/version']);
    const skipped = ctx.rule('ARCHIVE_TENSORS_SKIPPED');
    assert.equal(skipped.length, 1);
    assert.equal(skipped[0]!.severity, 'info');
    assert.equal(skipped[0]!.evidence, '2');
  });

  it('hands over data/<n> members when there is no data.pkl beside them', async () => {
    const ctx = await scan(makeZip([{ name: 'archive/data/0', data: EVIL_PICKLE }, { name: 'other/data.pkl', data: BENIGN_PICKLE }]));
    assert.ok(ctx.get('archive/data/0'));
    assert.equal(ctx.rule('ARCHIVE_TENSORS_SKIPPED').length, 0);
  });

  it('reads only headers of a PyTorch archive with a large stored storage', async () => {
    const zip = makeZip(torchZipEntries(BENIGN_PICKLE, [Buffer.alloc(24 * MiB), Buffer.alloc(8 * MiB)]), { zip64End: true });
    const blob = new CountingBlob(new BufferBlob(zip));
    const ctx = await scan(blob, {}, 64);
    assert.equal(ctx.rule('ARCHIVE_TENSORS_SKIPPED').length, 1);
    assert.ok(blob.bytesRead < 256 * 1024, `read ${blob.bytesRead} bytes`);
  });

  it('does not read a large stored non-tensor member just to check its CRC', async () => {
    const zip = makeZip([{ name: 'arrays/big.npy', data: Buffer.alloc(20 * MiB), crc: 1234 }]);
    const blob = new CountingBlob(new BufferBlob(zip));
    const ctx = await scan(blob, {}, 64);
    assert.equal(ctx.rule('ARCHIVE_EVASION').length, 0);
    assert.ok(blob.bytesRead < 256 * 1024);
    assert.equal(ctx.get('arrays/big.npy')!.size, 20 * MiB);
  });
});

describe('zip: what makes other readers disagree', () => {
  for (const [flag, label] of [[0x1, 'encrypted'], [0x20, 'patched'], [0x40, 'strong encryption']] as const) {
    it(`reports flag 0x${flag.toString(16)} (${label}) and still scans the member`, async () => {
      const ctx = await scan(makeZip([{ name: 'archive/data.pkl', data: EVIL_PICKLE, flags: flag }]));
      const ev = ctx.rule('ARCHIVE_EVASION');
      assert.equal(ev.length, 1);
      assert.equal(ev[0]!.severity, 'suspicious');
      assert.match(ev[0]!.evidence!, new RegExp(`flags=0x${flag.toString(16).padStart(4, '0')}`));
      assert.deepEqual(ctx.get('archive/data.pkl')!.bytes, EVIL_PICKLE);
    });
  }

  it('does not report ordinary flags (UTF-8 names, data descriptor)', async () => {
    const ctx = await scan(makeZip([{ name: 'a/x.pkl', data: EVIL_PICKLE, flags: 0x800, descriptor: true, method: 8 }]));
    assert.deepEqual(ids(ctx), []);
    assert.deepEqual(ctx.get('a/x.pkl')!.bytes, EVIL_PICKLE);
  });

  it('reports a wrong CRC on a stored and on a deflated member, and scans both', async () => {
    const ctx = await scan(makeZip([
      { name: 'a/s.pkl', data: EVIL_PICKLE, crc: 0xdeadbeef },
      { name: 'a/d.pkl', data: EVIL_PICKLE, crc: 0x12345678, method: 8 },
      { name: 'a/ok.pkl', data: BENIGN_PICKLE },
    ]));
    const ev = ctx.rule('ARCHIVE_EVASION');
    assert.equal(ev.length, 2);
    assert.match(ev[0]!.evidence!, /stated deadbeef/);
    assert.equal(ctx.members.length, 3);
  });

  it('reports a local name that differs from the central one and scans under the central name', async () => {
    const ctx = await scan(makeZip([{ name: 'archive/data.pkl', localName: 'archive/harmless.txt', data: EVIL_PICKLE }]));
    const ev = ctx.rule('ARCHIVE_EVASION');
    assert.equal(ev.length, 1);
    assert.match(ev[0]!.message, /harmless\.txt/);
    assert.deepEqual(ctx.get('archive/data.pkl')!.bytes, EVIL_PICKLE);
  });

  it('reports a declared size that differs from the inflated size', async () => {
    const ctx = await scan(makeZip([{ name: 'a/p.pkl', data: EVIL_PICKLE, method: 8, size: 5 }]));
    assert.equal(ctx.rule('ARCHIVE_EVASION').length, 1);
    assert.deepEqual(ctx.get('a/p.pkl')!.bytes, EVIL_PICKLE);
  });

  it('reports unsafe names, and not ordinary ones', async () => {
    const ctx = await scan(makeZip([
      { name: '../evil.pkl', data: 'x' },
      { name: '/etc/cron.d/x', data: 'x' },
      { name: 'a\\..\\b', data: 'x' },
      { name: 'C:/x', data: 'x' },
      { name: 'ok/..hidden/file..name', data: 'x' },
    ]));
    assert.equal(ctx.rule('ARCHIVE_UNSAFE_PATH').length, 4);
    assert.equal(ctx.members.length, 5);
  });

  it('reports duplicate names and scans every copy', async () => {
    const ctx = await scan(makeZip([{ name: 'archive/data.pkl', data: BENIGN_PICKLE }, { name: 'archive/data.pkl', data: EVIL_PICKLE }]));
    assert.equal(ctx.rule('ARCHIVE_DUPLICATE_NAME').length, 1);
    assert.equal(ctx.members.filter((m) => m.name === 'archive/data.pkl').length, 2);
  });

  it('reports symlink entries: low inside the folder, unsafe when they escape', async () => {
    const ctx = await scan(makeZip([
      { name: 'a/link', data: 'target.bin', unixMode: 0o120777 },
      { name: 'a/escape', data: '../../etc/passwd', unixMode: 0o120777 },
    ]));
    assert.equal(ctx.rule('ARCHIVE_LINK').length, 1);
    assert.equal(ctx.rule('ARCHIVE_LINK')[0]!.severity, 'low');
    assert.equal(ctx.rule('ARCHIVE_UNSAFE_PATH').length, 1);
    assert.equal(ctx.members.length, 0);
  });

  it('names members with compression methods it cannot read', async () => {
    const ctx = await scan(makeZip([{ name: 'a/x.pkl', raw: Buffer.from('BZh91AY&SY'), method: 12 }, { name: 'a/ok', data: 'ok' }]));
    const f = ctx.rule('ARCHIVE_UNSUPPORTED_METHOD');
    assert.equal(f.length, 1);
    assert.match(f[0]!.message, /a\/x\.pkl.*bzip2/);
    assert.deepEqual(ctx.members.map((m) => m.name), ['a/ok']);
  });

  it('reports AES entries as encrypted', async () => {
    const ctx = await scan(makeZip([{ name: 'a/x', raw: randomBytes(40), method: 99, flags: 1 }]));
    assert.equal(ctx.rule('ARCHIVE_ENCRYPTED').length, 1);
    assert.equal(ctx.members.length, 0);
  });
});

describe('zip: structure', () => {
  it('reads ZIP64 entries and end records', async () => {
    const ctx = await scan(makeZip([{ name: 'archive/data.pkl', data: EVIL_PICKLE, zip64: true }, { name: 'archive/x', data: 'abc', method: 8, zip64: true }], { zip64End: true }));
    assert.deepEqual(ids(ctx), []);
    assert.deepEqual(ctx.get('archive/data.pkl')!.bytes, EVIL_PICKLE);
    assert.equal(ctx.get('archive/x')!.bytes.toString(), 'abc');
  });

  it('falls back to the local headers when the central directory is missing, and says so', async () => {
    const zip = makeZip([
      { name: 'a/one.pkl', data: EVIL_PICKLE },
      { name: 'a/two.pkl', data: EVIL_PICKLE, method: 8, descriptor: true },
      { name: 'a/three', data: 'stored streamed', descriptor: true },
      { name: 'a/four', data: 'last' },
    ], { noCentral: true });
    const ctx = await scan(zip);
    assert.deepEqual(ids(ctx), ['ARCHIVE_MALFORMED']);
    assert.deepEqual(ctx.members.map((m) => m.name), ['a/one.pkl', 'a/two.pkl', 'a/three', 'a/four']);
    assert.deepEqual(ctx.get('a/two.pkl')!.bytes, EVIL_PICKLE);
    assert.equal(ctx.get('a/three')!.bytes.toString(), 'stored streamed');
  });

  it('falls back when the central directory offset is wrong', async () => {
    const zip = makeZip([{ name: 'a/one.pkl', data: EVIL_PICKLE }]);
    zip.writeUInt32LE(3, zip.length - 6); // EOCD central directory offset
    const ctx = await scan(zip);
    assert.ok(ctx.rule('ARCHIVE_MALFORMED').length >= 1);
    assert.deepEqual(ctx.get('a/one.pkl')!.bytes, EVIL_PICKLE);
  });

  it('reads an archive with prepended data, reporting the shift', async () => {
    const ctx = await scan(makeZip([{ name: 'a/one.pkl', data: EVIL_PICKLE }], { prepend: Buffer.from('#!/bin/sh\nexit 0\n') }));
    assert.equal(ctx.rule('ARCHIVE_MALFORMED').length, 1);
    assert.deepEqual(ctx.get('a/one.pkl')!.bytes, EVIL_PICKLE);
  });

  it('reports a truncated archive and scans what is there', async () => {
    const zip = makeZip([{ name: 'a/one.pkl', data: EVIL_PICKLE }, { name: 'a/two', data: text(4000) }]);
    const ctx = await scan(zip.subarray(0, 200));
    assert.ok(ctx.rule('ARCHIVE_MALFORMED').length >= 2);
    assert.deepEqual(ctx.get('a/one.pkl')!.bytes, EVIL_PICKLE);
  });

  it('reports corrupt deflate data and scans the bytes before the damage', async () => {
    const good = deflateRawSync(Buffer.concat([EVIL_PICKLE, text(100_000)]));
    const ctx = await scan(makeZip([{ name: 'a/p.pkl', raw: good.subarray(0, good.length >> 1), method: 8, size: 100_000 + EVIL_PICKLE.length }]));
    assert.equal(ctx.rule('ARCHIVE_MALFORMED').length, 1);
    assert.deepEqual(ctx.get('a/p.pkl')!.bytes.subarray(0, EVIL_PICKLE.length), EVIL_PICKLE);
  });

  it('reports a central entry that points to no local header', async () => {
    const ctx = await scan(makeZip([{ name: 'a/x', data: 'abc', localOffset: 7 }]));
    assert.equal(ctx.rule('ARCHIVE_MALFORMED').length, 1);
    assert.equal(ctx.members.length, 0);
  });

  it('handles an empty archive', async () => {
    const ctx = await scan(makeZip([]));
    assert.deepEqual(ids(ctx), []);
    assert.equal(ctx.members.length, 0);
  });

  it('inflates only the start of a member over the in-memory limit, and fails closed past it', async () => {
    const ctx = await scan(makeZip([{ name: 'arr.npy', data: text(3 * MiB), method: 8 }]), { maxBytes: MiB });
    assert.deepEqual(ids(ctx), ['ARCHIVE_PARTIAL_MEMBER']);
    const m = ctx.get('arr.npy')!;
    assert.equal(m.size, 3 * MiB);
    assert.deepEqual(m.bytes, text(3 * MiB).subarray(0, MiB));
    assert.throws(() => m.blob.read(2 * MiB, 10), /only the first/);
  });

  it('inflates a large member in full when its format needs all of it (up to maxBytes)', async () => {
    const data = Buffer.concat([Buffer.from('(lp0\n'), text(66 * MiB)]);
    const ctx = await scan(makeZip([{ name: 'big.pkl', data, method: 8 }]), {}, 16);
    assert.deepEqual(ids(ctx), []);
    const m = ctx.get('big.pkl')!;
    assert.equal(m.format, 'pickle-probe');
    assert.equal(m.size, data.length);
    assert.deepEqual(m.blob.read(data.length - 16, 16), data.subarray(data.length - 16));
    const capped = await scan(makeZip([{ name: 'big.pkl', data: data.subarray(0, 3 * MiB), method: 8 }]), { maxBytes: 2 * MiB }, 16);
    assert.deepEqual(ids(capped), ['SCAN_LIMIT']);
    assert.throws(() => capped.get('big.pkl')!.blob.read(2.5 * MiB, 1), /only the first/);
  });
});

describe('zip: bombs stop cleanly', () => {
  it('stops a member over the ratio limit', async () => {
    const ctx = await scan(makeZip([{ name: 'a/zeros', data: Buffer.alloc(64 * MiB), method: 8 }]));
    assert.equal(ctx.rule('SCAN_LIMIT').length, 1);
    assert.ok(ctx.consumed <= 1.5 * MiB, `inflated ${ctx.consumed}`);
  });

  it('stops a member that lies about its size, at the ratio cap', async () => {
    const ctx = await scan(makeZip([{ name: 'a/zeros', data: Buffer.alloc(48 * MiB), method: 8, size: 100 }]));
    assert.equal(ctx.rule('SCAN_LIMIT').length, 1);
    assert.ok(ctx.consumed < 16 * MiB, `inflated ${ctx.consumed}`);
  });

  it('stops at the total-bytes budget and inflates nothing after it', async () => {
    const entries: ZipEntrySpec[] = Array.from({ length: 12 }, (_, i) => ({ name: `m/${i}`, data: text(MiB), method: 8 }));
    const ctx = await scan(makeZip(entries), { maxTotalBytes: 3 * MiB });
    assert.equal(ctx.rule('SCAN_LIMIT').length, 1);
    assert.ok(ctx.consumed <= 4 * MiB);
    assert.ok(ctx.members.length <= 4);
  });

  it('reports overlapping entries and bounds the work they cause', async () => {
    const zip = makeZip([
      { name: 'k/0', data: Buffer.alloc(MiB), method: 8 },
      ...Array.from({ length: 2000 }, (_, i) => ({ name: `k/${i + 1}`, sameLocalAs: 0 })),
    ]);
    const t0 = Date.now();
    const ctx = await scan(zip);
    assert.equal(ctx.rule('ARCHIVE_OVERLAP').length, 1);
    assert.equal(ctx.members.length, 1);
    assert.ok(ctx.consumed <= 1.1 * MiB);
    assert.ok(Date.now() - t0 < 5000);
  });

  it('reports entries whose data runs over another entry', async () => {
    const inner = makeZip([{ name: 'x/evil.pkl', data: EVIL_PICKLE }]);
    // Entry 1 points into the middle of entry 0's data, at a local header quoted there.
    const zip = makeZip([{ name: 'x/outer.bin', data: inner }, { name: 'x/evil.pkl', data: EVIL_PICKLE, localOffset: 30 + 'x/outer.bin'.length }]);
    const ctx = await scan(zip);
    assert.equal(ctx.rule('ARCHIVE_OVERLAP').length, 1);
    assert.deepEqual(ctx.get('x/evil.pkl')!.bytes, EVIL_PICKLE);
  });

  it('stops at maxMembers', async () => {
    const zip = makeZip(Array.from({ length: 50 }, (_, i) => ({ name: `m/${i}`, data: 'x' })));
    const ctx = await scan(zip, { maxMembers: 10 });
    assert.equal(ctx.rule('SCAN_LIMIT').length, 1);
    assert.equal(ctx.members.length, 10);
  });
});
