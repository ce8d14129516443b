/** perimeter audit checkpoint|prove|verify|export: the shell over src/audit. */
import type { Command } from 'commander';
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { PerimeterError } from '../../errors/errors.ts';
import { exportLog } from '../../audit/export.ts';
import { verifyExportFile } from '../../audit/export-verify.ts';
import { auditFiles, defaultKeyPath, loadVerifierKey, readKey } from '../../audit/keys.ts';
import { AuditLog } from '../../audit/log.ts';
import { openCheckpoint } from '../../audit/note.ts';
import { verifyProofDocument } from '../../audit/offline.ts';
import { consistencyProof, inclusionProof, rootAt } from '../../audit/prove.ts';
import { verifyConsistency, verifyInclusion } from '../../audit/proofs.ts';
import { problemError, type AuditReport } from '../../audit/replay.ts';
import { verifyStore } from '../../audit/verify.ts';
import type { Store } from '../../store/store.ts';
import { EXIT, dim, green, printJson, reportError } from '../output.ts';
import { addDbFlag, openStoreFrom, type DbFlags } from './store-flags.ts';

interface AuditFlags extends DbFlags {
  json?: boolean;
  auditKey?: string;
}

function common(cmd: Command): Command {
  return addDbFlag(cmd)
    .option('--audit-key <path>', 'the audit key file (default: beside a SQLite file, or in the per-user data folder for PostgreSQL; $PERIMETER_AUDIT_KEY)')
    .option('--json', 'print the result as JSON');
}

/** Runs a command body with a store; maps errors to exit codes (1 only for failed verification). */
async function withStore(flags: AuditFlags, verifying: boolean, body: (store: Store) => Promise<void>): Promise<void> {
  const out = { json: flags.json === true };
  let store: Store | undefined;
  try {
    store = await openStoreFrom(flags);
    await body(store);
    process.exitCode = EXIT.OK;
  } catch (e) {
    process.exitCode = reportError(e, out, verifying);
  } finally {
    await store?.close().catch(() => {});
  }
}

function wholeNumber(value: string, what: string): number {
  const n = Number(value);
  if (!/^(0|[1-9][0-9]*)$/.test(value) || !Number.isSafeInteger(n)) throw new PerimeterError('PERIM_E_USAGE', `${what} must be a whole number, got "${value}"`);
  return n;
}

function parseSince(value: string): number {
  if (/^[0-9]+$/.test(value)) return Number(value);
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new PerimeterError('PERIM_E_USAGE', `--since must be epoch milliseconds or an ISO 8601 time, got "${value}"`);
  return t;
}

const openLog = (store: Store, flags: AuditFlags): Promise<AuditLog> => AuditLog.open(store, { keyPath: flags.auditKey });

async function checkpointCmd(flags: AuditFlags): Promise<void> {
  await withStore(flags, false, async (store) => {
    const log = await openLog(store, flags);
    const cp = await log.checkpoint();
    if (flags.json) printJson({ ok: true, origin: cp.origin, size: cp.size, root: cp.root.toString('hex'), checkpoint: cp.text, publicKey: log.verifierKey.vkey, file: log.files.checkpoint });
    else process.stdout.write(`${green('✔')} checkpoint of ${cp.size} entries, root ${cp.root.toString('hex')}\n${cp.text}`);
    await log.close();
  });
}

interface ProveFlags extends AuditFlags {
  from?: string;
  to?: string;
}

