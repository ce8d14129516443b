/**
 * Fuzzing the parsers of untrusted signature files: random and mutated inputs must end in a
 * coded PerimeterError or a value, never another exception, and quickly. Budget: PERIMETER_FUZZ_RUNS.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { PerimeterError } from '../errors/errors.ts';
import { parseBundle } from './bundle.ts';
import { parseStatement } from './statement.ts';
import { parseShardName } from '../artifact/manifest.ts';
import { REF } from '../../test/oms.ts';

const RUNS = Number(process.env.PERIMETER_FUZZ_RUNS ?? 2000);
const seeds = ['v1.1.0-elliptic-key', 'v1.1.0-sigstore', 'v0.2.0-certificate', 'v1.0.0-elliptic-key'].map((d) => readFileSync(join(REF, d, 'model.sig')));
const payloads = seeds.map((s) => Buffer.from(JSON.parse(s.toString()).dsseEnvelope.payload, 'base64'));

function onlyCoded(fn: () => unknown): void {
  const t0 = performance.now();
  try {
    fn();
  } catch (e) {
    if (!(e instanceof PerimeterError)) throw new Error(`uncoded ${(e as Error)?.name}: ${(e as Error)?.message}`);
  }
  assert.ok(performance.now() - t0 < 250, 'parser took over 250 ms on a small input');
}

/** Byte-level mutations of a seed: flips, deletions, insertions, truncation. */
const mutated = (pool: Buffer[]) =>
  fc.tuple(fc.constantFrom(...pool), fc.array(fc.tuple(fc.nat(), fc.nat(255), fc.constantFrom('flip', 'del', 'ins', 'cut')), { minLength: 1, maxLength: 8 })).map(([seed, ops]) => {
    let b = Buffer.from(seed);
    for (const [pos, byte, op] of ops) {
      const i = b.length ? pos % b.length : 0;
      if (op === 'flip') b[i] = byte;
      else if (op === 'del') b = Buffer.concat([b.subarray(0, i), b.subarray(i + 1)]);
      else if (op === 'ins') b = Buffer.concat([b.subarray(0, i), Buffer.from([byte]), b.subarray(i)]);
      else b = b.subarray(0, i);
    }
    return b;
  });

/** Structure-aware: valid JSON with values swapped for arbitrary JSON. */
const jsonMutated = (pool: Buffer[]) =>
  fc.tuple(fc.constantFrom(...pool), fc.array(fc.tuple(fc.nat(), fc.jsonValue({ maxDepth: 3 })), { minLength: 1, maxLength: 4 })).map(([seed, edits]) => {
    const doc = JSON.parse(seed.toString());
    for (const [n, value] of edits) {
      const paths: [any, string][] = [];
      const walk = (o: any): void => {
        if (o && typeof o === 'object') for (const k of Object.keys(o)) {
          paths.push([o, k]);
          walk(o[k]);
        }
      };
      walk(doc);
      const [obj, key] = paths[n % paths.length]!;
      obj[key] = value;
    }
    return Buffer.from(JSON.stringify(doc));
  });

test('parseBundle: mutated bundles give a coded error or a bundle', () => {
  fc.assert(fc.property(mutated(seeds), (b) => onlyCoded(() => parseBundle(b))), { numRuns: RUNS });
  fc.assert(fc.property(jsonMutated(seeds), (b) => onlyCoded(() => parseBundle(b))), { numRuns: RUNS });
});

test('parseStatement: mutated statements give a coded error or a manifest', () => {
  fc.assert(fc.property(mutated(payloads), (b) => onlyCoded(() => parseStatement(b))), { numRuns: RUNS });
  fc.assert(fc.property(jsonMutated(payloads), (b) => onlyCoded(() => parseStatement(b))), { numRuns: RUNS });
});

test('parseStatement: deep nesting and huge resource lists stay bounded', () => {
  const deep = '['.repeat(100_000) + ']'.repeat(100_000);
  onlyCoded(() => parseStatement(Buffer.from(deep)));
  onlyCoded(() => parseBundle(deep));
});

test('parseShardName: arbitrary strings give a coded error or a consistent range', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 40 }), (s) =>
      onlyCoded(() => {
        const r = parseShardName(s);
        assert.ok(r.end > r.start && r.path.length > 0);
      }),
    ),
    { numRuns: RUNS },
  );
});
