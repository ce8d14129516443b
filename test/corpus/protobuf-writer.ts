/**
 * A protobuf wire-format encoder and builders for the SavedModel and ONNX test files. Field
 * numbers follow tensorflow's saved_model/meta_graph/graph/function/node_def/attr_value/tensor
 * protos and onnx/onnx.proto (the same numbers the scanners document).
 */

export function varint(n: number | bigint): Buffer {
  let x = BigInt(n);
  if (x < 0n) x += 1n << 64n;
  const out: number[] = [];
  do {
    let b = Number(x & 0x7fn);
    x >>= 7n;
    if (x > 0n) b |= 0x80;
    out.push(b);
  } while (x > 0n);
  return Buffer.from(out);
}
export const tag = (no: number, wire: number): Buffer => varint(no * 8 + wire);
/** A length-delimited field (string, bytes or sub-message). */
export const len = (no: number, payload: Buffer | string): Buffer => {
  const b = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  return Buffer.concat([tag(no, 2), varint(b.length), b]);
};
export const int = (no: number, n: number | bigint): Buffer => Buffer.concat([tag(no, 0), varint(n)]);
export const msg = (no: number, ...fields: Buffer[]): Buffer => len(no, Buffer.concat(fields));

// ---------------------------------------------------------------- TensorFlow SavedModel

export interface TfNodeSpec {
  name: string;
  op: string;
  inputs?: string[];
  /** attr name → string value (AttrValue.s) */
  s?: Record<string, string>;
  /** attr name → string tensor (AttrValue.tensor.string_val) */
  strings?: Record<string, string[]>;
  /** Bytes of tensor content to embed (skipped by the scanner). */
  content?: number;
}

function nodeDef(no: number, n: TfNodeSpec): Buffer {
  const f: Buffer[] = [len(1, n.name), len(2, n.op), ...(n.inputs ?? []).map((i) => len(3, i))];
  for (const [k, v] of Object.entries(n.s ?? {})) f.push(msg(5, len(1, k), msg(2, len(2, v))));
  for (const [k, v] of Object.entries(n.strings ?? {})) f.push(msg(5, len(1, k), msg(2, msg(8, int(1, 7), ...v.map((x) => len(8, x))))));
  if (n.content) f.push(msg(5, len(1, 'value'), msg(2, msg(8, int(1, 1), len(4, Buffer.alloc(n.content))))));
  return msg(no, ...f);
}

export function savedModel(nodes: TfNodeSpec[], functions: { name: string; nodes: TfNodeSpec[] }[] = []): Buffer {
  const lib = functions.length ? [msg(2, ...functions.map((fn) => msg(1, msg(1, len(1, fn.name)), ...fn.nodes.map((n) => nodeDef(3, n)))))] : [];
  const graph = msg(2, ...nodes.map((n) => nodeDef(1, n)), int(3, 1), ...lib);
  const meta = msg(2, msg(1, len(1, 'serve')), graph);
  return Buffer.concat([int(1, 1), meta]);
}

/** The ops of a small served graph, including the checkpoint ops every SavedModel has. */
export const BENIGN_TF_NODES: TfNodeSpec[] = [
  { name: 'serving_default_x', op: 'Placeholder' },
  { name: 'dense/kernel', op: 'VarHandleOp' },
  { name: 'dense/MatMul/ReadVariableOp', op: 'ReadVariableOp', inputs: ['dense/kernel'] },
  { name: 'dense/MatMul', op: 'MatMul', inputs: ['serving_default_x', 'dense/MatMul/ReadVariableOp'] },
  { name: 'dense/Relu', op: 'Relu', inputs: ['dense/MatMul'] },
  { name: 'saver_filename', op: 'Placeholder' },
  { name: 'tensor_names', op: 'Const', strings: { value: ['dense/kernel/.ATTRIBUTES/VARIABLE_VALUE'] } },
  { name: 'SaveV2', op: 'SaveV2', inputs: ['saver_filename', 'tensor_names'] },
  { name: 'RestoreV2', op: 'RestoreV2', inputs: ['saver_filename', 'tensor_names'] },
  { name: 'weights', op: 'Const', content: 4096 },
];

// ---------------------------------------------------------------- ONNX

export interface OnnxTensorSpec {
  name: string;
  location?: string;
  raw?: number;
  /** data_location = EXTERNAL without a location entry. */
  externalWithoutLocation?: boolean;
}
export interface OnnxNodeSpec {
  op: string;
  domain?: string;
  /** A subgraph attribute (e.g. the body of a Loop or the branches of an If). */
  subgraph?: { nodes?: OnnxNodeSpec[]; initializers?: OnnxTensorSpec[] };
  /** A tensor attribute (e.g. Constant's value). */
  tensor?: OnnxTensorSpec;
}

function tensorProto(no: number, t: OnnxTensorSpec): Buffer {
  const f: Buffer[] = [int(1, 4), int(2, 1), len(8, t.name)]; // dims [4], data_type FLOAT, name
  if (t.raw) f.push(len(9, Buffer.alloc(t.raw, 7)));
  if (t.location !== undefined) f.push(msg(13, len(1, 'location'), len(2, t.location)), msg(13, len(1, 'offset'), len(2, '0')), int(14, 1));
  if (t.externalWithoutLocation) f.push(int(14, 1));
  return msg(no, ...f);
}

function nodeProto(no: number, n: OnnxNodeSpec): Buffer {
  const f: Buffer[] = [len(1, 'x'), len(2, 'y'), len(4, n.op)];
  if (n.domain !== undefined) f.push(len(7, n.domain));
  if (n.subgraph) f.push(msg(5, len(1, 'body'), int(20, 5), graphProto(6, n.subgraph)));
  if (n.tensor) f.push(msg(5, len(1, 'value'), int(20, 4), tensorProto(5, n.tensor)));
  return msg(no, ...f);
}

function graphProto(no: number, g: { nodes?: OnnxNodeSpec[]; initializers?: OnnxTensorSpec[] }): Buffer {
  return msg(no, ...(g.nodes ?? []).map((n) => nodeProto(1, n)), len(2, 'graph'), ...(g.initializers ?? []).map((t) => tensorProto(5, t)));
}

export function onnxModel(g: { nodes?: OnnxNodeSpec[]; initializers?: OnnxTensorSpec[]; opsets?: string[]; functionDomain?: string }): Buffer {
  const opsets = (g.opsets ?? ['']).map((d) => msg(8, len(1, d), int(2, 17)));
  const fn = g.functionDomain ? [msg(25, len(1, 'local_fn'), len(10, g.functionDomain), nodeProto(7, { op: 'Relu' }))] : [];
  return Buffer.concat([int(1, 8), len(2, 'perimeter-tests'), ...opsets, graphProto(7, g), ...fn]);
}

export const BENIGN_ONNX = {
  nodes: [{ op: 'MatMul' }, { op: 'Relu' }, { op: 'FusedMatMul', domain: 'com.microsoft' }, { op: 'If', subgraph: { nodes: [{ op: 'Identity' }] } }],
  initializers: [{ name: 'w', raw: 1024 }, { name: 'big', location: 'weights/model.onnx.data' }, { name: 'big2', location: './model.onnx_data' }],
  opsets: ['', 'ai.onnx.ml', 'com.microsoft'],
};
