/**
 * X.509 certificate parsing (RFC 5280 4.1) with our bounded DER reader. Parsing proves nothing
 * about trust; chain.ts does that. Every failure is PERIM_E_CERT_MALFORMED.
 */
import { createPublicKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { PerimeterError } from '../../errors/errors.ts';
import {
  TAG,
  children,
  contents,
  contextTag,
  derError,
  encoded,
  expectTag,
  parseDer,
  readBitString,
  readBoolean,
  readOctetString,
  readOid,
  readSmallInt,
  readString,
  readTime,
  sequence,
} from './der.ts';
import type { DerElement } from './der.ts';
import {
  OID,
  decodeAuthorityKeyId,
  decodeBasicConstraints,
  decodeExtKeyUsage,
  decodeGeneralNames,
  decodeKeyUsage,
  decodeSubjectKeyId,
} from './extensions.ts';
import type { BasicConstraints, GeneralName, KeyUsage } from './extensions.ts';

export interface Name {
  /** The exact encoded Name (used for chaining). */
  der: Buffer;
  /** Readable form in encoding order, e.g. "O=sigstore.dev, CN=sigstore". Empty for an empty name. */
  text: string;
}

export interface Extension {
  oid: string;
  critical: boolean;
  /** extnValue contents (the bytes inside the OCTET STRING). */
  value: Buffer;
}

export interface Certificate {
  der: Buffer;
  /** The exact encoded TBSCertificate the issuer signed. */
  tbs: Buffer;
  version: 1 | 2 | 3;
  /** Serial number contents, hex. */
  serialNumber: string;
  /** signatureAlgorithm OID (outer; checked equal to the TBS copy). */
  signatureAlgorithm: string;
  /** signatureAlgorithm parameters (encoded), if any. */
  signatureAlgorithmParams?: Buffer;
  signature: Buffer;
  issuer: Name;
  subject: Name;
  notBefore: Date;
  notAfter: Date;
  /** The encoded SubjectPublicKeyInfo. */
  spki: Buffer;
  extensions: Extension[];
  basicConstraints?: BasicConstraints;
  keyUsage?: KeyUsage;
  extKeyUsage?: string[];
  subjectAltNames: GeneralName[];
  subjectKeyId?: Buffer;
  authorityKeyId?: Buffer;
}

const ATTRIBUTE_NAMES: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.5': 'serialNumber',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '1.2.840.113549.1.9.1': 'emailAddress',
  '0.9.2342.19200300.100.1.25': 'DC',
};

