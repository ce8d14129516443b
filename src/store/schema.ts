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
}

export interface ServedModelTable {
  runtime: string;
  model_id: string;
  served_digest: string | null; // what the runtime reports (e.g. an Ollama blob sha256)
  artifact_digest: string | null; // the registered artifact it matches, if any
  source: string; // discovery | binding
  details: string; // JSON
  seen_at: number;
}

export interface Database {
  artifacts: ArtifactTable;
  lineage: LineageTable;
  admissions: AdmissionTable;
  runtimes: RuntimeTable;
  served_models: ServedModelTable;
}
