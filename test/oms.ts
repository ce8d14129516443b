/** Shared bits for OMS tests: the reference vectors' keys and re-signing helpers. */
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OMS, tempDir } from './helpers.ts';
import { loadPrivateKey, loadPublicKey } from '../src/signing/keys.ts';
import { KeySigner } from '../src/signing/key-method.ts';
import { BUNDLE_MEDIA_TYPE_V03, type Bundle } from '../src/signing/bundle.ts';

export const REF = join(OMS, 'reference-cli');
export const KEYS = join(REF, 'keys', 'certificate');
export const testPrivateKey = () => loadPrivateKey(join(KEYS, 'signing-key.pem'));
export const testPublicKey = () => loadPublicKey(join(KEYS, 'signing-key-pub.pem'));

/** A writable copy of a reference vector folder. */
export function copyVector(name: string): string {
  const dest = join(tempDir(), name);
  cpSync(join(REF, name), dest, { recursive: true });
  return dest;
}

export function readBundle(path: string): Bundle {
  return JSON.parse(readFileSync(path, 'utf8')) as Bundle;
}

export function statementOf(bundle: Bundle): Record<string, any> {
  return JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8'));
}

/** Signs an arbitrary statement object with the vectors' P-384 key (to reach checks past the signature). */
export async function signStatement(statement: unknown): Promise<Bundle> {
  const b = await new KeySigner(testPrivateKey()).sign(Buffer.from(JSON.stringify(statement)));
  return { ...b, mediaType: BUNDLE_MEDIA_TYPE_V03 };
}
