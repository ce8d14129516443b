/**
 * TensorFlow SavedModel (saved_model.pb). Field numbers from tensorflow/core/protobuf/saved_model.proto,
 * meta_graph.proto and tensorflow/core/framework/{graph,function,node_def,attr_value,tensor}.proto:
 *   SavedModel.meta_graphs = 2 → MetaGraphDef.graph_def = 2 → GraphDef.node = 1, GraphDef.library = 2
 *   FunctionDefLibrary.function = 1 → FunctionDef.node_def = 3
 *   NodeDef: name = 1, op = 2, input = 3, attr = 5 (map entry: key = 1, value = 2)
 *   AttrValue: s = 2, tensor = 8 → TensorProto.string_val = 8
 * Only op names, inputs and small string attributes are read; tensor contents are skipped.
 */
import type { Blob, FormatScanner, ScanContext } from '../types.ts';
import { FormatError, printable } from './cursor.ts';
import { ProtoReader, WIRE_LEN, type PbField } from './protobuf.ts';

export interface TfNode {
  name: string;
  op: string;
  inputs: string[];
  /** String attributes (AttrValue.s) and string tensors (AttrValue.tensor.string_val), by attr name. */
  strings: Map<string, string[]>;
  where: string;
}

const PYFUNC = new Set(['PyFunc', 'PyFuncStateless', 'EagerPyFunc']);
const FILE_IO: Record<string, 'low' | 'suspicious'> = {
  ReadFile: 'low',
  MatchingFiles: 'low',
  ImmutableConst: 'low',
  WriteFile: 'suspicious',
  DeleteFile: 'suspicious',
  TFRecordReader: 'low',
  TFRecordReaderV2: 'low',
  WholeFileReader: 'low',
  WholeFileReaderV2: 'low',
  TextLineReader: 'low',
  TextLineReaderV2: 'low',
  FixedLengthRecordReader: 'low',
  FixedLengthRecordReaderV2: 'low',
};
const CHECKPOINT_OPS = new Set(['Save', 'SaveV2', 'SaveSlices', 'Restore', 'RestoreV2', 'RestoreSlice', 'MergeV2Checkpoints']);
const MAX_NODES = 2_000_000;

/** Reads every NodeDef of the graphs and function bodies. */
export function readSavedModel(blob: Blob, tick: () => void): TfNode[] {
  const r = new ProtoReader(blob);
  const nodes: TfNode[] = [];
  const each = function* (f: PbField, what: string): Generator<PbField> {
    r.expectLen(f, what);
    for (const g of r.fields(f.start, f.end)) {
      if ((r.visited & 0xffff) === 0) tick();
      yield g;
    }
  };
  const node = (f: PbField, where: string): void => {
    if (nodes.length >= MAX_NODES) throw new FormatError(`more than ${MAX_NODES} nodes`, f.start);
    const n: TfNode = { name: '', op: '', inputs: [], strings: new Map(), where };
    for (const g of each(f, 'NodeDef')) {
      if (g.no === 1 && g.wire === WIRE_LEN) n.name = r.text(g, 1024);
      else if (g.no === 2 && g.wire === WIRE_LEN) n.op = r.text(g, 1024);
      else if (g.no === 3 && g.wire === WIRE_LEN) n.inputs.push(r.text(g, 1024));
      else if (g.no === 5) attr(g, n);
    }
    nodes.push(n);
  };
  const attr = (f: PbField, n: TfNode): void => {
    let key = '';
    const vals: string[] = [];
    for (const g of each(f, 'NodeDef.attr')) {
      if (g.no === 1 && g.wire === WIRE_LEN) key = r.text(g, 256);
      else if (g.no === 2) {
        for (const a of each(g, 'AttrValue')) {
          if (a.no === 2 && a.wire === WIRE_LEN) vals.push(r.text(a, 4096));
          else if (a.no === 8) for (const t of each(a, 'TensorProto')) if (t.no === 8 && t.wire === WIRE_LEN && vals.length < 16) vals.push(r.text(t, 4096));
        }
      }
    }
    if (vals.length) n.strings.set(key, vals);
  };
  const graph = (f: PbField): void => {
    for (const g of each(f, 'GraphDef')) {
      if (g.no === 1) node(g, 'graph');
      else if (g.no === 2) {
        for (const lib of each(g, 'FunctionDefLibrary')) {
          if (lib.no !== 1) continue;
          let fname = '';
          const body: PbField[] = [];
          for (const fn of each(lib, 'FunctionDef')) {
            if (fn.no === 1) for (const s of each(fn, 'OpDef')) if (s.no === 1 && s.wire === WIRE_LEN) fname = r.text(s, 256);
            if (fn.no === 3) body.push(fn);
          }
          for (const b of body) node(b, `function ${fname}`);
        }
      }
    }
  };
  let metaGraphs = 0;
  for (const f of r.fields(0, blob.size)) {
    if (f.no !== 2) continue;
    metaGraphs++;
    for (const g of each(f, 'MetaGraphDef')) if (g.no === 2) graph(g);
  }
  if (metaGraphs === 0) throw new FormatError('no meta graph in the SavedModel', 0);
  return nodes;
}