async function proveCmd(indexArg: string | undefined, flags: ProveFlags): Promise<void> {
  await withStore(flags, false, async (store) => {
    const log = await openLog(store, flags);
    try {
      if (flags.from !== undefined) {
        const from = wholeNumber(flags.from, '--from');
        const latest = (await log.latestCheckpoint()) ?? (await log.checkpoint());
        const to = flags.to === undefined ? latest.size : wholeNumber(flags.to, '--to');
        const proof = await consistencyProof(store.db, from, to);
        const notes = await store.db.selectFrom('audit_checkpoints').select(['size', 'note']).where('size', 'in', [from, to]).execute();
        const note = (n: number): string | null => notes.find((r) => Number(r.size) === n)?.note ?? null;
        const root = async (n: number): Promise<Buffer> => (note(n) ? openCheckpoint(note(n)!, log.verifierKey).root : rootAt(store.db, n));
        verifyConsistency(proof, await root(from), await root(to));
        if (flags.json) printJson({ ok: true, ...proof, checkpoints: { from: note(from), to: note(to) }, publicKey: log.verifierKey.vkey });
        else process.stdout.write(`${green('✔')} the log of ${from} entries is a prefix of the log of ${to} entries\n${proof.hashes.map((h) => dim(`  ${h}\n`)).join('')}`);
        return;
      }
      if (indexArg === undefined) throw new PerimeterError('PERIM_E_USAGE', 'give an entry INDEX, or --from SIZE [--to SIZE] for a consistency proof');
      const index = wholeNumber(indexArg, 'INDEX');
      let cp = await log.latestCheckpoint();
      if (!cp || cp.size <= index) cp = await log.checkpoint();
      const proof = await inclusionProof(store.db, index, cp.size);
      verifyInclusion(proof, cp.root);
      const row = await store.db.selectFrom('audit_entries').select(['entry']).where('idx', '=', index).executeTakeFirstOrThrow();
      if (flags.json) printJson({ ok: true, ...proof, entry: JSON.parse(row.entry) as unknown, checkpoint: cp.text, publicKey: log.verifierKey.vkey });
      else {
        process.stdout.write(`${green('✔')} entry ${index} is in the log of ${cp.size} entries (root ${cp.root.toString('hex')})\n`);
        process.stdout.write(dim(`  leaf ${proof.leafHash}\n${proof.hashes.map((h) => `  ${h}\n`).join('')}`));
        process.stdout.write(`${row.entry}\n`);
      }
    } finally {
      await log.close();
    }
  });
}

interface VerifyFlags extends AuditFlags {
  publicKey?: string;
  file?: string;
  proof?: string;
  checkpointFile?: string;
}

function printReport(r: AuditReport, what: string, json: boolean): void {
  if (!r.ok) throw problemError(r.problem!);
  if (json) {
    printJson(r);
    return;
  }
  const latest = r.latest ? `latest covers ${r.latest.size}` : 'none yet';
  const outside = r.outside === null ? '' : `, the checkpoint kept outside the database (${r.outside}) matches`;
  process.stdout.write(`${green('✔')} ${what} verified: ${r.entries} entries, ${r.checkpoints} checkpoint${r.checkpoints === 1 ? '' : 's'} (${latest})${outside}${r.macsChecked ? ', entry MACs checked' : ''}\n`);
  if (!r.macsChecked && r.covered < r.from + r.entries) {
    process.stdout.write(dim(`  entries ${r.covered}..${r.from + r.entries - 1} are not covered by a checkpoint yet: run perimeter audit checkpoint\n`));
  }
}

async function verifyProofCmd(flags: VerifyFlags): Promise<void> {
  const out = { json: flags.json === true };
  try {
    if (!flags.publicKey) throw new PerimeterError('PERIM_E_USAGE', '--proof needs --public-key (the .pub file beside the audit key, or its text)');
    let doc: unknown;
    try {
      doc = JSON.parse(readFileSync(flags.proof!, 'utf8'));
    } catch (e) {
      throw new PerimeterError((e as NodeJS.ErrnoException).code ? 'PERIM_E_IO' : 'PERIM_E_AUDIT_MALFORMED', `cannot read the proof ${flags.proof}: ${(e as Error).message}`, { cause: e });
    }
    const what = verifyProofDocument(doc, loadVerifierKey(flags.publicKey));
    if (out.json) printJson({ ok: true, proved: what });
    else process.stdout.write(`${green('✔')} ${what}\n`);
    process.exitCode = EXIT.OK;
  } catch (e) {
    process.exitCode = reportError(e, out, true);
  }
}

async function verifyCmd(flags: VerifyFlags): Promise<void> {
  if (flags.proof !== undefined) return verifyProofCmd(flags);
  if (flags.file !== undefined) {
    const out = { json: flags.json === true };
    try {
      if (!flags.publicKey) throw new PerimeterError('PERIM_E_USAGE', '--file needs --public-key (the .pub file beside the audit key, or its text)');
      printReport(await verifyExportFile(flags.file, loadVerifierKey(flags.publicKey)), 'export', out.json);
      process.exitCode = EXIT.OK;
    } catch (e) {
      process.exitCode = reportError(e, out, true);
    }
    return;
  }
  await withStore(flags, true, async (store) => {
    const keyPath = flags.auditKey ?? defaultKeyPath(store);
    const priv = readKey(keyPath);
    const key = flags.publicKey ? loadVerifierKey(flags.publicKey) : priv?.key;
    if (!key) throw new PerimeterError('PERIM_E_AUDIT_KEY', `no audit key at ${keyPath}: pass --audit-key, or --public-key to verify without the private key`);
    const mac = priv && priv.key.vkey === key.vkey ? priv.mac : undefined;
    const report = await verifyStore(store, { key, mac, checkpointFile: flags.checkpointFile ?? auditFiles(keyPath).checkpoint });
    printReport(report, 'audit log', flags.json === true);
  });
}

