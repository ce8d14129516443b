/**
 * The scanner's shared contract. Format scanners (pickle, archives, safetensors, GGUF, ...) read
 * a Blob and report Findings through a ScanContext; they never execute what they read.
 */

/**
 * info: recorded, never fails a scan. low: fails only with --strict.
 * suspicious: fails by default (includes "could not fully parse"). dangerous: code would run on load.
 */
export type Severity = 'info' | 'low' | 'suspicious' | 'dangerous';
export const SEVERITY_RANK: Readonly<Record<Severity, number>> = { info: 0, low: 1, suspicious: 2, dangerous: 3 };
export const maxSeverity = (a: Severity, b: Severity): Severity => (SEVERITY_RANK[a] >= SEVERITY_RANK[b] ? a : b);

export interface Finding {
  /** Stable rule id, e.g. "PICKLE_DANGEROUS_GLOBAL" (see rules.ts). */
  ruleId: string;
  severity: Severity;
  /** The file on disk, as the user named it (or relative to the folder they named). */
  file: string;
  /** Path of members inside archives, outermost first; empty for a plain file. */
  member: string[];
  /** Byte offset inside the innermost file or member, when it means something. */
  offset?: number;
  /** One line a person can act on. */
  message: string;
  /** What was seen: a global like "os.system", a template snippet, a header field. */
  evidence?: string;
  remediation: string;
}

/** What a scanner reports; the context fills in file and member. */
export type FindingInput = Omit<Finding, 'file' | 'member' | 'remediation' | 'severity'> & {
  severity?: Severity; // default: the rule's severity
  remediation?: string; // default: the rule's remediation
};

/** Random-access bytes: a file on disk, or an extracted member in memory. Reads are bounded by the caller. */
export interface Blob {
  readonly size: number;
  /** Up to `length` bytes from `offset` (fewer at the end). Synchronous: files use readSync. */
  read(offset: number, length: number): Buffer;
}

export interface ScanLimits {
  /** Largest pickle / JSON / template / member the scanner will read into memory. */
  maxBytes: number;
  /** Archive nesting depth (a zip in a tar in a gzip is depth 3). */
  maxDepth: number;
  /** Members per archive. */
  maxMembers: number;
  /** Bytes decompressed in total per top-level file. */
  maxTotalBytes: number;
  /** Largest allowed decompressed/compressed ratio for a member over 1 MiB. */
  maxRatio: number;
  /** Pickle opcodes per stream. */
  maxOpcodes: number;
  /** Wall-clock budget per top-level file, ms. */
  timeoutMs: number;
}

export const DEFAULT_LIMITS: Readonly<ScanLimits> = Object.freeze({
  maxBytes: 512 * 1024 * 1024,
  maxDepth: 6,
  maxMembers: 100_000,
  maxTotalBytes: 2 * 1024 * 1024 * 1024,
  maxRatio: 200,
  maxOpcodes: 50_000_000,
  timeoutMs: 60_000,
});

/** Formats recognised by content (detect.ts). */
export type FormatId =
  | 'pickle'
  /** Starts like a protocol 0/1 pickle: the pickle scanner decides, silently, whether it is one. */
  | 'pickle-probe'
  | 'zip'
  | 'tar'
  | 'gzip'
  | 'bzip2'
  | 'xz'
  | '7z'
  | 'numpy'
  | 'safetensors'
  | 'gguf'
  | 'hdf5'
  | 'onnx'
  | 'tf-savedmodel'
  | 'json'
  | 'torchscript-code'
  /** A .py file outside a TorchScript archive (custom code that trust_remote_code would import). */
  | 'python-source'
  | 'unknown';

export interface ScanContext {
  readonly limits: ScanLimits;
  /** Members above this one, outermost first (for messages). */
  readonly member: readonly string[];
  /** Name of the current blob (basename of the file, or the member name). */
  readonly name: string;
  /** Records a finding at the current location. */
  report(f: FindingInput): void;
  /**
   * Scans a member of the current blob (an archive entry, a pickle inside .npy, ...): detects
   * its format and runs the right scanner, one level deeper. Enforces depth and total-bytes limits
   * (reporting SCAN_LIMIT findings itself), so callers just hand members over.
   * `format` skips detection when the caller knows (e.g. "pickle" for the payload of an object .npy).
   */
  scanMember(name: string, blob: Blob, format?: FormatId): Promise<void>;
  /** Counts decompressed bytes against maxTotalBytes; false (and a finding) when over. */
  consumeBytes(n: number): boolean;
  /** Throws a PerimeterError('PERIM_E_SCAN_TIMEOUT') when the budget is spent; call in long loops. */
  checkDeadline(): void;
}

/** The role every format scanner plays. */
export interface FormatScanner {
  scan(blob: Blob, ctx: ScanContext): Promise<void>;
}
