/**
 * The audit room's public surface. Other rooms record through `AuditLog` (an EventSink):
 *
 *   const log = await AuditLog.open(store);          // key made on first start (keys.ts)
 *   log.submit(event);                               // hot path: fire and forget
 *   const { index } = await log.append(event);       // resolves once durable
 *   log.startCheckpointing(60_000);                  // signed checkpoints on an interval
 *   await log.close();
 */
export { AuditLog, type AuditLogOptions, type Appended } from './log.ts';
export { MemorySink, type AuditEvent, type EventSink } from './events.ts';
export { verifyStore, type VerifyStoreOptions } from './verify.ts';
export { exportLog, EXPORT_KIND, type ExportOptions, type ExportResult } from './export.ts';
export { verifyExportFile, verifyExportLines } from './export-verify.ts';
export { inclusionProof, consistencyProof } from './prove.ts';
export { verifyConsistency, verifyInclusion, type ConsistencyProof, type InclusionProof } from './proofs.ts';
export { verifyConsistencyOffline, verifyInclusionOffline, verifyProofDocument } from './offline.ts';
export { openCheckpoint, parseVkey, type Checkpoint, type VerifierKey } from './note.ts';
export { auditFiles, defaultKeyPath, loadVerifierKey, readKey, type AuditKey } from './keys.ts';
export { canonicalJson } from './canonical.ts';
export { CONTENT_FIELDS, contentDigest, type PrivacyOptions } from './privacy.ts';
export type { AuditProblem, AuditReport } from './replay.ts';
