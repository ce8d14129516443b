/**
 * perimeter keys create|list|revoke: the gateway's API keys. The full key is printed once, by
 * create; the store keeps only its hash. Running gateways pick changes up at their next refresh.
 */
import type { Command } from 'commander';
import { PerimeterError } from '../../errors/errors.ts';
import { createApiKey, listApiKeys, revokeApiKey, type ApiKeyInfo } from '../../gateway/identity/apikeys.ts';
import { EXIT, bold, dim, green, printJson, red } from '../output.ts';
import { actor, addConfigFlags, loadConfigFrom, withStore, withStoreAndLog, type ConfigFlags, runAction as run } from './config-flags.ts';

interface CreateFlags extends ConfigFlags {
  principal: string;
  org?: string;
  group: string[];
  verified?: boolean;
  attestation: string[];
  expires?: string;
}

const UNIT_MS: Readonly<Record<string, number>> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const SHOWN_ONCE = 'This key cannot be shown again: store it now (only its hash is kept).';

/** `30d`, `12h`, `90m`, `2w` from now, or an ISO 8601 date / date-time; must be in the future. */
export function parseExpiry(s: string, now = Date.now()): number {
  const rel = /^([1-9][0-9]{0,5})([mhdw])$/.exec(s);
  let t: number;
  if (rel) t = now + Number(rel[1]) * UNIT_MS[rel[2]!]!;
  else if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(s)) t = Date.parse(s);
  else throw new PerimeterError('PERIM_E_USAGE', `--expires must be like 30d, 12h, 90m, 2w or an ISO date (2027-01-31), got "${s}"`);
  if (!Number.isFinite(t)) throw new PerimeterError('PERIM_E_USAGE', `--expires "${s}" is not a valid date`);
  if (t <= now) throw new PerimeterError('PERIM_E_USAGE', `--expires "${s}" is in the past`);
  return t;
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];
const when = (t: number | null): string => (t === null ? 'never' : new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z'));
const statusText = (k: ApiKeyInfo): string => (k.status === 'active' ? green('active') : red(k.status));

function listText(keys: readonly ApiKeyInfo[]): string {
  if (keys.length === 0) return 'no API keys (perimeter keys create)\n';
  const rows = keys.map((k) => [k.id, k.name, k.principal, k.org ?? '-', k.groups.join(',') || '-', k.verified ? 'yes' : 'no', when(k.expiresAt), k.status]);
  const head = ['ID', 'NAME', 'PRINCIPAL', 'ORG', 'GROUPS', 'VERIFIED', 'EXPIRES', 'STATUS'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd() + '\n';
  return `${keys.length} key(s)\n` + line(head) + rows.map((r, i) => line([...r.slice(0, -1), statusText(keys[i]!)])).join('');
}

export function registerKeys(program: Command): void {
  const keys = program.command('keys').description("the gateway's API keys: create (the key is shown once), list, revoke");

  addConfigFlags(
    keys
      .command('create')
      .description('make an API key for a principal and print it once')
      .argument('<NAME>', 'what the key is for (e.g. "batch-jobs")')
      .requiredOption('--principal <id>', 'the principal requests with this key act as')
      .option('--org <org>', "the principal's organisation")
      .option('--group <group>', 'a group the principal is in (repeatable)', collect, [])
      .option('--verified', "the principal's identity was verified")
      .option('--attestation <name>', 'a usage attestation the principal signed, e.g. acceptable-use-2026 (repeatable)', collect, [])
      .option('--expires <when>', 'expiry: 30d, 12h, 90m, 2w or an ISO date (default: never)')
      .option('--json', 'print as JSON'),
  ).action((name: string, f: CreateFlags) =>
    run(f, async (out) => {
      const expiresAt = f.expires === undefined ? null : parseExpiry(f.expires);
      const config = loadConfigFrom(f);
      const spec = { name, principal: f.principal, org: f.org ?? null, groups: f.group, verified: f.verified === true, attestations: f.attestation, expiresAt };
      const k = await withStoreAndLog(f, config, (store, log) => createApiKey(store, log, spec, actor()));
      if (out.json) printJson({ ok: true, ...k, warning: SHOWN_ONCE });
      else {
        process.stdout.write(`${green('✔')} created key ${k.id} "${k.name}" for ${k.principal}${k.expiresAt ? ` (expires ${when(k.expiresAt)})` : ''}\n\n  ${bold(k.key)}\n\n`);
        process.stdout.write(`${red('!')} ${SHOWN_ONCE}\n  ${dim('Send it as "authorization: Bearer <key>" or "x-api-key: <key>".')}\n`);
      }
      return EXIT.OK;
    }),
  );

  addConfigFlags(keys.command('list').description('list API keys (never the keys themselves)').option('--json', 'print as JSON')).action((f: ConfigFlags) =>
    run(f, async (out) => {
      const config = loadConfigFrom(f);
      const list = await withStore(f, config, (store) => listApiKeys(store));
      if (out.json) printJson({ ok: true, keys: list });
      else process.stdout.write(listText(list));
      return EXIT.OK;
    }),
  );

  addConfigFlags(keys.command('revoke').description('revoke an API key by id; gateways refuse it from their next refresh').argument('<ID>', 'the key id (12 hex characters)').option('--json', 'print as JSON')).action(
    (id: string, f: ConfigFlags) =>
      run(f, async (out) => {
        const config = loadConfigFrom(f);
        const { alreadyRevoked, ...k } = await withStoreAndLog(f, config, (store, log) => revokeApiKey(store, log, id, actor()));
        if (out.json) printJson({ ok: true, revoked: k.id, alreadyRevoked, key: k });
        else process.stdout.write(alreadyRevoked ? `${dim('·')} key ${k.id} "${k.name}" was already revoked at ${when(k.revokedAt)}\n` : `${green('✔')} revoked key ${k.id} "${k.name}" (${k.principal})\n`);
        return EXIT.OK;
      }),
  );
}
