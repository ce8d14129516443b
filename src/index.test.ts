import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as perimeter from './index.ts';
import { makeTree } from '../test/helpers.ts';
import { generateKeyPairSync } from 'node:crypto';

test('the package entry point signs and verifies through its public API', async () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const root = makeTree({ 'w.bin': 'weights' });
  const signed = await perimeter.signModel(root, new perimeter.KeySigner(privateKey));
  const verified = await perimeter.verifyModel(root, new perimeter.KeyVerifier(publicKey));
  assert.equal(verified.rootDigest, signed.manifest.rootDigest);
  assert.equal(typeof perimeter.SigstoreVerifier, 'function');
  assert.ok(perimeter.defaultTrustRoot());
});
