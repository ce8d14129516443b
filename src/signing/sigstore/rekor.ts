/**
 * Offline checks of a Rekor v1 transparency-log entry carried in a bundle: the log is trusted and
 * valid at integratedTime, the signed entry timestamp (SET) and the inclusion proof with its signed
 * checkpoint verify, and the logged body (dsse 0.0.1) matches the bundle's envelope and certificate.
 * Every failure is PERIM_E_TLOG.
 */
import { createHash } from 'node:crypto';
import { PerimeterError } from '../../errors/errors.ts';
import type { Bundle, DsseEnvelope, TlogEntry } from '../bundle.ts';
import { pemCertificates } from '../x509/certificate.ts';
import { hashLeaf, rootFromInclusionProof, verifyCheckpoint, verifyWithLogKey } from './merkle.ts';
import { isValidAt } from './trust-root.ts';
import type { TransparencyLog, TrustRoot } from './trust-root.ts';

/** How far in the future of `now` an integratedTime may be (clock skew). */
const MAX_FUTURE_SKEW_MS = 5 * 60_000;
/** 9999-12-31T23:59:59Z: later times are not dates. */
const MAX_UNIX_SECONDS = 253402300799n;

function tlogError(message: string, cause?: unknown): never {
  throw new PerimeterError('PERIM_E_TLOG', message, cause === undefined ? undefined : { cause });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const DIGITS = /^(0|[1-9]\d{0,19})$/;
function u64(v: unknown, what: string): bigint {
  if (typeof v !== 'string' && typeof v !== 'number') tlogError(`${what} is missing`);
  const s = String(v);
  if (!DIGITS.test(s) || BigInt(s) >= 2n ** 63n) tlogError(`${what} is not a valid integer`);
  return BigInt(s);
}

function b64(v: unknown, what: string): Buffer {
  if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.length % 4 === 1) tlogError(`${what} is not base64`);
  return Buffer.from(v, 'base64');
}

export interface VerifiedLogEntry {
  log: TransparencyLog;
  integratedTime: Date;
  logIndex: bigint;
  body: Buffer;
  checks: string[];
}

/** The bundle's single transparency-log entry; Rekor v2 and kinds other than dsse 0.0.1 are refused. */
export function selectTlogEntry(bundle: Bundle): TlogEntry {
  const entries = bundle.verificationMaterial.tlogEntries ?? [];
  if (entries.length === 0) tlogError('the bundle has no transparency-log entry');
  if (entries.length > 1) tlogError(`the bundle has ${entries.length} transparency-log entries, expected one`);
  const entry = entries[0]!;
  if (!isObject(entry) || !isObject(entry.kindVersion) || !isObject(entry.logId)) tlogError('the transparency-log entry is malformed');
  const { kind, version } = entry.kindVersion;
  if (version === '0.0.2') tlogError(`Rekor v2 entries (${String(kind)} ${version}) are not supported yet; only Rekor v1 dsse 0.0.1`);
  if (kind !== 'dsse' || version !== '0.0.1') tlogError(`transparency-log entry kind ${String(kind)} ${String(version)} is not supported; only dsse 0.0.1`);
  return entry;
}

/** Rekor's SET payload: canonical JSON (RFC 8785; here keys already sorted) of body, time, log id, index. */
export function setPayload(body: Buffer, integratedTime: bigint, logId: Buffer, logIndex: bigint): Buffer {
  const json = `{"body":${JSON.stringify(body.toString('base64'))},"integratedTime":${integratedTime},"logID":"${logId.toString('hex')}","logIndex":${logIndex}}`;
  return Buffer.from(json, 'utf8');
}

/**
 * Verifies the entry against the trust root. The SET is required: without RFC 3161 timestamps it
 * is what makes integratedTime trustworthy. The inclusion proof and checkpoint are required too,
 * as sigstore-python requires them.
 */
