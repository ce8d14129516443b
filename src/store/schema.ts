/**
 * Table types for kysely. JSON is stored as text and timestamps as epoch milliseconds, so the same
 * queries run on SQLite and PostgreSQL. Booleans are 0/1 integers for the same reason.
 * Each room adds its tables here and a migration in migrations.ts.
 */
import type { Generated } from 'kysely';

export interface ArtifactTable {
  digest: string; // sha256:<hex>, the root digest
  name: string;
  kind: string; // base | fine-tune | adapter | quantization | merge | unknown
  format: string | null; // safetensors, gguf, pytorch, ...
  license: string | null; // SPDX id
  parent_digest: string | null;
  predecessor_digest: string | null; // the previous version (same name, files changed)
  path: string | null;
  bytes: number;
  files: number;
  signer_method: string | null; // key | certificate | sigstore
  signer: string | null; // key hint, certificate subject or identity
  signer_issuer: string | null;
  signature_verified: number; // 0/1
  scan_verdict: string | null; // clean | low | suspicious | dangerous
  scan_findings: number;
  scan_summary: string; // JSON
  metadata: string; // JSON
  tier: number | null;
  created_at: number;
  updated_at: number;
  /** 0003: none (no signature) | unverified (signed, no trust material given) | verified | invalid. */
  signature_status: Generated<string>;
  /** 0003: JSON: the checks that passed, or the error code and message. */
  signature_evidence: Generated<string>;
  /** 0003: training compute in FLOP (own training for a base, the modification for a derivative). */
  training_flops: number | null;
  /**
   * 0003: the registry's columns of this row (and its parent's name) as one JSON object, written by
   * src/registry with the row, so `inventory --json` reads one column; NULL: built from the columns.
   */
  inventory_json: string | null;
}

export interface LineageTable {
  child_digest: string;
  parent_digest: string; // digest, or "name:<model id>" when the parent is not registered yet
  relation: string; // fine-tune | adapter | quantization | merge | derivative
  details: string; // JSON
  created_at: number;
}

export interface AdmissionTable {
  id: Generated<number>;
  digest: string;
  env: string;
  allowed: number; // 0/1
  reasons: string; // JSON array
  decided_at: number;
}

export interface RuntimeTable {
  name: string;
  kind: string; // ollama | vllm | llamacpp | openai | closed-api
  url: string;
  created_at: number;
  updated_at: number;
  last_sync_at: number | null;
  last_sync_error: string | null;
  env: string | null; // the admission environment it serves; null: admitted in any environment will do
}

export interface ServedModelTable {
  runtime: string;
  model_id: string;
  served_digest: string | null; // what the runtime reports (e.g. an Ollama blob sha256)
  artifact_digest: string | null; // the registered artifact it matches, if any
  source: string; // discovery | binding
  details: string; // JSON
  seen_at: number;
  finding: string | null; // unknown_model | not_admitted | mismatch; null when in order
}

/** One audit log entry: a leaf of the Merkle tree (src/audit). */
export interface AuditEntryTable {
  idx: number; // leaf index, 0.., gap-free
  at: number; // the event's time, epoch ms
  type: string; // the event type, for queries
  entry: string; // canonical JSON of the event: the exact bytes the leaf hashes
  leaf_hash: string; // hex SHA-256(0x00 || entry)
  mac: string; // hex HMAC over (idx, leaf hash) with a key derived from the audit key
}

/** Perfect subtree hashes of the audit tree (level >= 1), kept so proofs never rescan leaves. */
export interface AuditNodeTable {
  id: number; // (last leaf index) * 64 + level
  hash: string; // hex
}

/** The one row (id 1) holding the audit tree's size and compact range, so appends are O(log n). */
export interface AuditHeadTable {
  id: number;
  size: number;
  frontier: string; // JSON array of hex subtree roots, largest first
  mac: string; // hex HMAC over (size, frontier); '' for the empty log
  updated_at: number;
}

/** Signed checkpoints (C2SP tlog-checkpoint notes), one per tree size. */
export interface AuditCheckpointTable {
  size: number;
  root: string; // hex
  note: string; // the signed note text
  created_at: number;
}

/** A gateway API key (src/gateway/identity). The secret itself is never stored. */
export interface ApiKeyTable {
  id: string; // the public key id, e.g. "pk_4f2a..." (also the lookup key)
  name: string;
  principal: string; // the principal id requests with this key act as
  attributes: string; // JSON: { org?, groups?, verified?, attestations?, ... }
  hash: string; // hex SHA-256 of the secret part
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  created_by: string;
}

/** A kill-switch entry (src/gateway/killswitch): active while revived_at is null. */
export interface KillTable {
  id: Generated<number>;
  kind: string; // model | principal | runtime
  target: string; // a model id or artifact digest, a principal id, a runtime name
  reason: string;
  actor: string;
  created_at: number;
  revived_at: number | null;
  revived_by: string | null;
}

/** A page of the inventory listing (src/registry/inventory-pages.ts); id 0 is the tail and has no body. */
export interface InventoryPageTable {
  id: number;
  hi_created_at: number | null; // the key of the page's last row; null for the tail
  hi_digest: string | null;
  rows: number;
  codec: string; // none | zstd
  body: Uint8Array | null; // the page's listing text (artifact texts joined by ",\n"), encoded by codec
  tail_rows: number | null; // page 0 only: the rows its body holds; null while the tail is not stored
}

/** A change to the rows of a page, filed by triggers; none for a page means its body is current. */
export interface InventoryChangeTable {
  id: Generated<number>;
  page: number;
}

export interface Database {
  artifacts: ArtifactTable;
  lineage: LineageTable;
  admissions: AdmissionTable;
  runtimes: RuntimeTable;
  served_models: ServedModelTable;
  audit_entries: AuditEntryTable;
  audit_nodes: AuditNodeTable;
  audit_head: AuditHeadTable;
  audit_checkpoints: AuditCheckpointTable;
  api_keys: ApiKeyTable;
  kills: KillTable;
  inventory_pages: InventoryPageTable;
  inventory_changes: InventoryChangeTable;
}
