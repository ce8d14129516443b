/**
 * Decoders for the X.509 v3 extensions Perimeter acts on (RFC 5280 4.2), and the Fulcio ones.
 * Each takes the extension's extnValue contents (the bytes inside the OCTET STRING).
 */
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
  sequence,
} from './der.ts';

export const OID = {
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  nameConstraints: '2.5.29.30',
  certificatePolicies: '2.5.29.32',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  ekuCodeSigning: '1.3.6.1.5.5.7.3.3',
  ekuCertificateTransparency: '1.3.6.1.4.1.11129.2.4.4',
  /** RFC 6962 embedded SCT list. */
  sctList: '1.3.6.1.4.1.11129.2.4.2',
  /** Fulcio: OIDC issuer, raw UTF-8 bytes as the extension value (deprecated). */
  fulcioIssuerV1: '1.3.6.1.4.1.57264.1.1',
  /** Fulcio: OIDC issuer, a DER UTF8String. */
  fulcioIssuerV2: '1.3.6.1.4.1.57264.1.8',
  /** Fulcio: SAN otherName type for non-email, non-URI identities. */
  fulcioOtherName: '1.3.6.1.4.1.57264.1.7',
} as const;

export interface BasicConstraints {
  cA: boolean;
  pathLen?: number;
}

export function decodeBasicConstraints(value: Buffer): BasicConstraints {
  const items = sequence(parseDer(value), 'basicConstraints');
  let i = 0;
  let cA = false;
  if (items[i]?.tag === TAG.BOOLEAN) {
    cA = readBoolean(items[i]!);
    i++;
  }
  let pathLen: number | undefined;
  if (items[i] !== undefined) {
    pathLen = readSmallInt(items[i]!, 'basicConstraints pathLenConstraint');
    i++;
  }
  if (i !== items.length) derError('PERIM_E_CERT_MALFORMED', 'basicConstraints has extra fields');
  return pathLen === undefined ? { cA } : { cA, pathLen };
}

const KEY_USAGE_BITS = [
  'digitalSignature',
  'nonRepudiation',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
] as const;
export type KeyUsageName = (typeof KEY_USAGE_BITS)[number];
export type KeyUsage = Record<KeyUsageName, boolean>;

export function decodeKeyUsage(value: Buffer): KeyUsage {
  const { bytes } = readBitString(parseDer(value));
  const out = {} as KeyUsage;
  KEY_USAGE_BITS.forEach((name, bit) => {
    const byte = bytes[bit >> 3] ?? 0;
    out[name] = (byte & (0x80 >> (bit & 7))) !== 0;
  });
  return out;
}

export function decodeExtKeyUsage(value: Buffer): string[] {
  const items = sequence(parseDer(value), 'extendedKeyUsage');
  if (items.length === 0) derError('PERIM_E_CERT_MALFORMED', 'extendedKeyUsage is empty');
  return items.map(readOid);
}

export type GeneralName =
  | { type: 'email'; value: string }
  | { type: 'dns'; value: string }
  | { type: 'uri'; value: string }
  | { type: 'ip'; value: string }
  | { type: 'otherName'; oid: string; value: Buffer }
  | { type: 'directoryName'; der: Buffer }
  | { type: 'unsupported'; tag: number };

function formatIp(b: Buffer): string {
  if (b.length === 4) return [...b].join('.');
  if (b.length === 16) {
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
    return groups.join(':');
  }
  return derError('PERIM_E_CERT_MALFORMED', 'iPAddress SAN is neither 4 nor 16 bytes');
}

/** GeneralNames (RFC 5280 4.2.1.6), as used by subjectAltName. */
export function decodeGeneralNames(value: Buffer): GeneralName[] {
  const items = sequence(parseDer(value), 'GeneralNames');
  return items.map((gn): GeneralName => {
    const v = contents(gn);
    switch (gn.tag) {
      case contextTag(0, true): {
        const [typeId, explicit, ...rest] = children(gn);
        if (typeId === undefined || explicit === undefined || rest.length > 0 || explicit.tag !== contextTag(0, true)) {
          derError(gn.code, 'otherName SAN is malformed');
        }
        const inner = children(explicit);
        if (inner.length !== 1) derError(gn.code, 'otherName SAN value is malformed');
        return { type: 'otherName', oid: readOid(typeId), value: encoded(inner[0]!) };
      }
      case contextTag(1, false):
        return { type: 'email', value: asciiName(v, 'rfc822Name') };
      case contextTag(2, false):
        return { type: 'dns', value: asciiName(v, 'dNSName') };
      case contextTag(4, true): {
        const inner = children(gn);
        if (inner.length !== 1) derError(gn.code, 'directoryName SAN is malformed');
        return { type: 'directoryName', der: encoded(expectTag(inner[0], TAG.SEQUENCE, 'directoryName')) };
      }
      case contextTag(6, false):
        return { type: 'uri', value: asciiName(v, 'uniformResourceIdentifier') };
      case contextTag(7, false):
        return { type: 'ip', value: formatIp(v) };
      default:
        return { type: 'unsupported', tag: gn.tag };
    }
  });
}

function asciiName(v: Buffer, what: string): string {
  if (v.some((b) => b < 0x20 || b > 0x7e)) derError('PERIM_E_CERT_MALFORMED', `${what} holds a non-printable or non-ASCII byte`);
  return v.toString('latin1');
}

export function decodeSubjectKeyId(value: Buffer): Buffer {
  return Buffer.from(readOctetString(parseDer(value)));
}

/** The keyIdentifier of an authorityKeyIdentifier, when present. */
export function decodeAuthorityKeyId(value: Buffer): Buffer | undefined {
  const items = sequence(parseDer(value), 'authorityKeyIdentifier');
  const kid = items.find((i) => i.tag === contextTag(0, false));
  return kid === undefined ? undefined : Buffer.from(contents(kid));
}

/** An extension whose value is one DER UTF8String (Fulcio 1.3.6.1.4.1.57264.1.8 and later). */
export function decodeUtf8StringExtension(value: Buffer): string {
  return readString(expectTag(parseDer(value), TAG.UTF8_STRING, 'UTF8String extension'));
}

/** An extension whose value is raw UTF-8 text (Fulcio 1.3.6.1.4.1.57264.1.1). */
export function decodeRawUtf8Extension(value: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(value);
  } catch {
    return derError('PERIM_E_CERT_MALFORMED', 'extension value is not valid UTF-8');
  }
}
