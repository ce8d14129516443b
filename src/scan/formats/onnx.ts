/**
 * ONNX models. Field numbers from onnx/onnx.proto:
 *   ModelProto: graph = 7, opset_import = 8 (OperatorSetIdProto.domain = 1), training_info = 20
 *     (TrainingInfoProto: initialization = 1, algorithm = 2), functions = 25 (FunctionProto: node = 7, domain = 10)
 *   GraphProto: node = 1, initializer = 5, sparse_initializer = 15 (SparseTensorProto: values = 1, indices = 2)
 *   NodeProto: op_type = 4, attribute = 5, domain = 7
 *   AttributeProto: t = 5, g = 6, tensors = 10, graphs = 11, sparse_tensor = 22, sparse_tensors = 23
 *   TensorProto: name = 8, external_data = 13 (StringStringEntryProto: key = 1, value = 2), data_location = 14
 * A tensor whose external data "location" leaves the model folder makes the loader read any file.
 */
import type { Blob, FormatScanner, ScanContext } from '../types.ts';
import { FormatError, printable } from './cursor.ts';
import { MAX_PROTO_DEPTH, ProtoReader, WIRE_LEN, WIRE_VARINT, type PbField } from './protobuf.ts';

export interface ExternalRef {
  tensor: string;
  location: string | undefined;
  dataLocation: number;
}
export interface OnnxInfo {
  external: ExternalRef[];
  /** Operator domains used by nodes (domain → op types) and declared in opset imports. */
  domains: Map<string, Set<string>>;
  functionDomains: Set<string>;
}

export function readOnnx(blob: Blob, tick: () => void): OnnxInfo {
  const r = new ProtoReader(blob);
  const info: OnnxInfo = { external: [], domains: new Map(), functionDomains: new Set() };
  const each = function* (f: PbField, what: string): Generator<PbField> {
    r.expectLen(f, what);
    for (const g of r.fields(f.start, f.end)) {
      if ((r.visited & 0xffff) === 0) tick();
      yield g;
    }
  };
  const domain = (d: string, op?: string): void => {
    const s = info.domains.get(d) ?? new Set<string>();
    if (op !== undefined && s.size < 32) s.add(op);
    info.domains.set(d, s);
  };
  const tensor = (f: PbField): void => {
    let name = '';
    let location: string | undefined;
    let dataLocation = 0;
    let hasExternal = false;
    for (const g of each(f, 'TensorProto')) {
      if (g.no === 8 && g.wire === WIRE_LEN) name = r.text(g, 512);
      else if (g.no === 14 && g.wire === WIRE_VARINT) dataLocation = g.num;
      else if (g.no === 13) {
        hasExternal = true;
        let key = '';
        let value = '';
        for (const e of each(g, 'StringStringEntryProto')) {
          if (e.no === 1 && e.wire === WIRE_LEN) key = r.text(e, 256);
          else if (e.no === 2 && e.wire === WIRE_LEN) value = r.text(e, 65536);
        }
        if (key === 'location') location = value;
      }
    }
    if (hasExternal || dataLocation === 1) info.external.push({ tensor: name, location, dataLocation });
  };
  const sparse = (f: PbField): void => {
    for (const g of each(f, 'SparseTensorProto')) if (g.no === 1 || g.no === 2) tensor(g);
  };
  const graph = (f: PbField, depth: number): void => {
    if (depth > MAX_PROTO_DEPTH) throw new FormatError(`subgraphs nested deeper than ${MAX_PROTO_DEPTH}`, f.start);
    for (const g of each(f, 'GraphProto')) {
      if (g.no === 1) node(g, depth);
      else if (g.no === 5) tensor(g);
      else if (g.no === 15) sparse(g);
    }
  };
  const node = (f: PbField, depth: number): void => {
    let op = '';
    let dom = '';
    for (const g of each(f, 'NodeProto')) {
      if (g.no === 4 && g.wire === WIRE_LEN) op = r.text(g, 256);
      else if (g.no === 7 && g.wire === WIRE_LEN) dom = r.text(g, 256);
      else if (g.no === 5) {
        for (const a of each(g, 'AttributeProto')) {
          if (a.no === 5 || a.no === 10) tensor(a);
          else if (a.no === 6 || a.no === 11) graph(a, depth + 1);
          else if (a.no === 22 || a.no === 23) sparse(a);
        }
      }
    }
    domain(dom, op);
  };
  let parts = 0;
  for (const f of r.fields(0, blob.size)) {
    if (f.no === 7) {
      parts++;
      graph(f, 1);
    } else if (f.no === 8) {
      for (const g of each(f, 'OperatorSetIdProto')) if (g.no === 1 && g.wire === WIRE_LEN) domain(r.text(g, 256));
    } else if (f.no === 20) {
      for (const g of each(f, 'TrainingInfoProto')) if (g.no === 1 || g.no === 2) graph(g, 1);
    } else if (f.no === 25) {
      parts++;
      for (const g of each(f, 'FunctionProto')) {
        if (g.no === 7) node(g, 1);
        else if (g.no === 10 && g.wire === WIRE_LEN) info.functionDomains.add(r.text(g, 256));
      }
    }
  }
  if (parts === 0) throw new FormatError('no graph and no functions: not an ONNX model', 0);
  return info;
}

