import type { RuleTable } from '../rule.ts';

/** Rules of the archive readers (zip, tar, gzip, 7z/bzip2/xz). Resource limits use the core SCAN_LIMIT. */
export const ARCHIVE_RULES: RuleTable = {
  ARCHIVE_MALFORMED: {
    severity: 'suspicious',
    title: 'The archive is damaged or does not follow its format',
    remediation:
      'Loaders and scanners read damaged archives differently, so content one of them skips may still be loaded by another. Re-create the archive from a trusted source (e.g. torch.save or a fresh download) and scan it again before loading.',
  },
  ARCHIVE_EVASION: {
    severity: 'suspicious',
    title: 'Zip headers that make scanners and loaders disagree',
    remediation:
      'Encryption or patch flags on plain data, wrong CRCs, sizes that do not match, or local names that differ from the central directory make tools such as Python zipfile refuse members that PyTorch loads anyway. Legitimate writers do not produce these; treat the file as hostile and do not load it.',
  },
  ARCHIVE_OVERLAP: {
    severity: 'suspicious',
    title: 'Archive entries share the same bytes',
    remediation:
      'Several entries point into the same data: an overlapping zip bomb or an attempt to show different tools different content. Do not load or extract the file; obtain the model again from its publisher.',
  },
  ARCHIVE_DUPLICATE_NAME: {
    severity: 'suspicious',
    title: 'Two archive entries have the same name',
    remediation:
      'Different readers pick different copies of a duplicated name (the first, the last, or an arbitrary one), so the copy a scanner checked may not be the one that is loaded. Re-create the archive without duplicates.',
  },
  ARCHIVE_UNSAFE_PATH: {
    severity: 'suspicious',
    title: 'An archive entry escapes the extraction folder',
    remediation:
      'Absolute names, ".." segments, backslashes or control characters (or a link whose target leaves the folder) can overwrite files outside the target folder when extracted. Do not extract the archive with a tool that follows such names; re-create it with relative names.',
  },
  ARCHIVE_LINK: {
    severity: 'low',
    title: 'The archive contains a symbolic or hard link',
    remediation:
      'Links are an extraction hazard (a later entry can be written through them). Model archives rarely need links; extract with a tool that refuses links, or replace them with regular files.',
  },
  ARCHIVE_UNSUPPORTED_METHOD: {
    severity: 'suspicious',
    title: 'An archive member uses a compression method the scanner cannot read',
    remediation:
      'The member was not inspected. Re-pack the archive with stored or deflate compression (zip) so it can be scanned, or inspect the member by other means before loading.',
  },
  ARCHIVE_ENCRYPTED: {
    severity: 'suspicious',
    title: 'Encrypted archive content could not be inspected',
    remediation:
      'Encrypted members cannot be scanned. Decrypt the archive yourself from a trusted source and scan the plain content before loading it.',
  },
  ARCHIVE_PARTIAL_MEMBER: {
    severity: 'info',
    title: 'Only the start of a large compressed member was inflated',
    remediation:
      'No action needed when the member is array data (its header was checked). If a scanner needed more of it, a SCAN_UNREADABLE finding says so; raise --max-bytes to inspect it in full.',
  },
  ARCHIVE_TENSORS_SKIPPED: {
    severity: 'info',
    title: 'Raw tensor storages of a PyTorch archive were not read',
    remediation:
      'No action needed: members under <archive>/data/ hold raw tensor bytes that torch.load copies into memory without unpickling.',
  },
};