const unusualPath = (p: string): boolean => /^([/\\~]|[A-Za-z]:|[a-z][a-z0-9+.-]*:\/\/)/.test(p) || /(^|[/\\])\.\.([/\\]|$)/.test(p);
const inputName = (s: string): string => s.replace(/^\^/, '').replace(/:\d+$/, '');

export const savedModelScanner: FormatScanner = {
  async scan(blob: Blob, ctx: ScanContext): Promise<void> {
    let nodes: TfNode[];
    try {
      nodes = readSavedModel(blob, () => ctx.checkDeadline());
    } catch (e) {
      if (!(e instanceof FormatError)) throw e;
      ctx.report({ ruleId: 'TF_MALFORMED', message: `${ctx.name}: ${e.message}`, offset: e.offset });
      return;
    }
    const byName = new Map(nodes.filter((n) => n.where === 'graph').map((n) => [n.name, n]));
    const groups = new Map<string, TfNode[]>();
    for (const n of nodes) {
      const g = groups.get(n.op);
      if (g) g.push(n);
      else groups.set(n.op, [n]);
    }
    const list = (ns: TfNode[]): string => ns.slice(0, 8).map((n) => `${n.name} (${n.where})`).join(', ') + (ns.length > 8 ? ', …' : '');
    for (const [op, ns] of groups) {
      if (PYFUNC.has(op)) {
        const tokens = ns.flatMap((n) => n.strings.get('token') ?? []);
        ctx.report({ ruleId: 'TF_PYFUNC', message: `${ctx.name}: ${ns.length} ${op} node(s) call Python at run time`, evidence: printable(`${list(ns)}${tokens.length ? `; tokens ${tokens.slice(0, 4).join(', ')}` : ''}`, 300) });
      } else if (op in FILE_IO) {
        const paths = ns.flatMap((n) => n.strings.get('memory_region_name') ?? []);
        ctx.report({ ruleId: 'TF_FILE_IO', severity: FILE_IO[op]!, message: `${ctx.name}: ${ns.length} ${op} node(s) touch files at run time`, evidence: printable(list(ns) + (paths.length ? `; ${paths.join(', ')}` : ''), 300) });
      } else if (op === 'PrintV2') {
        const files = ns.flatMap((n) => (n.strings.get('output_stream') ?? []).filter((s) => s.startsWith('file://')));
        if (files.length) ctx.report({ ruleId: 'TF_FILE_IO', severity: 'suspicious', message: `${ctx.name}: PrintV2 writes to a file`, evidence: printable(files.join(', '), 300) });
      } else if (CHECKPOINT_OPS.has(op)) {
        for (const n of ns) {
          const src = byName.get(inputName(n.inputs[0] ?? ''));
          const path = src?.op === 'Const' ? (src.strings.get('value') ?? []).find(unusualPath) : undefined;
          if (path !== undefined) ctx.report({ ruleId: 'TF_FILE_IO', severity: 'suspicious', message: `${ctx.name}: ${op} node ${n.name} uses a fixed path outside the model`, evidence: printable(path) });
        }
      }
    }
  },
};