/** Why an external-data location is unsafe, with the severity, or undefined when it stays in the folder. */
export function locationProblem(loc: string): { severity: 'dangerous' | 'suspicious'; why: string } | undefined {
  if (loc.length > 4096) return { severity: 'suspicious', why: 'longer than any valid path' };
  if (loc.includes('\0')) return { severity: 'dangerous', why: 'contains a NUL byte' };
  if (/^[/\\]/.test(loc)) return { severity: 'dangerous', why: 'absolute path' };
  if (/^[A-Za-z]:/.test(loc)) return { severity: 'dangerous', why: 'Windows drive path' };
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(loc)) return { severity: 'dangerous', why: 'URI' };
  if (loc.startsWith('~')) return { severity: 'dangerous', why: 'home-directory path' };
  if (loc.includes('\\')) return { severity: 'dangerous', why: 'backslash in path' };
  let depth = 0;
  let dotdot = false;
  for (const part of loc.split('/')) {
    if (part === '..') {
      dotdot = true;
      if (--depth < 0) return { severity: 'dangerous', why: 'resolves outside the model folder' };
    } else if (part !== '' && part !== '.') depth++;
  }
  if (dotdot) return { severity: 'suspicious', why: "contains '..' (onnx refuses it)" };
  return undefined;
}

const STANDARD_DOMAIN = (d: string): boolean => d === '' || d === 'ai.onnx' || d.startsWith('ai.onnx.') || d === 'com.microsoft' || d.startsWith('com.microsoft.');

export const onnxScanner: FormatScanner = {
  async scan(blob: Blob, ctx: ScanContext): Promise<void> {
    let info: OnnxInfo;
    try {
      info = readOnnx(blob, () => ctx.checkDeadline());
    } catch (e) {
      if (!(e instanceof FormatError)) throw e;
      ctx.report({ ruleId: 'ONNX_MALFORMED', message: `${ctx.name}: ${e.message}`, offset: e.offset });
      return;
    }
    let reported = 0;
    for (const ref of info.external) {
      if (reported >= 20) break;
      if (ref.location === undefined || ref.location === '') {
        if (ref.dataLocation === 1) {
          reported++;
          ctx.report({ ruleId: 'ONNX_MALFORMED', message: `${ctx.name}: tensor ${printable(ref.tensor)} stores its data externally but names no location` });
        }
        continue;
      }
      const p = locationProblem(ref.location);
      if (!p) continue;
      reported++;
      ctx.report({
        ruleId: 'ONNX_EXTERNAL_DATA_PATH',
        severity: p.severity,
        message: `${ctx.name}: tensor ${printable(ref.tensor, 80)} loads external data from ${printable(ref.location, 120)} (${p.why})`,
        evidence: printable(ref.location),
      });
    }
    for (const [d, ops] of info.domains) {
      if (STANDARD_DOMAIN(d) || info.functionDomains.has(d)) continue;
      ctx.report({ ruleId: 'ONNX_CUSTOM_DOMAIN', message: `${ctx.name}: operators from custom domain ${printable(d, 80)}`, evidence: printable(`${d}: ${[...ops].join(', ')}`) });
    }
  },
};
