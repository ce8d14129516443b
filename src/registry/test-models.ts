/**
 * Small real models for the registry tests, written to temp folders: a Hugging Face style base
 * (config.json + safetensors with __metadata__), a fine-tune, a PEFT adapter, a quantized GGUF
 * with general.* keys; and a P-256 key pair to sign them with.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KeySigner } from '../signing/key-method.ts';
import { signModel } from '../signing/model.ts';
import { gguf, ggufModelKv, safetensors, SMALL_TENSORS, type GgufValue } from '../../test/corpus/format-writers.ts';
import { makeTree, tempDir } from '../../test/helpers.ts';

export interface TestKeys {
  privateKey: KeyObject;
  publicKey: KeyObject;
  publicPem: string;
  dir: string;
}

export function testKeys(): TestKeys {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const dir = tempDir('perimeter-keys-');
  const publicPem = join(dir, 'key.pub');
  writeFileSync(join(dir, 'key.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(publicPem, publicKey.export({ type: 'spki', format: 'pem' }));
  return { privateKey, publicKey, publicPem, dir };
}

/** A base model folder; `seed` changes the weights (so the root digest). */
export function baseModel(seed = 'base', extra: Record<string, unknown> = {}): string {
  return makeTree({
    'config.json': JSON.stringify({ architectures: ['LlamaForCausalLM'], model_type: 'llama', torch_dtype: 'bfloat16', ...extra }),
    'model.safetensors': safetensors(SMALL_TENSORS, { metadata: { format: 'pt', seed } }),
    'tokenizer_config.json': JSON.stringify({ model_max_length: 4096 }),
  });
}

export function adapterModel(base: string, seed = 'adapter'): string {
  return makeTree({
    'adapter_config.json': JSON.stringify({ base_model_name_or_path: base, peft_type: 'LORA', r: 8, lora_alpha: 16, target_modules: ['q_proj', 'v_proj'] }),
    'adapter_model.safetensors': safetensors([{ name: 'base_model.model.layers.0.q_proj.lora_A.weight', dtype: 'F32', shape: [8, 8] }], { metadata: { format: 'pt', seed } }),
  });
}

const s = (v: string): GgufValue => ({ t: 'str', v });
const u32 = (v: number): GgufValue => ({ t: 'u32', v });

/** A quantized (Q4_K_M) GGUF file deriving from `sourceRepo` (a Hugging Face id). */
export function ggufModel(sourceRepo: string, opts: { fileType?: number; license?: string; name?: string } = {}): string {
  const kv = ggufModelKv().filter(([k]) => k !== 'general.file_type' && k !== 'general.name');
  kv.unshift(
    ['general.name', s(opts.name ?? 'Test Model Q4')],
    ['general.license', s(opts.license ?? 'apache-2.0')],
    ['general.file_type', u32(opts.fileType ?? 15)],
    ['general.base_model.count', u32(1)],
    ['general.base_model.0.name', s('Base')],
    ['general.base_model.0.organization', s('Org')],
    ['general.base_model.0.repo_url', s(`https://huggingface.co/${sourceRepo}`)],
  );
  const dir = tempDir('perimeter-gguf-');
  const file = join(dir, 'model-q4_k_m.gguf');
  writeFileSync(file, gguf(kv, [{ name: 'token_embd.weight', dims: [64, 4], type: 1 }]).bytes);
  return file;
}

export async function signWith(modelPath: string, keys: TestKeys): Promise<string> {
  return (await signModel(modelPath, new KeySigner(keys.privateKey))).signaturePath;
}
