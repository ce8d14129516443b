/**
 * The binary COPY readers of the PostgreSQL listing, on bytes cut anywhere: the page reader
 * (CopyPages) hands over each body whole, as the pieces it came in, and the row reader (CopyRows)
 * the same rows; truncated or garbled streams are errors, never a wrong page. Property-based
 * (fast-check), over streams made the way PostgreSQL's binary COPY format is specified.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Admitted, CopyPages, CopyRows } from './inventory-copy.ts';

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const int16 = (n: number): Buffer => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
const int32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};
const field = (v: Buffer | null): Buffer => (v === null ? int32(-1) : Buffer.concat([int32(v.length), v]));
/** A binary COPY stream of rows, with a header extension of `ext` bytes. */
const stream = (rows: (Buffer | null)[][], ext = 0): Buffer =>
  Buffer.concat([SIGNATURE, int32(0), int32(ext), Buffer.alloc(ext), ...rows.map((r) => Buffer.concat([int16(r.length), ...r.map(field)])), int16(-1)]);
/** The stream cut at the given points (sorted, deduplicated). */
const cutAt = (b: Buffer, points: number[]): Buffer[] => {
  const at = [...new Set(points.map((p) => p % (b.length + 1)))].sort((x, y) => x - y);
  const out: Buffer[] = [];
  let from = 0;
  for (const p of [...at, b.length]) {
    out.push(Buffer.from(b.subarray(from, p)));
    from = p;
  }
  return out;
};

const pages = fc.array(fc.record({ codec: fc.constantFrom('none', 'zstd'), body: fc.option(fc.uint8Array({ maxLength: 3000 }), { freq: 8 }) }), { maxLength: 8 });

test('CopyPages: every body whole and in order, however the bytes are cut', () => {
  fc.assert(
    fc.property(pages, fc.array(fc.nat(), { maxLength: 40 }), fc.nat({ max: 40 }), (ps, cuts, ext) => {
      const bytes = stream(ps.map((p) => [Buffer.from(p.codec), p.body ? Buffer.from(p.body) : null]), ext);
      const got: { codec: string; body: Buffer | null }[] = [];
      const reader = new CopyPages((codec, body) => void got.push({ codec, body: body ? Buffer.concat(body) : null }));
      for (const piece of cutAt(bytes, cuts)) reader.take(piece);
      reader.finish();
      assert.deepEqual(
        got,
        ps.map((p) => ({ codec: p.codec, body: p.body ? Buffer.from(p.body) : null })),
      );
    }),
    { numRuns: 300 },
  );
});

test('CopyPages: a stream cut short, with bytes after its end, or of another shape is an error', () => {
  fc.assert(
    fc.property(pages.filter((p) => p.length > 0), fc.nat(), (ps, cut) => {
      const bytes = stream(ps.map((p) => [Buffer.from(p.codec), p.body ? Buffer.from(p.body) : null]));
      const reader = new CopyPages(() => {});
      reader.take(bytes.subarray(0, cut % bytes.length));
      assert.throws(() => reader.finish(), /ended early/);
    }),
    { numRuns: 200 },
  );
  const ok = stream([[Buffer.from('none'), Buffer.from('x')]]);
  assert.throws(() => new CopyPages(() => {}).take(Buffer.concat([ok, Buffer.from([0])])), /after the end/);
  assert.throws(() => new CopyPages(() => {}).take(stream([[Buffer.from('none')]])), /fields/);
  assert.throws(() => new CopyPages(() => {}).take(Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\x01'), Buffer.alloc(8)])), /not a binary COPY/);
  assert.throws(() => new CopyPages(() => {}).take(stream([[Buffer.alloc(65), Buffer.from('x')]])), /codec/);
  // Random bytes: an error or nothing handed over yet, never a throw of another kind.
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (junk) => {
      const reader = new CopyPages(() => {});
      try {
        reader.take(Buffer.from(junk));
        reader.finish();
        assert.fail('random bytes read as a COPY stream');
      } catch (e) {
        assert.ok(e instanceof Error && !(e instanceof assert.AssertionError), String(e));
      }
    }),
    { numRuns: 300 },
  );
});

test('CopyRows: the same pieces of listing text however the bytes are cut', () => {
  const row = (i: number): (Buffer | null)[] => [
    i % 5 ? Buffer.from(`{"digest":"d${i}","name":"ż${'x'.repeat(i % 50)}","tier":null,"admittedEnvs":[]}`) : null,
    Buffer.from(`d${i}`),
    Buffer.from(String(1700000000000 + i)),
    i % 3 ? null : Buffer.from(String(i % 4)),
  ];
  const read = (pieces: Buffer[], piece: number): string[] => {
    const out: string[] = [];
    const reader = new CopyRows(new Admitted({}), piece, (text, rows, hi) => void out.push(`${rows}|${hi.join(',')}|${text.toString('utf8')}`));
    for (const p of pieces) reader.take(p);
    reader.finish();
    return out;
  };
  fc.assert(
    fc.property(fc.nat({ max: 60 }), fc.integer({ min: 1, max: 9 }), fc.array(fc.nat(), { maxLength: 30 }), (n, piece, cuts) => {
      const bytes = stream(Array.from({ length: n }, (_, i) => row(i)));
      assert.deepEqual(read(cutAt(bytes, cuts), piece), read([bytes], piece));
    }),
    { numRuns: 200 },
  );
});
