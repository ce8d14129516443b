/**
 * License strings as models carry them (Hugging Face ids such as "apache-2.0", "llama3.1",
 * "openrail", GGUF general.license) mapped to CycloneDX license choices: an SPDX id when it is one
 * (case-insensitively, with the usual Hugging Face aliases), an SPDX expression when it is one,
 * otherwise a named license. Only ids in the SPDX license list are emitted as ids.
 */

/** SPDX license ids common for model weights, code and data (all in the SPDX license list). */
const SPDX_IDS = [
  '0BSD', 'AFL-3.0', 'AGPL-3.0-only', 'AGPL-3.0-or-later', 'Apache-2.0', 'Artistic-2.0', 'BSD-2-Clause', 'BSD-3-Clause',
  'BSD-3-Clause-Clear', 'BSL-1.0', 'C-UDA-1.0', 'CC-BY-2.0', 'CC-BY-3.0', 'CC-BY-4.0', 'CC-BY-NC-2.0', 'CC-BY-NC-3.0',
  'CC-BY-NC-4.0', 'CC-BY-NC-ND-3.0', 'CC-BY-NC-ND-4.0', 'CC-BY-NC-SA-2.0', 'CC-BY-NC-SA-3.0', 'CC-BY-NC-SA-4.0',
  'CC-BY-ND-4.0', 'CC-BY-SA-3.0', 'CC-BY-SA-4.0', 'CC0-1.0', 'CDLA-Permissive-1.0', 'CDLA-Permissive-2.0',
  'CDLA-Sharing-1.0', 'ECL-2.0', 'EPL-1.0', 'EPL-2.0', 'EUPL-1.1', 'EUPL-1.2', 'GPL-2.0-only', 'GPL-2.0-or-later',
  'GPL-3.0-only', 'GPL-3.0-or-later', 'ISC', 'LGPL-2.1-only', 'LGPL-2.1-or-later', 'LGPL-3.0-only', 'LGPL-3.0-or-later',
  'LPPL-1.3c', 'MIT', 'MPL-2.0', 'ODC-By-1.0', 'ODbL-1.0', 'OFL-1.1', 'OPUBL-1.0', 'PDDL-1.0', 'PostgreSQL', 'Python-2.0',
  'Unlicense', 'WTFPL', 'Zlib',
];

const BY_LOWER = new Map(SPDX_IDS.map((id) => [id.toLowerCase(), id]));
/** Hugging Face license tags that name a deprecated or short SPDX form. */
const ALIASES: Record<string, string> = {
  'gpl-2.0': 'GPL-2.0-only',
  'gpl-3.0': 'GPL-3.0-only',
  'lgpl-2.1': 'LGPL-2.1-only',
  'lgpl-3.0': 'LGPL-3.0-only',
  'agpl-3.0': 'AGPL-3.0-only',
  'lgpl-lr': 'LGPL-3.0-only',
  'bsd-3-clause-clear': 'BSD-3-Clause-Clear',
  'cc-by-nc-sa-4.0': 'CC-BY-NC-SA-4.0',
  bsl: 'BSL-1.0',
};

/** The SPDX id for a license string, or undefined when it is not one we know. */
export function spdxId(license: string): string | undefined {
  const l = license.trim().toLowerCase();
  return BY_LOWER.get(l) ?? ALIASES[l];
}

export type CdxLicenseChoice = Array<{ license: { id: string } | { name: string } }> | [{ expression: string }];

export function cdxLicenses(license: string | null): CdxLicenseChoice | undefined {
  if (!license || license.trim() === '') return undefined;
  const t = license.trim();
  const id = spdxId(t);
  if (id) return [{ license: { id } }];
  // An SPDX expression: ids joined by AND/OR/WITH, every id one we know.
  if (/\s(AND|OR|WITH)\s/.test(t)) {
    const ids = t.replace(/[()]/g, ' ').split(/\s+/).filter((w) => w && !/^(AND|OR|WITH)$/.test(w));
    if (ids.every((w) => spdxId(w) !== undefined || /-exception/i.test(w))) return [{ expression: t }];
  }
  return [{ license: { name: t } }];
}
