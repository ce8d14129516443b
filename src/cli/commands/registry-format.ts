/** Text rendering for the registry commands: the registration summary, the lineage tree, the inventory table. */
import type { Inventory, InventoryArtifact } from '../../registry/inventory.ts';
import type { LineageEdge, LineageNode, LineageResult, Modification } from '../../registry/lineage.ts';
import type { RegisterResult } from '../../registry/register.ts';
import { bold, dim, green, red } from '../output.ts';

export const short = (d: string | null | undefined): string => (!d ? '' : d.startsWith('name:') ? d.slice(5) : d.replace(/^sha256:/, '').slice(0, 12));
const flops = (n: number | null): string => (n === null ? '?' : n.toExponential(2).replace('e+', 'e'));

function signatureLine(s: { status: string; method: string | null; signer: string | null; issuer: string | null }): string {
  const who = s.signer ? `${s.method ?? ''} ${s.method === 'key' ? s.signer.slice(0, 16) + '…' : s.signer}${s.issuer ? ` (${s.issuer})` : ''}`.trim() : (s.method ?? '');
  switch (s.status) {
    case 'verified':
      return green(`verified: ${who}`);
    case 'unverified':
      return `signed, not verified (no trust material given; claims ${who || 'an unknown signer'})`;
    case 'invalid':
      return red(`INVALID${who ? ` (claims ${who})` : ''}`);
    default:
      return 'unsigned';
  }
}

export function renderRegister(r: RegisterResult): string {
  const lines = [`${r.created ? green('✔ registered') : green('✔ updated')} ${bold(r.name)}  ${r.digest}`];
  lines.push(`  kind ${r.kind} · format ${r.format ?? 'unknown'} · license ${r.license ?? 'unknown'} · ${r.files} files, ${r.bytes} bytes`);
  if (!r.created) lines.push(dim('  already registered: evidence refreshed'));
  if (r.predecessor) lines.push(`  new version of ${short(r.predecessor)} (same name, files changed)`);
  for (const p of r.parents) lines.push(`  parent (${p.relation}): ${p.parent.startsWith('name:') ? `${p.parent.slice(5)} (not registered yet; resolved when it registers)` : p.parent}`);
  if (r.resolvedChildren) lines.push(`  resolved ${r.resolvedChildren} pending lineage edge(s) naming ${r.name}`);
  lines.push(`  signature: ${signatureLine(r.signature)}`);
  const err = r.signature.evidence.error as { code?: string; message?: string } | undefined;
  if (err) lines.push(red(`    [${err.code}] ${err.message}`));
  lines.push(`  scan: ${r.scan.failed ? red(r.scan.verdict) : r.scan.verdict} (${r.scan.findings} findings)`);
  if (r.trainingFlops !== null) lines.push(`  training compute: ${flops(r.trainingFlops)} FLOP`);
  lines.push(dim(`  hash ${r.timings.hashMs} ms${r.timings.hashReused ? ' (shared with signature verification)' : ''}, scan ${r.timings.scanMs} ms, db ${r.timings.dbMs} ms, total ${r.timings.totalMs} ms`));
  return lines.join('\n') + '\n';
}

function modificationText(m: Modification): string {
  const text = m.assessment === 'over the line' ? red('over the line') : m.assessment;
  const ratio = m.ratio !== null ? ` (${flops(m.modificationFlops)} / ${flops(m.parentTrainingFlops)} = ${m.ratio.toPrecision(3)}; line at 1/3)` : ` (${m.note.replace(/^unknown: /, '')})`;
  return `modification ${text}${ratio}`;
}

function nodeText(n: LineageNode): string {
  const what = n.registered ? `${n.kind}  ${short(n.digest)}` : n.digest.startsWith('name:') ? 'not registered' : `not registered  ${short(n.digest)}`;
  return `${bold(n.name)}  ${dim(what)}${n.trainingFlops !== null ? dim(`  ${flops(n.trainingFlops)} FLOP`) : ''}`;
}

