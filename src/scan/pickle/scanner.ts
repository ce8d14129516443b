/**
 * The pickle scanners. A blob may hold several pickles back to back (pickle.load called again
 * reads the next); legacy torch.save files are five pickles then raw storage bytes; joblib files
 * interleave raw array bytes (handled inside the stream, exec.ts). Each stream's findings are
 * reported in stream order, the error of a broken stream last; an error after anything dangerous
 * is itself dangerous, because the payload ran before Python reached it.
 */
import type { Blob, FormatScanner, ScanContext, Severity } from '../types.ts';
import { runStream } from './exec.ts';
import { FAST_PATH_MIN_BYTES, pureDataPickleEnd } from './fastpath.ts';
import { MAX_MEMO, MAX_STACK, type GlobalEntry, type NestedLoad, type StreamEvent, type StreamResult } from './machine.ts';
import { PROTO01_START } from './opcodes.ts';
import type { PolicyContext } from './policy.ts';
import { PickleStop, StreamReader } from './reader.ts';
import { K } from './values.ts';

/** torch.save's legacy format starts with a pickle of this number. */
const LEGACY_TORCH_MAGIC = 0x1950a86a20f9469cfc6cn;

/** A .pkl member of an archive: TorchScript's data.pkl, constants.pkl, bytecode.pkl. */
export const isTorchScriptContext = (ctx: Pick<ScanContext, 'member' | 'name'>): boolean => ctx.member.length > 0 && /\.pkl$/i.test(ctx.name);

interface Emitted {
  ruleId: string;
  severity?: Severity;
  message: string;
  evidence?: string;
  offset: number;
}

function globalFinding(g: GlobalEntry, nested: readonly NestedLoad[]): Emitted | undefined {
  const v = g.verdict;
  const written = g.full === `${g.module}.${g.name}` ? '' : ` (written as ${g.module}.${g.name})`;
  const evidence = `${g.full} via ${g.via}${g.calledBy ? `, called by ${g.calledBy}` : ', not called'}${written}`;
  const offset = g.offset;
  if (v.kind === 'allow') return undefined;
  if (v.kind === 'deny') {
    const msg = g.calledBy ? `pickle calls ${g.full}, which ${v.why}, while loading` : `pickle imports ${g.full}, which ${v.why}; anything later in the load can call it`;
    return { ruleId: 'PICKLE_DANGEROUS_GLOBAL', severity: v.severity, message: msg, evidence, offset };
  }
  if (v.kind === 'nested') {
    const mine = nested.filter((n) => n.loader === g.full);
    const lost = mine.filter((n) => !n.blob).length;
    const how = !mine.length ? 'its argument was never passed' : lost ? `${lost} of ${mine.length} embedded payloads could not be recovered and were not scanned` : 'the embedded bytes are scanned as a nested file';
    return { ruleId: 'PICKLE_NESTED_LOAD', severity: v.severity, message: `pickle calls ${g.full}, which ${v.why}; ${how}`, evidence, offset };
  }
  return { ruleId: 'PICKLE_UNKNOWN_GLOBAL', message: `pickle imports ${g.full}, which is not on the allow-list for model weights (importing it runs that module's code)`, evidence, offset };
}

/** Findings of one stream (and the inline pickles inside it), in order, its error last. */
function streamFindings(res: StreamResult, dangerousBefore: boolean): Emitted[] {
  const out: Emitted[] = [];
  for (const g of res.globals) {
    const f = globalFinding(g, res.nested);
    if (f) out.push(f);
  }
  out.push(...res.events.map((e: StreamEvent) => ({ ...e })));
  out.sort((a, b) => a.offset - b.offset);
  for (const inner of res.inner) out.push(...streamFindings(inner, dangerousBefore || res.dangerous));
  const stop = res.stop;
  if (stop) {
    const escalate = dangerousBefore || res.dangerous || res.inner.some((i) => i.dangerous);
    const after = escalate ? '; a dangerous payload earlier in the stream has already run by then' : '; what came before it has already run';
    out.push({
      ruleId: stop.kind === 'limit' ? 'PICKLE_LIMIT' : 'PICKLE_MALFORMED',
      severity: escalate ? 'dangerous' : undefined,
      message: `${stop.kind === 'limit' ? 'pickle analysis stopped' : 'pickle stream broken'} at offset ${stop.offset}: ${stop.message}${after}`,
      offset: stop.offset,
    });
  }
  return out;
}

const collectNested = (res: StreamResult): NestedLoad[] => [...res.nested, ...res.inner.flatMap(collectNested)];

