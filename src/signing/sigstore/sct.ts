/**
 * Embedded Signed Certificate Timestamps (RFC 6962 3.2/3.3): the CT log's promise that Fulcio
 * logged the leaf's precertificate. Rebuilds the precertificate TBS (the leaf TBS without the SCT
 * extension), signs over it with the issuer key hash, and checks the signature with the CT log key
 * from the trust root. Failures are PERIM_E_TLOG (the certificate transparency log).
 */
import { createHash } from 'node:crypto';
import { PerimeterError } from '../../errors/errors.ts';
import { getExtension } from '../x509/certificate.ts';
import type { Certificate } from '../x509/certificate.ts';
import { children, contextTag, encoded, parseDer, readOctetString, readOid, sequence } from '../x509/der.ts';
import { seq, tlv } from '../x509/der-write.ts';
import { OID } from '../x509/extensions.ts';
import { verifyWithLogKey } from './merkle.ts';
import { isValidAt } from './trust-root.ts';
import type { TransparencyLog } from './trust-root.ts';

function sctError(message: string): never {
  throw new PerimeterError('PERIM_E_TLOG', `certificate transparency: ${message}`);
}

export interface Sct {
  logId: Buffer;
  timestamp: bigint;
  extensions: Buffer;
  hashAlgorithm: number;
  signatureAlgorithm: number;
  signature: Buffer;
}

/** Parses a TLS-encoded SignedCertificateTimestampList. */
export function parseSctList(list: Buffer): Sct[] {
  if (list.length < 2 || list.readUInt16BE(0) !== list.length - 2) sctError('SCT list length is wrong');
  const out: Sct[] = [];
  let off = 2;
  const need = (n: number): void => {
    if (off + n > list.length) sctError('SCT list is truncated');
  };
  while (off < list.length) {
    need(2);
    const len = list.readUInt16BE(off);
    off += 2;
    need(len);
    const end = off + len;
    if (list[off] !== 0) sctError(`SCT version ${list[off]} is not v1`);
    need(1 + 32 + 8 + 2);
    const logId = list.subarray(off + 1, off + 33);
    const timestamp = list.readBigUInt64BE(off + 33);
    const extLen = list.readUInt16BE(off + 41);
    off += 43;
    need(extLen + 4);
    const extensions = list.subarray(off, off + extLen);
    off += extLen;
    const hashAlgorithm = list[off]!;
    const signatureAlgorithm = list[off + 1]!;
    const sigLen = list.readUInt16BE(off + 2);
    off += 4;
    need(sigLen);
    const signature = list.subarray(off, off + sigLen);
    off += sigLen;
    if (off !== end) sctError('SCT length does not match its contents');
    out.push({ logId, timestamp, extensions, hashAlgorithm, signatureAlgorithm, signature });
  }
  return out;
}

/** The leaf's TBSCertificate re-encoded without the SCT list extension. */
export function precertificateTbs(leaf: Certificate): Buffer {
  const fields = sequence(parseDer(leaf.tbs), 'TBSCertificate', 'PERIM_E_TLOG');
  const rebuilt = fields.map((f) => {
    if (f.tag !== contextTag(3, true)) return encoded(f);
    const exts = sequence(children(f)[0], 'extensions', 'PERIM_E_TLOG');
    const kept = exts.filter((e) => readOid(children(e)[0]!) !== OID.sctList).map(encoded);
    if (kept.length === exts.length) sctError('the certificate has no SCT extension');
    return tlv(contextTag(3, true), seq(...kept));
  });
  return seq(...rebuilt);
}

/** The bytes a CT log signs for a precertificate SCT (RFC 6962 3.2). */
export function sctSignedData(sct: Pick<Sct, 'timestamp' | 'extensions'>, issuerKeyHash: Buffer, tbs: Buffer): Buffer {
  const head = Buffer.alloc(12);
  head[0] = 0; // sct_version v1
  head[1] = 0; // signature_type certificate_timestamp
  head.writeBigUInt64BE(sct.timestamp, 2);
  head.writeUInt16BE(1, 10); // entry_type precert_entry
  const tbsLen = Buffer.from([(tbs.length >> 16) & 0xff, (tbs.length >> 8) & 0xff, tbs.length & 0xff]);
  const extLen = Buffer.alloc(2);
  extLen.writeUInt16BE(sct.extensions.length);
  return Buffer.concat([head, issuerKeyHash, tbsLen, tbs, extLen, sct.extensions]);
}

/**
 * Requires at least one embedded SCT from a CT log in the trust root whose signature verifies and
 * whose timestamp is within that log key's validity. An SCT from a known log that fails is an
 * error; SCTs from unknown logs are ignored. Returns a check description.
 */
export function verifyEmbeddedSct(leaf: Certificate, issuer: Certificate, ctlogs: TransparencyLog[]): string {
  const ext = getExtension(leaf, OID.sctList);
  if (!ext) sctError('the signing certificate has no embedded SCT');
  if (issuer.extKeyUsage?.includes(OID.ekuCertificateTransparency)) sctError('precertificate signing certificates are not supported');
  if (leaf.tbs.length >= 1 << 24) sctError('certificate too large');
  const scts = parseSctList(Buffer.from(readOctetString(parseDer(ext.value, 'PERIM_E_TLOG'))));
  const tbs = precertificateTbs(leaf);
  const issuerKeyHash = createHash('sha256').update(issuer.spki).digest();
  let verified: string | undefined;
  for (const sct of scts) {
    const log = ctlogs.find((l) => l.logId.equals(sct.logId));
    if (!log) continue;
    if (sct.timestamp > 253402300799999n) sctError('SCT timestamp is out of range');
    const when = new Date(Number(sct.timestamp));
    if (!isValidAt(log.validFor, when)) sctError(`SCT from ${log.baseUrl} is dated ${when.toISOString()}, outside the log key's validity`);
    if (sct.hashAlgorithm !== 4) sctError('SCT hash algorithm is not SHA-256');
    if (!verifyWithLogKey(log, sctSignedData(sct, issuerKeyHash, tbs), sct.signature)) sctError(`SCT signature from ${log.baseUrl} does not verify`);
    verified ??= `embedded SCT verified (${log.baseUrl}, ${when.toISOString()})`;
  }
  if (verified === undefined) sctError('no embedded SCT comes from a CT log in the trust root');
  return verified;
}
