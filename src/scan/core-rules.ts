import type { RuleTable } from './rule.ts';

/** Rules owned by the scan orchestrator itself. */
export const CORE_RULES: RuleTable = {
  SCAN_LIMIT: {
    severity: 'suspicious',
    title: 'A resource limit stopped the scan of this content',
    remediation: 'The content could not be fully inspected (size, depth, member count, ratio or total bytes). Treat it as unsafe, or raise the limit with --max-bytes if you trust the source.',
  },
  SCAN_TIMEOUT: {
    severity: 'suspicious',
    title: 'The scan ran out of time',
    remediation: 'The file could not be fully inspected in its time budget. Do not load it until it scans clean.',
  },
  SCAN_UNSUPPORTED: {
    severity: 'suspicious',
    title: 'Content in a format the scanner cannot inspect',
    remediation: 'Perimeter recognised the container but cannot read inside it; convert to a supported format or inspect it by other means before loading.',
  },
  SCAN_UNREADABLE: {
    severity: 'suspicious',
    title: 'The file could not be read',
    remediation: 'Check permissions and that the file is not being written; an unread file was not scanned.',
  },
  SCAN_UNKNOWN_FORMAT: {
    severity: 'info',
    title: 'File of a format that does not run code on load',
    remediation: 'No action needed: the content is not a known model or archive format, and none of the formats that run code on load was detected.',
  },
};
