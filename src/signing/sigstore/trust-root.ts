/**
 * Sigstore trust root (trusted_root.json, protobuf-specs TrustedRoot in JSON form): which Rekor
 * logs, Fulcio CAs, CT logs and timestamp authorities to trust, and when. Parsing checks shape
 * and loads every key and certificate; malformed input is PERIM_E_TRUST_ROOT.
 */
import { createPublicKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { PerimeterError } from '../../errors/errors.ts';
import { parseCertificate } from '../x509/certificate.ts';
import type { Certificate } from '../x509/certificate.ts';

const MEDIA_TYPES = new Set(['application/vnd.dev.sigstore.trustedroot+json;version=0.1', 'application/vnd.dev.sigstore.trustedroot.v0.2+json']);
const MAX_TRUST_ROOT_BYTES = 4 * 1024 * 1024;

export interface ValidFor {
  start: Date;
  end?: Date;
}

export interface TransparencyLog {
  baseUrl: string;
  hashAlgorithm: string;
  keyDetails: string;
  publicKey: KeyObject;
  /** The key's DER SubjectPublicKeyInfo as given. */
  publicKeyDer: Buffer;
  validFor: ValidFor;
  /** logId.keyId: the id bundles name the log by. */
  logId: Buffer;
}

export interface CertificateAuthority {
  uri: string;
  subject: { organization?: string; commonName?: string };
  /** certChain.certificates, in file order (issuing certificate first, root last). */
  certificates: Certificate[];
  validFor: ValidFor;
}

export interface TrustRoot {
  mediaType: string;
  tlogs: TransparencyLog[];
  certificateAuthorities: CertificateAuthority[];
  ctlogs: TransparencyLog[];
  timestampAuthorities: CertificateAuthority[];
}

function bad(message: string, cause?: unknown): never {
  throw new PerimeterError('PERIM_E_TRUST_ROOT', `trust root: ${message}`, cause === undefined ? undefined : { cause });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
function time(v: unknown, what: string): Date {
  if (typeof v !== 'string' || !RFC3339.test(v) || Number.isNaN(Date.parse(v))) bad(`${what} is not an RFC 3339 time`);
  return new Date(v);
}

function validFor(v: unknown, what: string): ValidFor {
  if (!isObject(v)) bad(`${what}.validFor is missing`);
  const out: ValidFor = { start: time(v.start, `${what}.validFor.start`) };
  if (v.end !== undefined) out.end = time(v.end, `${what}.validFor.end`);
  return out;
}

function base64(v: unknown, what: string): Buffer {
  if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.length % 4 === 1) bad(`${what} is not base64`);
  return Buffer.from(v, 'base64');
}

function list(v: unknown, what: string): unknown[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) bad(`${what} is not a list`);
  return v;
}

function parseLog(v: unknown, what: string): TransparencyLog {
  if (!isObject(v) || !isObject(v.publicKey) || !isObject(v.logId)) bad(`${what} lacks publicKey or logId`);
  const der = base64(v.publicKey.rawBytes, `${what}.publicKey.rawBytes`);
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: der, format: 'der', type: 'spki' });
  } catch (e) {
    bad(`${what}.publicKey cannot be read: ${(e as Error).message}`, e);
  }
  const logId = base64(v.logId.keyId, `${what}.logId.keyId`);
  if (logId.length === 0) bad(`${what}.logId.keyId is empty`);
  return {
    baseUrl: typeof v.baseUrl === 'string' ? v.baseUrl : '',
    hashAlgorithm: typeof v.hashAlgorithm === 'string' ? v.hashAlgorithm : '',
    keyDetails: typeof v.publicKey.keyDetails === 'string' ? v.publicKey.keyDetails : '',
    publicKey,
    publicKeyDer: der,
    validFor: validFor(v.publicKey.validFor, `${what}.publicKey`),
    logId,
  };
}

function parseAuthority(v: unknown, what: string): CertificateAuthority {
  if (!isObject(v) || !isObject(v.certChain)) bad(`${what} lacks certChain`);
  const raw = list(v.certChain.certificates, `${what}.certChain.certificates`);
  if (raw.length === 0) bad(`${what}.certChain is empty`);
  const certificates = raw.map((c, i) => {
    if (!isObject(c)) bad(`${what} certificate ${i} is not an object`);
    try {
      return parseCertificate(base64(c.rawBytes, `${what} certificate ${i}`));
    } catch (e) {
      return bad(`${what} certificate ${i}: ${(e as Error).message}`, e);
    }
  });
  const subject = isObject(v.subject) ? v.subject : {};
  return {
    uri: typeof v.uri === 'string' ? v.uri : '',
    subject: {
      ...(typeof subject.organization === 'string' ? { organization: subject.organization } : {}),
      ...(typeof subject.commonName === 'string' ? { commonName: subject.commonName } : {}),
    },
    certificates,
    validFor: validFor(v.validFor, what),
  };
}

/** Parses trusted_root.json text or bytes. Throws PERIM_E_TRUST_ROOT. */
export function parseTrustRoot(input: string | Uint8Array): TrustRoot {
  if (input.length > MAX_TRUST_ROOT_BYTES) bad(`larger than ${MAX_TRUST_ROOT_BYTES} bytes`);
  let doc: unknown;
  try {
    doc = JSON.parse(typeof input === 'string' ? input : Buffer.from(input).toString('utf8'));
  } catch (e) {
    bad(`not JSON: ${(e as Error).message}`, e);
  }
  if (!isObject(doc)) bad('not a JSON object');
  if (typeof doc.mediaType !== 'string' || !MEDIA_TYPES.has(doc.mediaType)) bad(`unsupported mediaType ${JSON.stringify(doc.mediaType)}`);
  return {
    mediaType: doc.mediaType,
    tlogs: list(doc.tlogs, 'tlogs').map((t, i) => parseLog(t, `tlogs[${i}]`)),
    certificateAuthorities: list(doc.certificateAuthorities, 'certificateAuthorities').map((c, i) => parseAuthority(c, `certificateAuthorities[${i}]`)),
    ctlogs: list(doc.ctlogs, 'ctlogs').map((t, i) => parseLog(t, `ctlogs[${i}]`)),
    timestampAuthorities: list(doc.timestampAuthorities, 'timestampAuthorities').map((c, i) => parseAuthority(c, `timestampAuthorities[${i}]`)),
  };
}

/** Reads and parses a trusted_root.json file. */
export function loadTrustRoot(path: string): TrustRoot {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new PerimeterError('PERIM_E_IO', `cannot read trust root ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
  return parseTrustRoot(text);
}

let cachedDefault: TrustRoot | undefined;

/** The Sigstore public-good trust root shipped with Perimeter (see NOTICE beside it). */
export function defaultTrustRoot(): TrustRoot {
  cachedDefault ??= parseTrustRoot(readFileSync(new URL('./trusted_root.public-good.json', import.meta.url)));
  return cachedDefault;
}

/** True when `t` is within [start, end] (end open when absent). */
export function isValidAt(v: ValidFor, t: Date): boolean {
  return t.getTime() >= v.start.getTime() && (v.end === undefined || t.getTime() <= v.end.getTime());
}
