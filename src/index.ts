/**
 * Perimeter's library API. The CLI is a thin shell over these; the registry and admission
 * controller call them directly.
 */
export { ERROR_CODES, PerimeterError, isPerimeterError, type ErrorCode, type ErrorKind } from './errors/errors.ts';

// artifact: walking, hashing, manifests
export { hashModel, type HashOptions, type HashResult } from './artifact/hash.ts';
export { walkModel, resolveCliIgnorePaths, type ModelFile, type ModelWalk, type WalkOptions } from './artifact/walk.ts';
export { DEFAULT_SHARD_SIZE, HASH_ALGORITHMS, rootDigestHex, type HashAlgorithm, type Manifest, type Resource, type Serialization, type SerializationMethod } from './artifact/manifest.ts';

// signing: OMS bundles
export { signModel, verifyModel, readBundleFile, defaultSignaturePath, type SignOptions, type SignResult, type VerifyOptions, type VerifyResult } from './signing/model.ts';
export { KeySigner, KeyVerifier } from './signing/key-method.ts';
export { CertificateSigner, readPemCertificates } from './signing/certificate-signer.ts';
export { CertificateVerifier } from './signing/certificate-verifier.ts';
export { SigstoreVerifier } from './signing/sigstore/verifier.ts';
export { defaultTrustRoot, loadTrustRoot, parseTrustRoot } from './signing/sigstore/trust-root.ts';
export { loadPrivateKey, loadPublicKey, keyHint } from './signing/keys.ts';
export { parseBundle, type Bundle } from './signing/bundle.ts';
export { parseStatement, statementBytes, type SignedManifest } from './signing/statement.ts';
export type { Signer, Verifier, SignerIdentity, VerifiedPayload } from './signing/verifier.ts';
