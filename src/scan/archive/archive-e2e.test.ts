/** The archive readers through the real scan context (scanBlob): nesting, budgets, format dispatch. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { makeTar } from '../../../test/corpus/tar-writer.ts';
import { makeZip } from '../../../test/corpus/zip-writer.ts';
import { BufferBlob } from '../blob.ts';
import { scanBlob } from '../context.ts';
import { EVIL_PICKLE } from './test-context.ts';

const MiB = 1024 * 1024;

describe('archives end to end', () => {
  it('dispatches a pickle found through gzip, tar and zip', async () => {
    const zip = makeZip([{ name: 'archive/data.pkl', data: EVIL_PICKLE, method: 8 }]);
    const tgz = gzipSync(makeTar([{ name: 'model.pt', data: zip }]));
    const state = await scanBlob(new BufferBlob(tgz), 'bundle.tgz');
    // Whatever the pickle analyser says, it says it about the right member, and the readers say nothing.
    assert.ok(state.findings.every((f) => !/^(ARCHIVE_|SCAN_)/.test(f.ruleId)), JSON.stringify(state.findings));
    for (const f of state.findings) assert.deepEqual(f.member, ['bundle.tar', 'model.pt', 'archive/data.pkl']);
    assert.equal(state.formats.get('gzip'), 1);
    assert.equal(state.formats.get('tar'), 1);
    assert.equal(state.formats.get('zip'), 1);
    assert.equal(state.formats.get('pickle'), 1);
  });

  it('stops zip-in-zip nesting at maxDepth with a finding', async () => {
    let inner = makeZip([{ name: 'archive/data.pkl', data: EVIL_PICKLE }]);
    for (let i = 0; i < 10; i++) inner = makeZip([{ name: `level${i}.zip`, data: inner, method: i % 2 === 0 ? 8 : 0 }]);
    const state = await scanBlob(new BufferBlob(inner), 'nested.zip');
    const limits = state.findings.filter((f) => f.ruleId === 'SCAN_LIMIT');
    assert.equal(limits.length, 1);
    assert.match(limits[0]!.message, /nesting deeper than 6/);
    assert.equal(limits[0]!.member.length, 6);
    assert.equal(state.formats.get('zip'), 7);
  });

  it('stops a 42.zip-style recursive bomb within the byte budget', async () => {
    let layer = makeZip(Array.from({ length: 16 }, (_, i) => ({ name: `${i}.bin`, data: Buffer.alloc(MiB), method: 8 })));
    for (let depth = 0; depth < 3; depth++) {
      layer = makeZip(Array.from({ length: 16 }, (_, i) => ({ name: `${i}.zip`, data: layer, method: 8 })));
    }
    // 16^4 MiB = 64 GiB if fully expanded.
    const t0 = Date.now();
    const state = await scanBlob(new BufferBlob(layer), '42.zip', { maxTotalBytes: 256 * MiB });
    assert.ok(Date.now() - t0 < 20_000);
    assert.ok(state.bytesConsumed <= 256 * MiB + 64 * MiB, `inflated ${state.bytesConsumed}`);
    assert.ok(state.findings.some((f) => f.ruleId === 'SCAN_LIMIT'));
    assert.ok(state.findings.every((f) => f.severity !== 'dangerous'));
  });

  it('reports a zip bomb member through the real context without throwing', async () => {
    const state = await scanBlob(new BufferBlob(makeZip([{ name: 'bomb.bin', data: Buffer.alloc(32 * MiB), method: 8 }])), 'bomb.zip');
    assert.deepEqual(state.findings.map((f) => f.ruleId), ['SCAN_LIMIT']);
  });
});