function escapeRdnValue(s: string): string {
  return s.replace(/[\\,+=]/g, (c) => `\\${c}`).replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function parseName(el: DerElement, what: string): Name {
  const rdns = sequence(el, what);
  const parts = rdns.map((rdn) => {
    const atvs = children(expectTag(rdn, TAG.SET, `${what} RDN`));
    if (atvs.length === 0) derError(el.code, `${what} has an empty RDN`);
    return atvs
      .map((atv) => {
        const [type, value, ...rest] = sequence(atv, `${what} attribute`);
        if (type === undefined || value === undefined || rest.length > 0) derError(el.code, `${what} attribute is malformed`);
        const oid = readOid(type);
        let text: string;
        try {
          text = readString(value);
        } catch {
          text = '#' + encoded(value).toString('hex');
        }
        return `${ATTRIBUTE_NAMES[oid] ?? oid}=${escapeRdnValue(text)}`;
      })
      .join('+');
  });
  return { der: Buffer.from(encoded(el)), text: parts.join(', ') };
}

function parseAlgorithm(el: DerElement | undefined, what: string): { oid: string; params?: Buffer; der: Buffer } {
  const [oidEl, params, ...rest] = sequence(el, what);
  if (rest.length > 0) derError('PERIM_E_CERT_MALFORMED', `${what} has extra fields`);
  const oid = readOid(expectTag(oidEl, TAG.OID, what));
  const der = encoded(el!);
  return params === undefined ? { oid, der } : { oid, params: Buffer.from(encoded(params)), der };
}

function parseExtensions(el: DerElement): Extension[] {
  const [list, ...rest] = children(el);
  if (rest.length > 0) derError(el.code, 'extensions field has extra elements');
  const items = sequence(list, 'extensions');
  if (items.length === 0) derError(el.code, 'extensions list is empty');
  const seen = new Set<string>();
  return items.map((item) => {
    const fields = sequence(item, 'extension');
    const oid = readOid(expectTag(fields[0], TAG.OID, 'extension id'));
    let critical = false;
    let i = 1;
    if (fields[i]?.tag === TAG.BOOLEAN) critical = readBoolean(fields[i++]!);
    const value = readOctetString(expectTag(fields[i++], TAG.OCTET_STRING, `extension ${oid} value`));
    if (i !== fields.length) derError(el.code, `extension ${oid} has extra fields`);
    if (seen.has(oid)) derError(el.code, `extension ${oid} appears twice`);
    seen.add(oid);
    return { oid, critical, value: Buffer.from(value) };
  });
}

function parse(der: Buffer): Certificate {
  const [tbsEl, sigAlgEl, sigEl, ...extra] = sequence(parseDer(der), 'certificate');
  if (extra.length > 0 || sigEl === undefined) derError('PERIM_E_CERT_MALFORMED', 'certificate is not a 3-field SEQUENCE');
  const tbs = sequence(tbsEl, 'TBSCertificate');
  let i = 0;
  let version: 1 | 2 | 3 = 1;
  if (tbs[0]?.tag === contextTag(0, true)) {
    const [v, ...more] = children(tbs[0]);
    if (v === undefined || more.length > 0) derError('PERIM_E_CERT_MALFORMED', 'certificate version is malformed');
    const n = readSmallInt(v, 'certificate version');
    if (n > 2) derError('PERIM_E_CERT_MALFORMED', `unknown certificate version ${n + 1}`);
    version = (n + 1) as 1 | 2 | 3;
    i++;
  }
  const serial = expectTag(tbs[i++], TAG.INTEGER, 'serialNumber');
  const innerAlg = parseAlgorithm(tbs[i++], 'TBS signature algorithm');
  const issuer = parseName(expectTag(tbs[i++], TAG.SEQUENCE, 'issuer'), 'issuer');
  const [nb, na, ...vrest] = sequence(tbs[i++], 'validity');
  if (nb === undefined || na === undefined || vrest.length > 0) derError('PERIM_E_CERT_MALFORMED', 'validity is malformed');
  const subject = parseName(expectTag(tbs[i++], TAG.SEQUENCE, 'subject'), 'subject');
  const spkiEl = expectTag(tbs[i++], TAG.SEQUENCE, 'subjectPublicKeyInfo');
  if (tbs[i]?.tag === contextTag(1, false)) i++; // issuerUniqueID
  if (tbs[i]?.tag === contextTag(2, false)) i++; // subjectUniqueID
  let extensions: Extension[] = [];
  if (tbs[i]?.tag === contextTag(3, true)) {
    if (version !== 3) derError('PERIM_E_CERT_MALFORMED', 'extensions in a certificate that is not version 3');
    extensions = parseExtensions(tbs[i++]!);
  }
  if (i !== tbs.length) derError('PERIM_E_CERT_MALFORMED', 'TBSCertificate has unexpected trailing fields');

  const outerAlg = parseAlgorithm(sigAlgEl, 'signature algorithm');
  if (!outerAlg.der.equals(innerAlg.der)) derError('PERIM_E_CERT_MALFORMED', 'signature algorithm differs between certificate and TBSCertificate');
  const sig = readBitString(sigEl);
  if (sig.unusedBits !== 0) derError('PERIM_E_CERT_MALFORMED', 'signature BIT STRING has unused bits');

  const cert: Certificate = {
    der,
    tbs: Buffer.from(encoded(tbsEl!)),
    version,
    serialNumber: contents(serial).toString('hex'),
    signatureAlgorithm: outerAlg.oid,
    signature: Buffer.from(sig.bytes),
    issuer,
    subject,
    notBefore: readTime(nb),
    notAfter: readTime(na),
    spki: Buffer.from(encoded(spkiEl)),
    extensions,
    subjectAltNames: [],
  };
  if (outerAlg.params !== undefined) cert.signatureAlgorithmParams = outerAlg.params;
  for (const ext of extensions) {
    switch (ext.oid) {
      case OID.basicConstraints:
        cert.basicConstraints = decodeBasicConstraints(ext.value);
        break;
      case OID.keyUsage:
        cert.keyUsage = decodeKeyUsage(ext.value);
        break;
      case OID.extKeyUsage:
        cert.extKeyUsage = decodeExtKeyUsage(ext.value);
        break;
      case OID.subjectAltName:
        cert.subjectAltNames = decodeGeneralNames(ext.value);
        break;
      case OID.subjectKeyIdentifier:
        cert.subjectKeyId = decodeSubjectKeyId(ext.value);
        break;
      case OID.authorityKeyIdentifier: {
        const kid = decodeAuthorityKeyId(ext.value);
        if (kid !== undefined) cert.authorityKeyId = kid;
        break;
      }
    }
  }
  return cert;
}

/** Parses one DER certificate. Throws PERIM_E_CERT_MALFORMED. */
export function parseCertificate(der: Uint8Array): Certificate {
  const buf = Buffer.from(der);
  try {
    return parse(buf);
  } catch (e) {
    if (e instanceof PerimeterError && e.code === 'PERIM_E_CERT_MALFORMED') throw e;
    throw new PerimeterError('PERIM_E_CERT_MALFORMED', `certificate could not be parsed: ${(e as Error)?.message ?? String(e)}`, { cause: e });
  }
}

export function getExtension(cert: Certificate, oid: string): Extension | undefined {
  return cert.extensions.find((e) => e.oid === oid);
}

/** The certificate's public key. Throws PERIM_E_CERT_MALFORMED when node cannot read it. */
export function certificatePublicKey(cert: Certificate): KeyObject {
  try {
    return createPublicKey({ key: cert.spki, format: 'der', type: 'spki' });
  } catch (e) {
    throw new PerimeterError('PERIM_E_CERT_MALFORMED', `certificate public key cannot be read: ${(e as Error).message}`, { cause: e });
  }
}

/** A one-line description for messages: subject, or the first SAN when the subject is empty. */
export function describeCertificate(cert: Certificate): string {
  if (cert.subject.text !== '') return `"${cert.subject.text}"`;
  const san = cert.subjectAltNames.find((n) => 'value' in n && typeof n.value === 'string');
  return san && 'value' in san ? `"${String(san.value)}" (SAN)` : `serial ${cert.serialNumber}`;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]*?)-----END CERTIFICATE-----/g;

/** Every CERTIFICATE block in a PEM text, as DER, in order. */
export function pemCertificates(text: string): Buffer[] {
  const out: Buffer[] = [];
  for (const m of text.matchAll(PEM_CERT)) out.push(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'));
  return out;
}

export function certificateToPem(der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}
