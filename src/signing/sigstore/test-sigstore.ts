/**
 * Test support only: a miniature Sigstore (Fulcio CA, CT log, Rekor log) made of fresh keys, so
 * tests can build bundles the real vectors cannot provide (an expired leaf, a bad DSSE signature,
 * a missing SCT) and still have every other check pass.
 */
import { createHash, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { Bundle } from '../bundle.ts';
import { pae } from '../dsse.ts';
import { encodeOctetString, encodeUtf8String } from '../x509/der-write.ts';
import { OID } from '../x509/extensions.ts';
import type { KeyUsageName } from '../x509/extensions.ts';
import { makeCert, makeKeyPair } from '../x509/test-pki.ts';
import type { KeyPair, RawExtension, TestCert } from '../x509/test-pki.ts';
import { hashChildren, hashLeaf } from './merkle.ts';
import { setPayload } from './rekor.ts';
import { sctSignedData } from './sct.ts';
import { parseTrustRoot } from './trust-root.ts';
import type { TrustRoot } from './trust-root.ts';

export interface LeafOptions {
  san?: { email: string } | { uri: string };
  issuerV2?: string | null;
  issuerV1?: string | null;
  notBefore?: Date;
  notAfter?: Date;
  keyUsage?: KeyUsageName[];
  extKeyUsage?: string[];
  /** 'valid' (default), 'none', or signed by a key that is not the trusted CT log's. */
  sct?: 'valid' | 'none' | 'wrong-key';
}

export interface BundleOptions {
  leaf?: TestCert;
  integratedTime?: Date;
  payload?: Buffer;
  /** Sign the DSSE envelope with this key instead of the leaf's. */
  dsseKey?: KeyObject;
  withSet?: boolean;
  withProof?: boolean;
}

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

function treeHash(leaves: Buffer[]): Buffer {
  if (leaves.length === 1) return leaves[0]!;
  const k = 2 ** Math.floor(Math.log2(leaves.length - 1));
  return hashChildren(treeHash(leaves.slice(0, k)), treeHash(leaves.slice(k)));
}

function auditPath(m: number, leaves: Buffer[]): Buffer[] {
  if (leaves.length === 1) return [];
  const k = 2 ** Math.floor(Math.log2(leaves.length - 1));
  return m < k ? [...auditPath(m, leaves.slice(0, k)), treeHash(leaves.slice(k))] : [...auditPath(m - k, leaves.slice(k)), treeHash(leaves.slice(0, k))];
}

export class FakeSigstore {
  readonly root: TestCert;
  readonly intermediate: TestCert;
  readonly rekor: KeyPair = makeKeyPair('P-256');
  readonly ct: KeyPair = makeKeyPair('P-256');
  readonly trustRootJson: Record<string, unknown>;
  readonly trustRoot: TrustRoot;
  readonly rekorLogId: Buffer;

  constructor() {
    const year = 365 * 86400_000;
    const now = Date.now();
    this.root = makeCert({ subject: 'fake-fulcio-root', ca: { cA: true, pathLen: 1 }, keyUsage: ['keyCertSign', 'cRLSign'], keys: makeKeyPair('P-384'), notBefore: new Date(now - 5 * year), notAfter: new Date(now + 5 * year) });
    this.intermediate = makeCert({ subject: 'fake-fulcio-intermediate', issuer: this.root, ca: { cA: true, pathLen: 0 }, keyUsage: ['keyCertSign'], extKeyUsage: [OID.ekuCodeSigning], keys: makeKeyPair('P-384'), notBefore: new Date(now - 5 * year), notAfter: new Date(now + 5 * year) });
    const spki = (k: KeyObject) => k.export({ type: 'spki', format: 'der' });
    this.rekorLogId = createHash('sha256').update(spki(this.rekor.publicKey)).digest();
    const start = new Date(now - 5 * year).toISOString();
    const log = (url: string, key: KeyObject) => ({
      baseUrl: url,
      hashAlgorithm: 'SHA2_256',
      publicKey: { rawBytes: b64(spki(key)), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start } },
      logId: { keyId: b64(createHash('sha256').update(spki(key)).digest()) },
    });
    this.trustRootJson = {
      mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
      tlogs: [log('https://rekor.fake', this.rekor.publicKey)],
      certificateAuthorities: [
        {
          subject: { organization: 'fake', commonName: 'fake-fulcio' },
          uri: 'https://fulcio.fake',
          certChain: { certificates: [{ rawBytes: b64(this.intermediate.der) }, { rawBytes: b64(this.root.der) }] },
          validFor: { start },
        },
      ],
      ctlogs: [log('https://ct.fake', this.ct.publicKey)],
      timestampAuthorities: [],
    };
    this.trustRoot = parseTrustRoot(JSON.stringify(this.trustRootJson));
  }

  /** A Fulcio-style leaf for `alice@example.com` from `https://issuer.example`, valid 10 minutes. */
  issue(opts: LeafOptions = {}): TestCert {
    const notBefore = opts.notBefore ?? new Date(Math.floor(Date.now() / 1000) * 1000 - 3600_000);
    const base = {
      subject: '',
      issuer: this.intermediate,
      keys: makeKeyPair('P-256'),
      serial: Math.floor(Math.random() * 2 ** 40),
      notBefore,
      notAfter: opts.notAfter ?? new Date(notBefore.getTime() + 600_000),
      keyUsage: opts.keyUsage ?? ['digitalSignature'],
      extKeyUsage: opts.extKeyUsage ?? [OID.ekuCodeSigning],
      san: [opts.san ?? { email: 'alice@example.com' }],
    };
    const exts: RawExtension[] = [];
    const v1 = opts.issuerV1 === undefined ? 'https://issuer.example' : opts.issuerV1;
    const v2 = opts.issuerV2 === undefined ? 'https://issuer.example' : opts.issuerV2;
    if (v1 !== null) exts.push({ oid: OID.fulcioIssuerV1, value: Buffer.from(v1) });
    if (v2 !== null) exts.push({ oid: OID.fulcioIssuerV2, value: encodeUtf8String(v2) });
    if ((opts.sct ?? 'valid') === 'none') return makeCert({ ...base, extensions: exts });

    const pre = makeCert({ ...base, extensions: exts });
    const ctKey = opts.sct === 'wrong-key' ? makeKeyPair('P-256').privateKey : this.ct.privateKey;
    const sct = { timestamp: BigInt(notBefore.getTime() + 500), extensions: Buffer.alloc(0) };
    const issuerKeyHash = createHash('sha256').update(this.intermediate.cert.spki).digest();
    const sig = sign('sha256', sctSignedData(sct, issuerKeyHash, pre.cert.tbs), ctKey);
    const logId = createHash('sha256').update(this.ct.publicKey.export({ type: 'spki', format: 'der' })).digest();
    const one = Buffer.alloc(1 + 32 + 8 + 2 + 4);
    one[0] = 0;
    logId.copy(one, 1);
    one.writeBigUInt64BE(sct.timestamp, 33);
    one.writeUInt16BE(0, 41);
    one[43] = 4; // sha256
    one[44] = 3; // ecdsa
    one.writeUInt16BE(sig.length, 45);
    const item = Buffer.concat([one, sig]);
    const list = Buffer.concat([Buffer.from([(item.length + 2) >> 8, (item.length + 2) & 0xff, item.length >> 8, item.length & 0xff]), item]);
    return makeCert({ ...base, extensions: [...exts, { oid: OID.sctList, value: encodeOctetString(list) }] });
  }

  /** A complete sigstore bundle: DSSE envelope, leaf, Rekor dsse entry with SET and inclusion proof. */
  bundle(opts: BundleOptions = {}): Bundle {
    const leaf = opts.leaf ?? this.issue();
    const payload = opts.payload ?? Buffer.from('{"_type":"https://in-toto.io/Statement/v1","subject":[]}');
    const sig = sign('sha256', pae(payload), opts.dsseKey ?? leaf.privateKey);
    const body = Buffer.from(
      JSON.stringify({
        apiVersion: '0.0.1',
        kind: 'dsse',
        spec: {
          envelopeHash: { algorithm: 'sha256', value: '00'.repeat(32) },
          payloadHash: { algorithm: 'sha256', value: createHash('sha256').update(payload).digest('hex') },
          signatures: [{ signature: b64(sig), verifier: b64(Buffer.from(leaf.pem)) }],
        },
      }),
    );
    const t = BigInt(Math.floor((opts.integratedTime ?? new Date(leaf.cert.notBefore.getTime() + 1000)).getTime() / 1000));
    const leaves = [0, 1, 2, 3, 4].map((i) => (i === 3 ? hashLeaf(body) : hashLeaf(Buffer.from(`other entry ${i}`))));
    const root = treeHash(leaves);
    const note = `rekor.fake - 42\n${leaves.length}\n${b64(root)}\n`;
    const noteSig = Buffer.concat([this.rekorLogId.subarray(0, 4), sign('sha256', Buffer.from(note), this.rekor.privateKey)]);
    const logIndex = 1003n;
    const entry: Bundle['verificationMaterial']['tlogEntries'] = [
      {
        logIndex: String(logIndex),
        logId: { keyId: b64(this.rekorLogId) },
        kindVersion: { kind: 'dsse', version: '0.0.1' },
        integratedTime: String(t),
        canonicalizedBody: b64(body),
      },
    ];
    if (opts.withSet ?? true) {
      entry[0]!.inclusionPromise = { signedEntryTimestamp: b64(sign('sha256', setPayload(body, t, this.rekorLogId, logIndex), this.rekor.privateKey)) };
    }
    if (opts.withProof ?? true) {
      entry[0]!.inclusionProof = {
        logIndex: '3',
        rootHash: b64(root),
        treeSize: String(leaves.length),
        hashes: auditPath(3, leaves).map(b64),
        checkpoint: { envelope: `${note}\n\u2014 rekor.fake ${b64(noteSig)}\n` },
      };
    }
    return {
      mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      verificationMaterial: { certificate: { rawBytes: b64(leaf.der) }, tlogEntries: entry },
      dsseEnvelope: { payload: b64(payload), payloadType: 'application/vnd.in-toto+json', signatures: [{ sig: b64(sig) }] },
    };
  }
}
