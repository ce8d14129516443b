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

// config: the validated, frozen configuration file
export { loadConfig, parseConfig, resolveConfigPath, defaultConfigPath, type LoadedConfig, type ConfigProblem, type TrustMaterial } from './config/load.ts';
export { environmentSettings, environmentOfNamespace, type EnvironmentSettings } from './config/environments.ts';
export { configSchema, SCAN_LEVELS, type ConfigData, type ScanLevel } from './config/schema.ts';

// policy: admission decisions and the Kubernetes admission webhook
export { admit, type AdmissionContext, type AdmitRequest, type Decision } from './policy/admit.ts';
export { CHECKS, type CheckId, type Reason } from './policy/checks.ts';
export { admittedIn, latestDecision, type RecordedDecision } from './policy/decisions.ts';
export { reviewAdmission, parseReview, DIGEST_ANNOTATION, type ReviewResponse, type WebhookDeps } from './policy/webhook.ts';

// runtimes: registration, bindings, discovery
export { addRuntime, removeRuntime, listRuntimes, getRuntime, bindModel, unbindModel, RUNTIME_KINDS, type Runtime, type RuntimeKind, type RuntimeSpec, type ServedModel } from './registry/runtimes.ts';
export { syncRuntimes, type SyncOptions, type SyncReport, type RuntimeSyncResult } from './registry/runtimes-sync.ts';
export { FINDING_CODES, type Finding, type FindingCode } from './registry/runtimes-findings.ts';
export { discover, type DiscoveredModel, type DiscoveryOptions } from './registry/discovery/index.ts';

// server: the HTTP(S) server `perimeter serve` runs
export { HttpServer, parseListen, type Handler, type Reply, type Request as HttpRequest, type RouteOptions } from './server/server.ts';
export { serve, addAdmissionRoute, addHealthRoute, type ServeOptions, type Serving } from './server/serve.ts';

// scan: code that runs on load
export { scanPath, verdictOf, type ScanReport, type ScanOptions, type FileResult, type Verdict } from './scan/scan.ts';
export { toSarif } from './scan/sarif.ts';
export { RULES as SCAN_RULES } from './scan/rules.ts';
export type { Finding as ScanFinding, Severity, ScanLimits } from './scan/types.ts';

// store and registry: the inventory
export { openStore, resolveDbTarget, defaultDbPath, type Store } from './store/store.ts';
export { registerModel, type RegisterOptions, type RegisterResult } from './registry/register.ts';
export { lineage, assessModification, type LineageResult } from './registry/lineage.ts';
export { inventory, writeInventoryJson, type Inventory } from './registry/inventory.ts';
export { buildBom } from './registry/bom.ts';

// audit: the tamper-evident log
export * from './audit/audit.ts';

// gateway: the inference chokepoint (perimeter serve)
export { Gateway, STARTER_POLICY, DEV_POLICY, type GatewayOptions } from './gateway/gateway.ts';
export type { Principal, Authenticator, Authorizer, AuthzRequest, AuthzDecision, RateLimiter, LimitResult, KillSwitch, KillTarget, KillEvent, Guard, GuardResult, GuardFinding } from './gateway/types.ts';
export { createAuthenticator, createApiKey, listApiKeys, revokeApiKey, type ApiKeySpec, type CreatedApiKey } from './gateway/identity/index.ts';
export { CedarAuthorizer } from './policy/authz/authorizer.ts';
export { createRateLimiter } from './gateway/limits/index.ts';
export { LiveKillSwitch } from './gateway/killswitch/live.ts';
export { kill, revive, listKills } from './gateway/killswitch/store.ts';
export { GuardSet, OutputStreamGuard, guardOutputText, guardRequestBody, ClassifierGuard } from './gateway/guards/index.ts';