/** Scans a blob holding one or more pickles; `probe`: stay silent until a stream turns out to be code-bearing pickle. */
export async function scanPickles(blob: Blob, ctx: ScanContext, probe: boolean): Promise<void> {
  const policy: PolicyContext = { torchscript: isTorchScriptContext(ctx) };
  const nested: NestedLoad[] = [];
  let pos = 0;
  let dangerous = false;
  let legacyLeft = -1; // pickles still to read in a legacy torch file; -1: not one
  let probing = probe;
  /** The content is pickle (detected by PROTO, or a stream that imported or called something). */
  let confirmed = !probe;
  let timeout: unknown;
  const r = new StreamReader(blob, 0, ctx.limits.maxBytes);
  const tick = (): void => {
    try {
      ctx.checkDeadline();
    } catch (e) {
      timeout = e;
      throw new PickleStop('limit', 'time budget spent', r.pos);
    }
  };
  const trailing = (at: number): void => {
    // Only once the content is known to be pickle: text that starts like one gets no finding.
    if (confirmed) ctx.report({ ruleId: 'PICKLE_TRAILING_DATA', message: `${blob.size - at} bytes after the last pickle are not pickle data`, offset: at });
  };
  /** After a stream ends at `pos`: does another pickle follow? (Trailing bytes are reported once.) */
  const anotherStream = (): boolean => {
    if (pos >= blob.size) return false;
    const next = blob.read(pos, 1)[0]!;
    probing = next !== 0x80;
    if (probing && !PROTO01_START.has(next)) {
      trailing(pos);
      return false;
    }
    return true;
  };
  for (let index = 0; pos < blob.size; index++) {
    // A large pure-data stream (no import, no call) cannot run code: prove that shape cheaply and
    // skip symbolic execution. Anything else, or a short stream, takes the full executor.
    if (!probing && legacyLeft < 0) {
      const inTime = (): boolean => {
        try {
          ctx.checkDeadline();
          return true;
        } catch {
          return false;
        }
      };
      const fast = pureDataPickleEnd(blob, pos, { inTime, maxOpcodes: ctx.limits.maxOpcodes, maxBytes: ctx.limits.maxBytes, maxStack: MAX_STACK, maxMemo: MAX_MEMO });
      if (fast && fast.end - pos >= FAST_PATH_MIN_BYTES) {
        confirmed = true;
        pos = fast.end;
        if (anotherStream()) continue;
        break;
      }
    }
    r.seek(pos);
    r.limitEnd = pos + ctx.limits.maxBytes;
    const res = runStream(r, { maxOpcodes: ctx.limits.maxOpcodes, maxBytes: ctx.limits.maxBytes, probe: probing, policy, tick, depth: 0 });
    if (timeout !== undefined) res.stop = undefined; // reported as SCAN_TIMEOUT by the context
    if (probing && !res.sawCode) {
      // Failed before any import or call: not pickle (text that looks like protocol 0, or trailing bytes).
      if (res.stop || res.halted) {
        trailing(pos);
        break;
      }
      // A pickle without code: nothing to report; go on with what follows it.
    } else {
      confirmed = true;
      for (const f of streamFindings(res, dangerous)) ctx.report(f);
      nested.push(...collectNested(res));
      dangerous ||= res.dangerous || res.inner.some((i) => i.dangerous);
    }
    if (timeout !== undefined) throw timeout;
    if (res.stop || res.halted) break;
    pos = res.end;
    if (index === 0 && res.top?.k === K.INT && res.top.v === LEGACY_TORCH_MAGIC) legacyLeft = 4;
    if (legacyLeft >= 0) {
      if (legacyLeft-- === 0) break; // the rest is raw storage data, read by torch as bytes
      probing = false;
      continue;
    }
    if (!anotherStream()) break;
  }
  for (const n of nested) {
    if (!n.blob || n.blob.size === 0) continue;
    const head = n.blob.read(0, 1)[0];
    await ctx.scanMember(`${n.loader}@${n.offset}`, n.blob, head === 0x80 ? 'pickle' : undefined);
  }
}

/** Content detected as pickle (starts with PROTO 2-5). */
export const pickleScanner: FormatScanner = { scan: (blob, ctx) => scanPickles(blob, ctx, false) };
/** Content that merely starts like a protocol 0/1 pickle: silent unless it turns out to be code-bearing pickle. */
export const pickleProbeScanner: FormatScanner = { scan: (blob, ctx) => scanPickles(blob, ctx, true) };