export function verifyTlogEntry(entry: TlogEntry, trustRoot: TrustRoot, now: Date): VerifiedLogEntry {
  const checks: string[] = [];
  const logId = b64(entry.logId.keyId, 'tlog logId.keyId');
  const integratedTime = u64(entry.integratedTime, 'tlog integratedTime');
  const logIndex = u64(entry.logIndex, 'tlog logIndex');
  const body = b64(entry.canonicalizedBody, 'tlog canonicalizedBody');
  if (integratedTime === 0n) tlogError('tlog integratedTime is missing');
  if (integratedTime > MAX_UNIX_SECONDS) tlogError('tlog integratedTime is out of range');
  const when = new Date(Number(integratedTime) * 1000);
  if (when.getTime() > now.getTime() + MAX_FUTURE_SKEW_MS) tlogError(`tlog integratedTime ${when.toISOString()} is in the future`);

  const logs = trustRoot.tlogs.filter((l) => l.logId.equals(logId));
  if (logs.length === 0) tlogError(`the entry's log ${logId.toString('base64')} is not in the trust root`);
  const log = logs.find((l) => isValidAt(l.validFor, when));
  if (!log) tlogError(`the log key ${logId.toString('base64')} was not valid at integratedTime ${when.toISOString()}`);
  const logName = log.baseUrl || logId.toString('base64');

  // Signed entry timestamp (inclusion promise).
  if (!isObject(entry.inclusionPromise)) tlogError('the entry has no signed entry timestamp (inclusionPromise), so integratedTime cannot be trusted');
  const set = b64(entry.inclusionPromise.signedEntryTimestamp, 'signedEntryTimestamp');
  if (!verifyWithLogKey(log, setPayload(body, integratedTime, logId, logIndex), set)) {
    tlogError('the signed entry timestamp does not verify with the log key');
  }
  checks.push(`Rekor signed entry timestamp verified (${logName}, log index ${logIndex}, integrated ${iso(when)})`);

  // Inclusion proof and its checkpoint.
  const proof = entry.inclusionProof;
  if (!isObject(proof)) tlogError('the entry has no inclusion proof');
  if (!isObject(proof.checkpoint) || typeof proof.checkpoint.envelope !== 'string') tlogError('the inclusion proof has no checkpoint');
  if (!Array.isArray(proof.hashes)) tlogError('the inclusion proof has no hashes list');
  const index = u64(proof.logIndex, 'inclusion proof logIndex');
  const treeSize = u64(proof.treeSize, 'inclusion proof treeSize');
  const rootHash = b64(proof.rootHash, 'inclusion proof rootHash');
  const hashes = proof.hashes.map((h, i) => b64(h, `inclusion proof hash ${i}`));
  const computed = rootFromInclusionProof(hashLeaf(body), index, treeSize, hashes);
  if (!computed.equals(rootHash)) tlogError('the inclusion proof does not lead to its root hash');
  verifyCheckpoint(proof.checkpoint.envelope, log, { rootHash, treeSize });
  checks.push(`Rekor inclusion proof verified against a signed checkpoint (tree size ${treeSize})`);

  return { log, integratedTime: when, logIndex, body, checks };
}

/**
 * The logged dsse 0.0.1 body must describe this bundle: payloadHash is SHA-256 of the payload and
 * the signatures list is exactly the envelope's signatures with the leaf certificate as verifier.
 * envelopeHash is not checked: it covers the envelope JSON as first submitted, which is not
 * canonical (sigstore-python does not check it either).
 */
export function checkDsseEntryBody(body: Buffer, envelope: DsseEnvelope, leafDer: Buffer): void {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch (e) {
    tlogError('the log entry body is not JSON', e);
  }
  if (!isObject(doc) || doc.kind !== 'dsse' || doc.apiVersion !== '0.0.1' || !isObject(doc.spec)) {
    tlogError('the log entry body is not a dsse 0.0.1 entry');
  }
  const { payloadHash, signatures } = doc.spec;
  if (!isObject(payloadHash) || payloadHash.algorithm !== 'sha256' || typeof payloadHash.value !== 'string') {
    tlogError('the log entry has no SHA-256 payloadHash');
  }
  const payload = Buffer.from(envelope.payload, 'base64');
  if (payloadHash.value !== createHash('sha256').update(payload).digest('hex')) tlogError('the log entry payload hash does not match the bundle payload');
  if (!Array.isArray(signatures) || signatures.length !== envelope.signatures.length) {
    tlogError('the log entry signatures do not match the bundle signatures');
  }
  signatures.forEach((s, i) => {
    if (!isObject(s)) tlogError('a log entry signature is malformed');
    const logged = b64(s.signature, 'log entry signature');
    const ours = Buffer.from(envelope.signatures[i]!.sig, 'base64');
    if (!logged.equals(ours)) tlogError('the log entry signature does not match the bundle signature');
    const pem = b64(s.verifier, 'log entry verifier').toString('utf8');
    const certs = pemCertificates(pem);
    if (certs.length !== 1 || !certs[0]!.equals(leafDer)) tlogError('the log entry verifier is not the bundle signing certificate');
  });
}

function iso(d: Date): string {
  return d.toISOString().replace('.000Z', 'Z');
}
