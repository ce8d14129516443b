/**
 * Replays entries in index order against signed checkpoints: recomputes each leaf from the entry
 * bytes, compares it with the stored leaf hash and (with the MAC key) the entry MAC, extends the
 * tree, and at each checkpoint size checks the signature and the root. The first problem in index
 * order wins. Used for a database (verify.ts) and for an export (export-verify.ts).
 */
import { PerimeterError } from '../errors/errors.ts';
import { macEquals, type Mac } from './mac.ts';
import { openCheckpoint, type VerifierKey } from './note.ts';
import { Frontier, hashLeaf } from './tree.ts';

export type ProblemKind = 'missing' | 'order' | 'leaf' | 'mac' | 'checkpoint' | 'signature' | 'rollback' | 'head' | 'node' | 'malformed';

export interface AuditProblem {
  /** The first entry index that is wrong (or, for a consistent rewrite caught only by a checkpoint, the first index that checkpoint no longer vouches for); null when the problem is a checkpoint itself. */
  index: number | null;
  kind: ProblemKind;
  message: string;
  /** The checkpoint size involved, when there is one. */
  checkpoint?: number;
}

export interface CheckpointInput {
  size: number;
  text: string;
  /** Where it came from, for messages. */
  source: string;
  /** The checkpoint kept outside the database (a rollback behind it is reported as one). */
  outside?: boolean;
}

export interface AuditReport {
  ok: boolean;
  /** Entries checked: [from, from + entries). */
  from: number;
  entries: number;
  /** Checkpoints (stored or exported) whose signature and root were checked. */
  checkpoints: number;
  /** The size of the checkpoint kept outside the database, when it was checked. */
  outside: number | null;
  latest: { size: number; root: string } | null;
  /** Whether entry MACs were checked (needs the private key file). */
  macsChecked: boolean;
  /**
   * Entries below this index are vouched for by a signed checkpoint. Above it, only the MACs vouch
   * for them; when MACs were not checked they are unverified (make a checkpoint first).
   */
  covered: number;
  problem?: AuditProblem;
}

export class Replay {
  readonly from: number;
  readonly frontier: Frontier;
  readonly #key: VerifierKey;
  readonly #mac: Mac | undefined;
  readonly #cps: CheckpointInput[];
  #next = 0;
  #lastGood: number;
  checked = 0;
  outside: number | null = null;
  latest: { size: number; root: string } | null = null;
  /** Set by a node check in `onNode`. */
  nodeProblem: AuditProblem | undefined;
  onNode: ((level: number, start: number, hash: Buffer) => AuditProblem | undefined) | undefined;

  constructor(from: number, prefix: Buffer[], checkpoints: CheckpointInput[], key: VerifierKey, mac?: Mac) {
    this.from = from;
    this.frontier = new Frontier(from, prefix);
    this.#key = key;
    this.#mac = mac;
    this.#lastGood = from;
    this.#cps = checkpoints.filter((c) => c.size >= from).sort((a, b) => a.size - b.size);
  }

  get size(): number {
    return this.frontier.size;
  }

  /** Checks every checkpoint at the current size. */
  reach(): AuditProblem | undefined {
    const size = this.frontier.size;
    for (; this.#next < this.#cps.length && this.#cps[this.#next]!.size === size; this.#next++) {
      const c = this.#cps[this.#next]!;
      let root: Buffer;
      try {
        root = openCheckpoint(c.text, this.#key).root;
      } catch (e) {
        return { index: null, kind: 'signature', checkpoint: c.size, message: `the checkpoint of size ${c.size} (${c.source}) is not valid: ${(e as PerimeterError).message}` };
      }
      if (!root.equals(this.frontier.root())) {
        return {
          index: this.#lastGood,
          kind: 'checkpoint',
          checkpoint: c.size,
          message: `entries ${this.#lastGood}..${size - 1} do not add up to the signed checkpoint of size ${size} (${c.source}): one of them was changed, inserted, removed or moved`,
        };
      }
      if (c.outside) this.outside = size;
      else this.checked++;
      this.#lastGood = size;
      this.latest = { size, root: root.toString('hex') };
    }
    return undefined;
  }

  /** One entry, in order. `leafHex` is the stored leaf hash (the entry's own when there is none). */
  entry(index: number, entry: string, leafHex: string | undefined, mac?: string): AuditProblem | undefined {
    const expected = this.frontier.size;
    if (index !== expected) {
      return index > expected
        ? { index: expected, kind: 'missing', message: `entry ${expected} is missing (the next entry is ${index})` }
        : { index: expected, kind: 'order', message: `entry ${index} appears where entry ${expected} should be` };
    }
    const leaf = hashLeaf(Buffer.from(entry, 'utf8'));
    if (leafHex !== undefined && leafHex !== leaf.toString('hex')) {
      return { index, kind: 'leaf', message: `entry ${index} does not match its leaf hash: its content was changed` };
    }
    if (this.#mac && (mac === undefined || !macEquals(mac, this.#mac.entry(index, leaf)))) {
      return { index, kind: 'mac', message: `entry ${index} was not written at this index by the log's key: it was changed, inserted or moved` };
    }
    this.frontier.append(leaf, this.onNode && ((l, s, h) => void (this.nodeProblem ??= this.onNode!(l, s, h))));
    if (this.nodeProblem) return this.nodeProblem;
    return this.reach();
  }

  /** After the last entry: checkpoints beyond it mean entries were removed (or the log rolled back). */
  finish(): AuditProblem | undefined {
    const size = this.frontier.size;
    const beyond = this.#cps.slice(this.#next).filter((c) => c.size > size);
    if (beyond.length === 0) return undefined;
    const top = beyond[beyond.length - 1]!;
    const file = beyond.find((c) => c.outside);
    return file
      ? { index: size, kind: 'rollback', checkpoint: file.size, message: `the log ends at ${size} entries but the checkpoint kept in ${file.source} covers ${file.size}: the log was rolled back or truncated` }
      : { index: size, kind: 'missing', checkpoint: top.size, message: `the log ends at ${size} entries but a signed checkpoint covers ${top.size}: entries from ${size} on were removed` };
  }

  report(problem: AuditProblem | undefined): AuditReport {
    return {
      ok: !problem,
      from: this.from,
      entries: this.frontier.size - this.from,
      checkpoints: this.checked,
      outside: this.outside,
      latest: this.latest,
      macsChecked: this.#mac !== undefined,
      covered: this.#lastGood,
      ...(problem ? { problem } : {}),
    };
  }
}

/** Turns a failed report into the coded error commands print (exit 1). */
export function problemError(problem: AuditProblem): PerimeterError {
  return new PerimeterError('PERIM_E_AUDIT_TAMPERED', problem.message, { details: { ...problem } });
}
