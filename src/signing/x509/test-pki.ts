/**
 * Test support only: builds small X.509 certificates with node:crypto and our DER writer, so tests
 * can make CAs, expired certificates, non-CA intermediates and odd extensions without fixtures.
 */
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { certificateToPem, parseCertificate } from './certificate.ts';
import type { Certificate } from './certificate.ts';
import {
  encodeBitString,
  encodeBoolean,
  encodeInteger,
  encodeOctetString,
  encodeOid,
  encodeTime,
  encodeUtf8String,
  seq,
  set,
  tlv,
} from './der-write.ts';
import { OID } from './extensions.ts';
import type { KeyUsageName } from './extensions.ts';

export interface KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export function makeKeyPair(curve: 'P-256' | 'P-384' | 'P-521' = 'P-256'): KeyPair {
  return generateKeyPairSync('ec', { namedCurve: curve });
}

export interface TestCert extends KeyPair {
  der: Buffer;
  pem: string;
  cert: Certificate;
}

export interface RawExtension {
  oid: string;
  critical?: boolean;
  value: Buffer;
}

export interface CertOptions {
  /** CN of the subject, or '' for an empty subject. */
  subject: string;
  /** The issuing certificate; self-signed when absent. */
  issuer?: TestCert;
  keys?: KeyPair;
  notBefore?: Date;
  notAfter?: Date;
  serial?: number;
  /** basicConstraints: omitted when undefined. */
  ca?: { cA: boolean; pathLen?: number };
  keyUsage?: KeyUsageName[];
  extKeyUsage?: string[];
  san?: ({ email: string } | { uri: string } | { dns: string })[];
  extensions?: RawExtension[];
}

const KU_ORDER: KeyUsageName[] = ['digitalSignature', 'nonRepudiation', 'keyEncipherment', 'dataEncipherment', 'keyAgreement', 'keyCertSign', 'cRLSign', 'encipherOnly', 'decipherOnly'];

function keyUsageValue(names: KeyUsageName[]): Buffer {
  const bits = KU_ORDER.map((n) => names.includes(n));
  const last = bits.lastIndexOf(true);
  const nbytes = Math.max(1, Math.ceil((last + 1) / 8));
  const bytes = Buffer.alloc(nbytes);
  bits.forEach((on, i) => {
    if (on) bytes[i >> 3]! |= 0x80 >> (i & 7);
  });
  const unused = last < 0 ? 0 : nbytes * 8 - (last + 1);
  return encodeBitString(bytes, unused);
}

export function encodeName(cn: string): Buffer {
  if (cn === '') return seq();
  return seq(set(seq(encodeOid('2.5.4.3'), encodeUtf8String(cn))));
}

function encodeExtension(e: RawExtension): Buffer {
  return seq(encodeOid(e.oid), ...(e.critical ? [encodeBoolean(true)] : []), encodeOctetString(e.value));
}

function sigAlgFor(key: KeyObject): { oid: string; hash: string } {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (curve === 'secp384r1') return { oid: '1.2.840.10045.4.3.3', hash: 'sha384' };
  if (curve === 'secp521r1') return { oid: '1.2.840.10045.4.3.4', hash: 'sha512' };
  return { oid: '1.2.840.10045.4.3.2', hash: 'sha256' };
}

let serialCounter = 1000;

/** Builds the TBSCertificate, optionally rewritten by `mutateTbs`, and signs it. */
export function makeCert(opts: CertOptions, mutateTbs?: (tbs: Buffer) => Buffer): TestCert {
  const keys = opts.keys ?? makeKeyPair();
  const signer = opts.issuer ?? { ...keys, cert: undefined };
  const spki = keys.publicKey.export({ type: 'spki', format: 'der' });
  const ski = createHash('sha256').update(spki).digest().subarray(0, 20);
  const issuerSki = opts.issuer?.cert.subjectKeyId ?? ski;
  const exts: RawExtension[] = [];
  if (opts.ca) {
    const bc = [...(opts.ca.cA ? [encodeBoolean(true)] : []), ...(opts.ca.pathLen !== undefined ? [encodeInteger(opts.ca.pathLen)] : [])];
    exts.push({ oid: OID.basicConstraints, critical: true, value: seq(...bc) });
  }
  if (opts.keyUsage) exts.push({ oid: OID.keyUsage, critical: true, value: keyUsageValue(opts.keyUsage) });
  if (opts.extKeyUsage) exts.push({ oid: OID.extKeyUsage, value: seq(...opts.extKeyUsage.map(encodeOid)) });
  exts.push({ oid: OID.subjectKeyIdentifier, value: encodeOctetString(ski) });
  exts.push({ oid: OID.authorityKeyIdentifier, value: seq(tlv(0x80, issuerSki)) });
  if (opts.san) {
    const names = opts.san.map((n) =>
      'email' in n ? tlv(0x81, Buffer.from(n.email)) : 'uri' in n ? tlv(0x86, Buffer.from(n.uri)) : tlv(0x82, Buffer.from(n.dns)),
    );
    exts.push({ oid: OID.subjectAltName, critical: opts.subject === '', value: seq(...names) });
  }
  exts.push(...(opts.extensions ?? []));

  const alg = sigAlgFor(signer.privateKey);
  const algId = seq(encodeOid(alg.oid));
  const now = Date.now();
  let tbs = seq(
    tlv(0xa0, encodeInteger(2)),
    encodeInteger(opts.serial ?? serialCounter++),
    algId,
    opts.issuer ? Buffer.from(opts.issuer.cert.subject.der) : encodeName(opts.subject),
    seq(encodeTime(opts.notBefore ?? new Date(now - 3600_000)), encodeTime(opts.notAfter ?? new Date(now + 365 * 86400_000))),
    encodeName(opts.subject),
    spki,
    tlv(0xa3, seq(...exts.map(encodeExtension))),
  );
  if (mutateTbs) tbs = mutateTbs(tbs);
  const signature = sign(alg.hash, tbs, signer.privateKey);
  const der = seq(tbs, algId, encodeBitString(signature));
  return { ...keys, der, pem: certificateToPem(der), cert: parseCertificate(der) };
}

/** A root → intermediate → leaf chain, all valid now, the leaf allowed to sign code. */
export function makeChain(): { root: TestCert; intermediate: TestCert; leaf: TestCert } {
  const root = makeCert({ subject: 'test-root', ca: { cA: true }, keyUsage: ['keyCertSign', 'cRLSign'], keys: makeKeyPair('P-384') });
  const intermediate = makeCert({ subject: 'test-intermediate', issuer: root, ca: { cA: true, pathLen: 0 }, keyUsage: ['keyCertSign'] });
  const leaf = makeCert({ subject: 'test-leaf', issuer: intermediate, keyUsage: ['digitalSignature'], extKeyUsage: [OID.ekuCodeSigning] });
  return { root, intermediate, leaf };
}
