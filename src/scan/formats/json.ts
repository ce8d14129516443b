/**
 * JSON and Jinja files of a model folder: chat templates (tokenizer_config.json "chat_template" as a
 * string or a list of {name, template}, chat_template.json, *.jinja), Keras model configs, and the
 * "auto_map" / "custom_pipelines" entries through which transformers imports the repo's own code.
 */
import type { Blob, FormatScanner, ScanContext } from '../types.ts';
import { printable } from './cursor.ts';
import { analyzeKerasConfig, isKerasConfig } from './keras.ts';
import { reportTemplate } from './template.ts';

/** File names that claim to be model configuration (an unreadable one is not clean). */
const CONFIG_NAME = /(^|[/\\])([\w.-]*config[\w.-]*\.json|chat_template\.json|metadata\.json|model_index\.json|tokenizer\.json|special_tokens_map\.json)$/i;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function reportKeras(ctx: ScanContext, cfg: unknown, where: string): void {
  for (const i of analyzeKerasConfig(cfg, () => ctx.checkDeadline())) {
    ctx.report({ ruleId: i.ruleId, message: `${where}: ${i.message}`, evidence: i.evidence, ...(i.severity ? { severity: i.severity } : {}) });
  }
}

/** Checks a parsed JSON document (also used for the model_config found in HDF5 files). */
export function checkJsonDocument(ctx: ScanContext, doc: unknown, where: string): void {
  if (!isObj(doc)) return;
  const ct = doc.chat_template;
  if (typeof ct === 'string') reportTemplate(ctx, ct, `${where} chat_template`);
  else if (Array.isArray(ct)) {
    for (const [i, t] of ct.entries()) {
      if (isObj(t) && typeof t.template === 'string') reportTemplate(ctx, t.template, `${where} chat_template ${printable(String(t.name ?? i), 60)}`);
    }
  }
  for (const key of ['auto_map', 'custom_pipelines']) {
    const m = doc[key];
    if (isObj(m) && Object.keys(m).length > 0) {
      const refs = Object.entries(m).map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
      ctx.report({ ruleId: 'JSON_AUTO_MAP', message: `${where}: ${key} names custom code (${refs.length} entr${refs.length === 1 ? 'y' : 'ies'}) that trust_remote_code would import`, evidence: printable(refs.join('; '), 300) });
    }
  }
  if (isKerasConfig(doc)) reportKeras(ctx, doc, where);
}

export const jsonScanner: FormatScanner = {
  async scan(blob: Blob, ctx: ScanContext): Promise<void> {
    const name = ctx.name;
    if (blob.size > ctx.limits.maxBytes) {
      ctx.report({ ruleId: 'JSON_TOO_LARGE', message: `${name}: ${blob.size} bytes, over the ${ctx.limits.maxBytes}-byte limit; not checked` });
      return;
    }
    const text = blob.read(0, blob.size).toString('utf8');
    const lower = name.toLowerCase();
    if (lower.endsWith('.jinja') || lower.endsWith('.j2') || /(^|\/)chat_template$/.test(lower)) {
      reportTemplate(ctx, text, name);
      return;
    }
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (e) {
      if (CONFIG_NAME.test(name)) ctx.report({ ruleId: 'JSON_MALFORMED', message: `${name}: not valid JSON (${(e as Error).message})` });
      return;
    }
    ctx.checkDeadline();
    checkJsonDocument(ctx, doc, name);
  },
};
