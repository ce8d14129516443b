/**
 * GGUF constants from llama.cpp: ggml/src/gguf.cpp (loader limits), ggml/include/ggml.h (enum
 * ggml_type, GGML_MAX_DIMS, GGML_MAX_NAME) and the type_traits table of ggml/src/ggml.c with the
 * block structs of ggml-common.h (also listed as GGML_QUANT_SIZES in gguf-py/gguf/constants.py).
 * Ids 4, 5, 31-33 and 36-38 were removed (block size 0: the loader refuses them).
 */

export const GGUF_DEFAULT_ALIGNMENT = 32;
/** GGUF_MAX_STRING_LENGTH and GGUF_MAX_ARRAY_ELEMENTS in gguf.cpp. */
export const GGUF_MAX_STRING_LENGTH = 1024 * 1024 * 1024;
export const GGUF_MAX_ARRAY_ELEMENTS = 1024 * 1024 * 1024;
export const GGML_MAX_DIMS = 4;
/** Names must be shorter than this (gguf.cpp: `name.length() >= GGML_MAX_NAME` is an error). */
export const GGML_MAX_NAME = 64;

/** enum gguf_type: value types of key-value pairs, with their byte size (0: string or array). */
export const GGUF_VALUE_TYPES: Readonly<Record<number, { name: string; size: number }>> = {
  0: { name: 'u8', size: 1 },
  1: { name: 'i8', size: 1 },
  2: { name: 'u16', size: 2 },
  3: { name: 'i16', size: 2 },
  4: { name: 'u32', size: 4 },
  5: { name: 'i32', size: 4 },
  6: { name: 'f32', size: 4 },
  7: { name: 'bool', size: 1 },
  8: { name: 'str', size: 0 },
  9: { name: 'arr', size: 0 },
  10: { name: 'u64', size: 8 },
  11: { name: 'i64', size: 8 },
  12: { name: 'f64', size: 8 },
};
export const GGUF_TYPE_UINT32 = 4;
export const GGUF_TYPE_STRING = 8;
export const GGUF_TYPE_ARRAY = 9;

const QK_K = 256;
/** ggml_type id → [name, elements per block, bytes per block]. */
export const GGML_TYPES: Readonly<Record<number, readonly [string, number, number]>> = {
  0: ['F32', 1, 4],
  1: ['F16', 1, 2],
  2: ['Q4_0', 32, 2 + 16],
  3: ['Q4_1', 32, 2 + 2 + 16],
  6: ['Q5_0', 32, 2 + 4 + 16],
  7: ['Q5_1', 32, 2 + 2 + 4 + 16],
  8: ['Q8_0', 32, 2 + 32],
  9: ['Q8_1', 32, 4 + 4 + 32],
  10: ['Q2_K', 256, 2 + 2 + QK_K / 16 + QK_K / 4],
  11: ['Q3_K', 256, 2 + QK_K / 4 + QK_K / 8 + 12],
  12: ['Q4_K', 256, 2 + 2 + QK_K / 2 + 12],
  13: ['Q5_K', 256, 2 + 2 + QK_K / 2 + QK_K / 8 + 12],
  14: ['Q6_K', 256, 2 + QK_K / 2 + QK_K / 4 + QK_K / 16],
  15: ['Q8_K', 256, 4 + QK_K + QK_K / 8],
  16: ['IQ2_XXS', 256, 2 + QK_K / 4],
  17: ['IQ2_XS', 256, 2 + QK_K / 4 + QK_K / 32],
  18: ['IQ3_XXS', 256, 2 + QK_K / 4 + QK_K / 8],
  19: ['IQ1_S', 256, 2 + QK_K / 8 + QK_K / 16],
  20: ['IQ4_NL', 32, 2 + 16],
  21: ['IQ3_S', 256, 2 + QK_K / 4 + QK_K / 8 + QK_K / 32 + 4],
  22: ['IQ2_S', 256, 2 + QK_K / 4 + QK_K / 16],
  23: ['IQ4_XS', 256, 2 + 2 + QK_K / 2 + QK_K / 64],
  24: ['I8', 1, 1],
  25: ['I16', 1, 2],
  26: ['I32', 1, 4],
  27: ['I64', 1, 8],
  28: ['F64', 1, 8],
  29: ['IQ1_M', 256, QK_K / 8 + QK_K / 16 + QK_K / 32],
  30: ['BF16', 1, 2],
  34: ['TQ1_0', 256, 2 + 4 * 13],
  35: ['TQ2_0', 256, 2 + 64],
  39: ['MXFP4', 32, 1 + 16],
  40: ['NVFP4', 64, 4 + 32],
  41: ['Q1_0', 128, 2 + 16],
  42: ['Q2_0', 64, 2 + 16],
};
/** GGML_TYPE_COUNT of the newest ggml.h this table follows. */
export const GGML_TYPE_COUNT = 43;
