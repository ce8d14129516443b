/**
 * Cedar policy text as files: splitting a file into its policies (with their offsets, so each
 * policy keeps its own id and every error points at a line of the file) and turning Cedar's byte
 * offsets into lines and columns.
 *
 * Cedar's own `policySetTextToParts` returns the policies sorted by their generated ids
 * ("policy0", "policy1", "policy10", ...), which loses the order and the offsets; so the file is
 * split here with Cedar's lexical rules (strings with backslash escapes, `//` comments; `;` ends a
 * policy and appears nowhere else outside strings). The loader checks the count against Cedar's.
 */

/** One policy of a file: its text (leading comments included) and where it sits. */
export interface PolicyChunk {
  readonly text: string;
  /** UTF-16 offset of `text` in the file. */
  readonly start: number;
  /** UTF-16 offset of the policy's first token (its first annotation or its effect). */
  readonly first: number;
}

/** Splits a Cedar file (already known to parse) into its policies, in file order. */
export function splitPolicies(text: string): PolicyChunk[] {
  const chunks: PolicyChunk[] = [];
  let start = 0;
  let first = -1;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const ch = text.charCodeAt(i);
    if (ch === 0x2f /* / */ && text.charCodeAt(i + 1) === 0x2f) {
      const nl = text.indexOf('\n', i);
      i = nl < 0 ? n : nl + 1;
      continue;
    }
    if (ch === 0x20 || ch === 0x09 || ch === 0x0a || ch === 0x0d) {
      i++;
      continue;
    }
    if (first < 0) first = i;
    if (ch === 0x22 /* " */) {
      i++;
      while (i < n && text.charCodeAt(i) !== 0x22) i += text.charCodeAt(i) === 0x5c /* \ */ ? 2 : 1;
      i++;
      continue;
    }
    i++;
    if (ch === 0x3b /* ; */) {
      chunks.push({ text: text.slice(start, i), start, first });
      start = i;
      first = -1;
    }
  }
  return chunks;
}

export interface LineCol {
  readonly line: number;
  readonly column: number;
}

/** 1-based line and column of a UTF-16 offset. */
export function lineColAt(text: string, offset: number): LineCol {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(Math.max(offset, 0), text.length);
  for (let i = text.indexOf('\n'); i >= 0 && i < end; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: end - lineStart + 1 };
}

/** The UTF-16 offset of a UTF-8 byte offset (Cedar reports byte offsets). */
export function charOffset(text: string, byteOffset: number): number {
  if (byteOffset <= 0) return 0;
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    if (bytes >= byteOffset) return i;
    const c = text.codePointAt(i)!;
    bytes += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
    if (c >= 0x10000) i++;
  }
  return text.length;
}
