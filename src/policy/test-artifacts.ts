/** Test support only: real model files, hashed and (optionally) signed, inserted as artifact rows. */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashModel } from '../artifact/hash.ts';
import { signModel } from '../signing/model.ts';
import { KeySigner } from '../signing/key-method.ts';
import type { Signer } from '../signing/verifier.ts';
import type { Store } from '../store/store.ts';
import { makeTree, tempDir } from '../../test/helpers.ts';

export interface TestKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  signer: Signer;
  /** The public key written as PEM, for config files. */
  pubPath: string;
}

export function makeTestKey(dir = tempDir()): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pubPath = join(dir, `key-${Math.random().toString(36).slice(2)}.pub`);
  writeFileSync(pubPath, publicKey.export({ type: 'spki', format: 'pem' }));
  return { privateKey, publicKey, signer: new KeySigner(privateKey), pubPath };
}

export interface TestArtifactOptions {
  files?: Record<string, string | Buffer>;
  signer?: Signer;
  license?: string | null;
  scan?: string | null;
  name?: string;
  metadata?: Record<string, unknown>;
}

/** Writes the model, signs it (model.sig beside the files) and inserts its artifact row. */
export async function addTestArtifact(store: Store, o: TestArtifactOptions = {}): Promise<{ digest: string; path: string }> {
  const path = makeTree(o.files ?? { 'model.safetensors': `weights ${Math.random()}`, 'config.json': '{}' });
  if (o.signer) await signModel(path, o.signer);
  const { manifest, bytes } = await hashModel(path, { signaturePath: join(path, 'model.sig') });
  const { files: _files, signer: _signer, ...rest } = o;
  await insertArtifact(store, { ...rest, digest: manifest.rootDigest, path, bytes, files: manifest.resources.length });
  return { digest: manifest.rootDigest, path };
}

export async function insertArtifact(
  store: Store,
  a: { digest: string; path?: string | null; bytes?: number; files?: number; license?: string | null; scan?: string | null; name?: string; metadata?: Record<string, unknown> },
): Promise<void> {
  const now = Date.now();
  await store.db
    .insertInto('artifacts')
    .values({
      digest: a.digest,
      name: a.name ?? 'test-model',
      kind: 'base',
      format: 'safetensors',
      license: a.license === undefined ? 'apache-2.0' : a.license,
      path: a.path ?? null,
      bytes: a.bytes ?? 0,
      files: a.files ?? 1,
      signature_verified: 0,
      scan_verdict: a.scan === undefined ? 'clean' : a.scan,
      scan_findings: 0,
      scan_summary: '{}',
      metadata: JSON.stringify(a.metadata ?? {}),
      created_at: now,
      updated_at: now,
    })
    .execute();
}
