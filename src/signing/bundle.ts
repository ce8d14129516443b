/**
 * The Sigstore bundle (protobuf-JSON form) that carries an OMS signature, parsed strictly.
 * Parsing only checks shape; it proves nothing. Verifiers decide trust.
 */
import { PerimeterError } from '../errors/errors.ts';

export const BUNDLE_MEDIA_TYPE_V03 = 'application/vnd.dev.sigstore.bundle.v0.3+json';
/** Media types we accept when reading (0.1 / 0.2 carry the version as a parameter). */
const ACCEPTED_MEDIA_TYPES = new Set([
  BUNDLE_MEDIA_TYPE_V03,
  'application/vnd.dev.sigstore.bundle+json;version=0.1',
  'application/vnd.dev.sigstore.bundle+json;version=0.2',
  'application/vnd.dev.sigstore.bundle+json;version=0.3',
]);
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

/** A signature file is small; a larger one is hostile or wrong. */
export const MAX_BUNDLE_BYTES = 16 * 1024 * 1024;

export interface DsseSignature {
  sig: string; // base64
  keyid?: string | null;
}
export interface DsseEnvelope {
  payload: string; // base64
  payloadType: string;
  signatures: DsseSignature[];
}
export interface RawCertificate {
  rawBytes: string; // base64 DER
}
export interface TlogEntry {
  logIndex: string;
  logId: { keyId: string };
  kindVersion: { kind: string; version: string };
  integratedTime: string;
  inclusionPromise?: { signedEntryTimestamp: string };
  inclusionProof?: {
    logIndex: string;
    rootHash: string;
    treeSize: string;
    hashes: string[];
    checkpoint: { envelope: string };
  };
  canonicalizedBody: string;
}
export interface VerificationMaterial {
  publicKey?: { hint?: string; rawBytes?: string; keyDetails?: string };
  x509CertificateChain?: { certificates: RawCertificate[] };
  certificate?: RawCertificate;
  tlogEntries?: TlogEntry[];
  timestampVerificationData?: { rfc3161Timestamps?: { signedTimestamp: string }[] };
}
export interface Bundle {
  mediaType: string;
  verificationMaterial: VerificationMaterial;
  dsseEnvelope: DsseEnvelope;
}

/** Which signing method a bundle's verification material implies. */
export type BundleMethod = 'key' | 'certificate' | 'sigstore';

function malformed(message: string): never {
  throw new PerimeterError('PERIM_E_BUNDLE_MALFORMED', message);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
export function decodeBase64(s: unknown, what: string): Buffer {
  if (typeof s !== 'string' || s.length % 4 === 1 || !BASE64.test(s.replace(/\s+/g, ''))) {
    malformed(`${what} is not base64`);
  }
  return Buffer.from(s, 'base64');
}

/** Parses bundle JSON text or bytes. Throws PERIM_E_BUNDLE_* with a one-line reason. */
export function parseBundle(input: string | Uint8Array): Bundle {
  if (input.length > MAX_BUNDLE_BYTES) malformed(`bundle is larger than ${MAX_BUNDLE_BYTES} bytes`);
  const text = typeof input === 'string' ? input : Buffer.from(input).toString('utf8');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new PerimeterError('PERIM_E_BUNDLE_MALFORMED', `bundle is not JSON: ${(e as Error).message}`, { cause: e });
  }
  if (!isObject(doc)) malformed('bundle is not a JSON object');
  if (typeof doc.mediaType !== 'string') malformed('bundle has no mediaType');
  if (!ACCEPTED_MEDIA_TYPES.has(doc.mediaType)) {
    throw new PerimeterError('PERIM_E_BUNDLE_MEDIA_TYPE', `unsupported bundle mediaType "${doc.mediaType}"`);
  }
  const vm = doc.verificationMaterial;
  if (!isObject(vm)) malformed('bundle has no verificationMaterial');
  const env = doc.dsseEnvelope;
  if (!isObject(env)) malformed('bundle has no dsseEnvelope (message signatures are not OMS)');
  if (typeof env.payloadType !== 'string') malformed('dsseEnvelope has no payloadType');
  if (env.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    throw new PerimeterError('PERIM_E_PAYLOAD_TYPE', `DSSE payloadType is "${env.payloadType}", expected ${IN_TOTO_PAYLOAD_TYPE}`);
  }
  if (typeof env.payload !== 'string' || env.payload.length === 0) malformed('dsseEnvelope has no payload');
  decodeBase64(env.payload, 'dsseEnvelope.payload');
  if (!Array.isArray(env.signatures) || env.signatures.length === 0) malformed('dsseEnvelope has no signatures');
  for (const s of env.signatures) {
    if (!isObject(s) || typeof s.sig !== 'string' || s.sig.length === 0) malformed('a DSSE signature has no sig');
    decodeBase64(s.sig, 'DSSE signature');
    if (s.keyid !== undefined && s.keyid !== null && typeof s.keyid !== 'string') malformed('DSSE keyid is not a string');
  }
  const kinds = ['publicKey', 'x509CertificateChain', 'certificate'].filter((k) => vm[k] !== undefined && vm[k] !== null);
  if (kinds.length !== 1) malformed('verificationMaterial must hold exactly one of publicKey, x509CertificateChain, certificate');
  if (vm.publicKey !== undefined) {
    if (!isObject(vm.publicKey)) malformed('publicKey is not an object');
    const { hint, rawBytes } = vm.publicKey;
    if (hint !== undefined && typeof hint !== 'string') malformed('publicKey.hint is not a string');
    if (rawBytes !== undefined) decodeBase64(rawBytes, 'publicKey.rawBytes');
  }
  if (vm.x509CertificateChain !== undefined) {
    const chain = vm.x509CertificateChain;
    if (!isObject(chain) || !Array.isArray(chain.certificates) || chain.certificates.length === 0) {
      malformed('x509CertificateChain has no certificates');
    }
    for (const c of chain.certificates) {
      if (!isObject(c)) malformed('a certificate in the chain is not an object');
      decodeBase64(c.rawBytes, 'certificate rawBytes');
    }
  }
  if (vm.certificate !== undefined) {
    if (!isObject(vm.certificate)) malformed('certificate is not an object');
    decodeBase64(vm.certificate.rawBytes, 'certificate rawBytes');
  }
  if (vm.tlogEntries !== undefined && !Array.isArray(vm.tlogEntries)) malformed('tlogEntries is not a list');
  return doc as unknown as Bundle;
}

export function bundleMethod(bundle: Bundle): BundleMethod {
  const vm = bundle.verificationMaterial;
  if (vm.publicKey) return 'key';
  if (vm.x509CertificateChain) return 'certificate';
  return 'sigstore';
}

/** The DER certificates a bundle carries, leaf first. */
export function bundleCertificates(bundle: Bundle): Buffer[] {
  const vm = bundle.verificationMaterial;
  if (vm.certificate) return [decodeBase64(vm.certificate.rawBytes, 'certificate')];
  if (vm.x509CertificateChain) return vm.x509CertificateChain.certificates.map((c) => decodeBase64(c.rawBytes, 'certificate'));
  return [];
}