/** Ancestors above the artifact (an upside-down tree), descendants below. */
export function renderLineage(r: LineageResult): string {
  const nodes = new Map<string, LineageNode>([[r.artifact.digest, r.artifact], ...r.ancestors.map((n) => [n.digest, n] as const), ...r.descendants.map((n) => [n.digest, n] as const)]);
  const parentsOf = new Map<string, LineageEdge[]>();
  const childrenOf = new Map<string, LineageEdge[]>();
  for (const e of r.edges) {
    parentsOf.set(e.child, [...(parentsOf.get(e.child) ?? []), e]);
    childrenOf.set(e.parent, [...(childrenOf.get(e.parent) ?? []), e]);
  }
  const byName = (a: string, b: string): number => (nodes.get(a)?.name ?? a).localeCompare(nodes.get(b)?.name ?? b);
  const tree = (start: string, next: (d: string) => { to: string; edge: LineageEdge }[], up: boolean): string[] => {
    const lines: string[] = [];
    const seen = new Set<string>([start]);
    const visit = (d: string, prefix: string): void => {
      const kids = next(d).sort((a, b) => byName(a.to, b.to));
      kids.forEach(({ to, edge }, i) => {
        const last = i === kids.length - 1;
        const n = nodes.get(to);
        const again = seen.has(to);
        const role = up ? `parent of the ${edge.relation} below` : edge.relation;
        const label = `${n ? nodeText(n) : to}${again ? dim('  (shown above)') : ''}  ${dim(`${role}; `)}${modificationText(edge.modification)}`;
        lines.push(`${prefix}${last ? '└─ ' : '├─ '}${label}`);
        if (!again) {
          seen.add(to);
          visit(to, prefix + (last ? '   ' : '│  '));
        }
      });
    };
    visit(start, '  ');
    // Upward: print the tree upside down, so the farthest ancestors are on top.
    return up ? lines.reverse().map((l) => l.replace('└─ ', '┌─ ')) : lines;
  };
  const up = tree(r.artifact.digest, (d) => (parentsOf.get(d) ?? []).map((e) => ({ to: e.parent, edge: e })), true);
  const down = tree(r.artifact.digest, (d) => (childrenOf.get(d) ?? []).map((e) => ({ to: e.child, edge: e })), false);
  const out: string[] = [dim('lineage: ancestors above ●, descendants below')];
  out.push(...(up.length ? up : [dim('  (no ancestors)')]));
  out.push(`● ${nodeText(r.artifact)}${r.artifact.license ? dim(`  license ${r.artifact.license}`) : ''}`);
  out.push(...(down.length ? down : [dim('  (no descendants)')]));
  return out.join('\n') + '\n';
}

function signerCell(a: InventoryArtifact): string {
  const who = a.signer ? (a.signerMethod === 'key' ? `key ${a.signer.slice(0, 8)}` : a.signer) : '';
  switch (a.signatureStatus) {
    case 'verified':
      return `✔ ${who}`;
    case 'unverified':
      return `? ${who}`;
    case 'invalid':
      return `✘ INVALID`;
    default:
      return 'unsigned';
  }
}

const cut = (s: string, n: number): string => (s.length > n ? s.slice(0, n - 1) + '…' : s);

function table(header: string[], rows: string[][], max: number[]): string {
  const widths = header.map((h, i) => {
    let w = h.length;
    for (const r of rows) if (r[i]!.length > w) w = r[i]!.length;
    return Math.min(max[i]!, w);
  });
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? cut(c, widths[i]!) : cut(c, widths[i]!).padEnd(widths[i]!))).join('  ').trimEnd();
  const parts = [bold(line(header))];
  for (const r of rows) parts.push(line(r));
  return parts.join('\n') + '\n';
}

export function renderInventory(inv: Inventory): string {
  const sorted = [...inv.artifacts].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.createdAt - b.createdAt));
  const rows = sorted.map((a) => [
    short(a.digest),
    a.name,
    a.kind,
    a.parentName ?? short(a.parentDigest),
    a.license ?? '',
    signerCell(a),
    a.scanVerdict ?? '',
    a.admittedEnvs.join(',') || '-',
  ]);
  let out = `${inv.artifacts.length} artifact(s)\n`;
  if (rows.length) out += table(['DIGEST', 'NAME', 'KIND', 'PARENT', 'LICENSE', 'SIGNER', 'SCAN', 'ADMITTED'], rows, [12, 40, 12, 32, 20, 28, 10, 40]);
  if (inv.runtimes.length) {
    const rt: string[][] = [];
    for (const r of inv.runtimes) {
      if (r.serves.length === 0) rt.push([r.name, r.kind, r.env ?? 'any', '(nothing served)', '', r.lastSyncError ? `sync error: ${r.lastSyncError}` : '']);
      for (const s of r.serves) rt.push([r.name, r.kind, r.env ?? 'any', s.modelId, s.artifactName ? `${s.artifactName} ${short(s.artifactDigest)}` : '-', s.status + (s.finding ? ` [${s.finding}]` : '')]);
    }
    out += `\n${inv.runtimes.length} runtime(s)\n` + table(['RUNTIME', 'KIND', 'ENV', 'SERVES', 'MATCHES', 'STATUS'], rt, [24, 10, 12, 40, 40, 40]);
  }
  return out;
}
