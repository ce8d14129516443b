/**
 * Keras model configurations: the config.json of a .keras archive (Keras 3: objects with module,
 * class_name, config, registered_name) and the model_config attribute of legacy .h5 files
 * (Keras 2: class_name and config). What runs code on load:
 *  - Lambda layers and "__lambda__" objects carry marshalled Python bytecode (func_dump);
 *  - "module" names the Python module Keras imports to find the class or function;
 *  - registered names ("package>Name") need custom code from outside Keras.
 */
import type { Severity } from '../types.ts';
import { printable } from './cursor.ts';

export interface KerasIssue {
  ruleId: string;
  severity?: Severity;
  message: string;
  evidence: string;
}

const KERAS_MODULE = /^(keras|tf_keras|keras_hub|keras_nlp|keras_cv|tensorflow\.keras|tf\.keras|tensorflow\.python\.keras)(\.|$)/;
const UNSAFE_MODULE = /^(os|posix|nt|subprocess|sys|importlib|runpy|shutil|socket|pty|pickle|marshal|ctypes|code|codeop|webbrowser|requests|urllib|http|multiprocessing|threading|asyncio|pathlib|io|tempfile|glob)(\.|$)/;
const UNSAFE_BUILTINS = new Set(['eval', 'exec', '__import__', 'open', 'compile', 'getattr', 'setattr', 'input', 'breakpoint', 'globals', 'locals', 'vars', 'exit', 'quit']);
const MAX_NODES = 5_000_000;
const MAX_ISSUES = 25;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A JSON value shaped like a Keras object config at the top. */
export const isKerasConfig = (v: unknown): boolean => isObj(v) && typeof v.class_name === 'string' && (isObj(v.config) || Array.isArray(v.config));

const preview = (v: unknown): string => {
  const s = typeof v === 'string' ? v : JSON.stringify(v) ?? '';
  return printable(s, 120);
};

export function analyzeKerasConfig(root: unknown, tick: () => void = () => {}): KerasIssue[] {
  const issues: KerasIssue[] = [];
  const seen = new Set<string>();
  const add = (key: string, issue: KerasIssue): void => {
    if (seen.has(key) || issues.length >= MAX_ISSUES) return;
    seen.add(key);
    issues.push(issue);
  };
  const stack: [unknown, boolean][] = [[root, false]];
  let visited = 0;
  while (stack.length) {
    const [node, inLambda] = stack.pop()!;
    if (++visited > MAX_NODES) {
      add('limit', { ruleId: 'KERAS_CUSTOM_OBJECT', message: `config has more than ${MAX_NODES} values; the rest was not checked`, evidence: 'size' });
      break;
    }
    if ((visited & 0xffff) === 0) tick();
    if (Array.isArray(node)) {
      for (const x of node) stack.push([x, inLambda]);
      continue;
    }
    if (!isObj(node)) continue;
    const cn = typeof node.class_name === 'string' ? node.class_name : undefined;
    const cfg = isObj(node.config) ? node.config : undefined;
    const name = typeof cfg?.name === 'string' ? cfg.name : '';
    let lambda = inLambda;
    if (cn === 'Lambda') {
      lambda = true;
      add(`lambda:${name}:${visited}`, { ruleId: 'KERAS_LAMBDA', message: `Lambda layer ${printable(name, 60)} carries Python code`, evidence: preview(cfg?.function ?? cfg) });
    } else if (cn === '__lambda__' && !inLambda) {
      add(`__lambda__:${visited}`, { ruleId: 'KERAS_LAMBDA', message: 'serialized Python lambda (__lambda__)', evidence: preview(node.config) });
    } else if (cn === 'TFOpLambda' || cn === 'SlicingOpLambda') {
      add(`tfop:${String(cfg?.function)}`, { ruleId: 'KERAS_TF_OP_LAMBDA', message: `${cn} layer ${printable(name, 60)} calls ${printable(String(cfg?.function ?? '?'), 60)}`, evidence: preview(cfg?.function) });
    }
    const module = typeof node.module === 'string' ? node.module : undefined;
    const registered = typeof node.registered_name === 'string' ? node.registered_name : undefined;
    const typespec = cn === '__typespec__' && /^tensorflow\./.test(module ?? '');
    if (module !== undefined && cn !== undefined && !KERAS_MODULE.test(module) && !typespec) {
      const fn = typeof node.config === 'string' ? node.config : cn;
      const evidence = printable(`module=${module} class_name=${cn}${typeof node.config === 'string' ? ` config=${node.config}` : ''}${registered ? ` registered_name=${registered}` : ''}`, 200);
      if (UNSAFE_MODULE.test(module) || (module === 'builtins' && UNSAFE_BUILTINS.has(fn))) {
        add(`unsafe:${module}:${fn}`, { ruleId: 'KERAS_UNSAFE_MODULE', message: `config makes Keras import ${printable(module, 60)} (${printable(fn, 40)})`, evidence });
      } else {
        add(`custom:${module}:${cn}`, { ruleId: 'KERAS_CUSTOM_OBJECT', message: `custom object ${printable(cn, 60)} from module ${printable(module, 80)}`, evidence });
      }
    } else if (registered !== undefined && registered.includes('>') && !KERAS_MODULE.test(registered.split('>')[0]!)) {
      add(`registered:${registered}`, { ruleId: 'KERAS_CUSTOM_OBJECT', message: `custom object registered as ${printable(registered, 80)}`, evidence: printable(`class_name=${cn ?? '?'} registered_name=${registered}`) });
    }
    for (const v of Object.values(node)) if (typeof v === 'object' && v !== null) stack.push([v, lambda]);
  }
  return issues;
}