interface ExportFlags extends AuditFlags {
  since?: string;
  out?: string;
  checkpoint?: boolean;
}

/** Lines out, in 64 KiB writes, waiting for 'drain' when the stream is full. */
function lineWriter(stream: WriteStream | NodeJS.WriteStream): { write: (line: string) => Promise<void>; end: () => Promise<void> } {
  let buf: string[] = [];
  let size = 0;
  const push = async (): Promise<void> => {
    if (!buf.length) return;
    const chunk = buf.join('');
    buf = [];
    size = 0;
    if (!stream.write(chunk)) await once(stream, 'drain');
  };
  return {
    write: async (line) => {
      buf.push(line, '\n');
      size += line.length + 1;
      if (size >= 65536) await push();
    },
    end: push,
  };
}

async function exportCmd(flags: ExportFlags): Promise<void> {
  await withStore(flags, false, async (store) => {
    const since = flags.since === undefined ? undefined : parseSince(flags.since);
    const log = await openLog(store, flags);
    if (flags.checkpoint !== false) await log.checkpoint();
    await log.close();
    let file: WriteStream | undefined;
    if (flags.out) {
      file = createWriteStream(flags.out, { mode: 0o600 });
      await once(file, 'open').catch((e: Error) => {
        throw new PerimeterError('PERIM_E_IO', `cannot write ${flags.out}: ${e.message}`, { cause: e });
      });
    }
    const w = lineWriter(file ?? process.stdout);
    const r = await exportLog(store, { key: log.verifierKey, since, write: w.write });
    await w.end();
    if (file) {
      file.end();
      await once(file, 'finish');
      if (flags.json) printJson({ ok: true, ...r, out: flags.out });
      else process.stdout.write(`${green('✔')} exported entries ${r.from}..${r.to - 1} (${r.entries}) with the checkpoint of ${r.to} to ${flags.out}\n`);
    }
  });
}

export function registerAudit(program: Command): void {
  const audit = program
    .command('audit')
    .description('the tamper-evident audit log: signed checkpoints, proofs, verification, export (exit 0 ok, 1 verification failed, 2 usage or I/O)');
  common(audit.command('checkpoint').description('sign a checkpoint of the log now (also kept beside the key)')).action((f: AuditFlags) => checkpointCmd(f));
  common(audit.command('prove').description('inclusion proof of entry INDEX against a signed checkpoint, or with --from a consistency proof'))
    .argument('[INDEX]', 'the entry index')
    .option('--from <size>', 'consistency proof from the log of this many entries')
    .option('--to <size>', 'to the log of this many entries (default: the latest checkpoint)')
    .action((i: string | undefined, f: ProveFlags) => proveCmd(i, f));
  common(audit.command('verify').description('verify the whole log in the database, or an export with --file'))
    .option('--public-key <key>', 'the verifier key ("name+id+base64", or a file holding it); default: from the key file')
    .option('--file <export>', 'verify an export (JSON Lines) instead of the database; needs --public-key')
    .option('--proof <file>', 'verify a proof saved from audit prove --json instead; needs --public-key')
    .option('--checkpoint-file <path>', 'the checkpoint kept outside the database (default: beside the key)')
    .action((f: VerifyFlags) => verifyCmd(f));
  common(audit.command('export').description('write the log as JSON Lines for a SIEM, with checkpoints and the public key'))
    .option('--since <time>', 'start at the first entry at or after this time (epoch ms or ISO 8601)')
    .option('--out <file>', 'write to this file (owner-only) instead of stdout')
    .option('--no-checkpoint', 'do not sign a new checkpoint first (the export ends at the latest one)')
    .action((f: ExportFlags) => exportCmd(f));
}
