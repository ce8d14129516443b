/**
 * Verifies an export (export.ts) offline with only the public key: the header's prefix and the
 * entries rebuild the tree from `from` to `to`; each line's leaf hash must match its event's
 * canonical JSON; every checkpoint in the file must be signed by the key and match the rebuilt
 * root at its size; the last must cover `to`. Streams: memory does not grow with the export.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { PerimeterError } from '../errors/errors.ts';
import { canonicalJson } from './canonical.ts';
import { EXPORT_KIND } from './export.ts';
import type { VerifierKey } from './note.ts';
import { Replay, type AuditProblem, type AuditReport, type CheckpointInput } from './replay.ts';

interface Header {
  from: number;
  to: number;
  prefix: Buffer[];
}

function parseHeader(line: string | undefined): Header {
  let h: Record<string, unknown>;
  try {
    h = JSON.parse(line ?? '') as Record<string, unknown>;
  } catch {
    throw new PerimeterError('PERIM_E_AUDIT_MALFORMED', 'the export does not start with its JSON header line');
  }
  const ok =
    h &&
    h.kind === EXPORT_KIND &&
    h.version === 1 &&
    Number.isSafeInteger(h.from) &&
    Number.isSafeInteger(h.to) &&
    (h.from as number) >= 0 &&
    (h.to as number) >= (h.from as number) &&
    Array.isArray(h.prefix) &&
    h.prefix.every((x) => typeof x === 'string' && /^[0-9a-f]{64}$/.test(x));
  if (!ok) throw new PerimeterError('PERIM_E_AUDIT_MALFORMED', `the export header is not a version 1 ${EXPORT_KIND} header`);
  return { from: h.from as number, to: h.to as number, prefix: (h.prefix as string[]).map((x) => Buffer.from(x, 'hex')) };
}

export async function verifyExportLines(lines: AsyncIterable<string> | Iterable<string>, key: VerifierKey): Promise<AuditReport> {
  const it = (Symbol.asyncIterator in lines ? lines[Symbol.asyncIterator]() : (lines as Iterable<string>)[Symbol.iterator]()) as AsyncIterator<string> | Iterator<string>;
  const nextLine = async (): Promise<string | undefined> => {
    for (;;) {
      const r = await it.next();
      if (r.done) return undefined;
      if (r.value.trim() !== '') return r.value;
    }
  };
  const header = parseHeader(await nextLine());
  const cps: CheckpointInput[] = [];
  let line = await nextLine();
  let n = 1;
  const parse = (l: string): Record<string, unknown> => {
    try {
      const v = JSON.parse(l) as Record<string, unknown>;
      if (v && typeof v === 'object') return v;
    } catch {
      /* below */
    }
    throw new PerimeterError('PERIM_E_AUDIT_MALFORMED', `export line ${n + 1} is not a JSON object`);
  };
  for (; line !== undefined; line = await nextLine(), n++) {
    const v = parse(line);
    if (v.kind !== 'checkpoint') break;
    if (!Number.isSafeInteger(v.size) || typeof v.note !== 'string') throw new PerimeterError('PERIM_E_AUDIT_MALFORMED', `export line ${n + 1} is not a checkpoint line`);
    cps.push({ size: v.size as number, text: v.note, source: 'the export' });
  }
  const replay = new Replay(header.from, header.prefix, cps, key);
  const done = (problem: AuditProblem | undefined): AuditReport => replay.report(problem);
  if (!cps.some((c) => c.size === header.to)) return done({ index: null, kind: 'malformed', message: `the export has no checkpoint of its end size ${header.to}` });
  let problem = replay.reach();
  for (; !problem && line !== undefined; line = await nextLine(), n++) {
    const v = parse(line);
    if (v.kind !== 'entry') continue;
    const index = v.index;
    if (!Number.isSafeInteger(index) || typeof v.leafHash !== 'string') {
      problem = { index: replay.size, kind: 'malformed', message: `export line ${n + 1} is not a well-formed entry line` };
      break;
    }
    let entry: string;
    try {
      entry = canonicalJson(v.event);
    } catch {
      problem = { index: index as number, kind: 'malformed', message: `entry ${index}'s event is not canonical JSON data` };
      break;
    }
    problem = replay.entry(index as number, entry, v.leafHash);
  }
  if (!problem && replay.size < header.to) problem = { index: replay.size, kind: 'missing', message: `the export ends at entry ${replay.size - 1} but its header says entries up to ${header.to - 1}` };
  if (!problem && replay.size > header.to) problem = { index: header.to, kind: 'order', message: `the export has entries beyond its end size ${header.to}` };
  problem ??= replay.finish();
  return done(problem);
}

/** Verifies an export file. */
export async function verifyExportFile(path: string, key: VerifierKey): Promise<AuditReport> {
  const stream = createReadStream(path, { encoding: 'utf8' });
  const opened = new Promise<void>((resolve, reject) => stream.once('open', () => resolve()).once('error', reject));
  try {
    await opened;
  } catch (e) {
    throw new PerimeterError('PERIM_E_IO', `cannot read the export ${path}: ${(e as Error).message}`, { cause: e });
  }
  const rl = createInterface({ input: stream, crlfDelay: Infinity });
  try {
    return await verifyExportLines(rl, key);
  } finally {
    rl.close();
    stream.destroy();
  }
}
