/**
 * perimeter kill model|principal|runtime ID, perimeter kill --list (or kill list), perimeter
 * revive model|principal|runtime ID: the gateway's kill-switch. The change is written to the
 * store (audited), then broadcast: Redis PUBLISH when the config names gateway.redis, NOTIFY when
 * the store is PostgreSQL; gateways on SQLite see it by watching the database. A failed broadcast
 * is a warning (exit 0): the change is recorded and gateways reload it within their refresh interval.
 */
import type { Command } from 'commander';
import { Redis } from 'ioredis';
import { PerimeterError } from '../../errors/errors.ts';
import { publishKillChange } from '../../gateway/killswitch/broadcast.ts';
import { KILL_KINDS, kill, listKills, revive, type KillRecord } from '../../gateway/killswitch/store.ts';
import type { KillKind, KillTarget } from '../../gateway/types.ts';
import type { LoadedConfig } from '../../config/load.ts';
import type { Store } from '../../store/store.ts';
import { EXIT, dim, green, printJson, red } from '../output.ts';
import { actor, addConfigFlags, loadConfigFrom, withStore, withStoreAndLog, type ConfigFlags, runAction as run } from './config-flags.ts';

interface KillFlags extends ConfigFlags {
  reason?: string;
  list?: boolean;
  all?: boolean;
}

function targetOf(kind: string | undefined, id: string | undefined, verb: string): KillTarget {
  if (!kind || !id) throw new PerimeterError('PERIM_E_USAGE', `usage: perimeter ${verb} model|principal|runtime ID`);
  if (!KILL_KINDS.includes(kind as KillKind)) throw new PerimeterError('PERIM_E_USAGE', `perimeter ${verb}: the kind is model, principal or runtime, not "${kind}"`);
  return { kind: kind as KillKind, id };
}

const when = (t: number): string => new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');

interface Broadcast {
  via: string[];
  error?: string;
}

/** Publishes the change on every carrier the config and store offer; never throws. */
async function broadcast(store: Store, config: LoadedConfig, op: 'kill' | 'revive', t: KillTarget, at: number): Promise<Broadcast> {
  const url = config.data.gateway.redis;
  const via = [...(url ? ['redis'] : []), ...(store.kind === 'postgres' ? ['postgres'] : ['sqlite'])]; // sqlite: the signal file gateways watch
  const redis = url ? new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, commandTimeout: 3000, connectTimeout: 3000, retryStrategy: () => null }) : undefined;
  redis?.on('error', () => {});
  try {
    await publishKillChange({ op, kind: t.kind, id: t.id, actor: actor(), at, origin: 'cli' }, { store, redis });
    return { via };
  } catch (e) {
    return { via: [], error: (e as Error).message };
  } finally {
    redis?.disconnect();
  }
}

function broadcastText(b: Broadcast): string {
  if (b.error) return `  ${red('!')} could not notify running gateways (${b.error}); they apply it at their next refresh\n`;
  if (b.via[0] === 'sqlite') return dim('  gateways on this database see it within a moment\n');
  return dim(`  gateways notified via ${b.via.join(' and ')}\n`);
}

function listText(kills: readonly KillRecord[], all: boolean): string {
  if (kills.length === 0) return all ? 'no kills recorded\n' : 'nothing is killed\n';
  return kills
    .map((k) => {
      const state = k.revivedAt === null ? red('killed') : green(`revived ${when(k.revivedAt)} by ${k.revivedBy}`);
      return `${state}  ${k.kind} ${k.id}  since ${when(k.at)} by ${k.actor}${k.reason ? `  "${k.reason}"` : ''}\n`;
    })
    .join('');
}

export function registerKill(program: Command): void {
  addConfigFlags(
    program
      .command('kill')
      .description('stop a model (id or artifact digest), principal or runtime in every gateway at once; --list shows what is killed')
      .argument('[KIND]', 'model, principal or runtime (or "list")')
      .argument('[ID]', 'a model id or artifact digest, a principal id, a runtime name')
      .option('--reason <text>', 'why (recorded and audited)')
      .option('--list', 'list active kills instead')
      .option('--all', 'with --list: include revived kills')
      .option('--json', 'print as JSON'),
  ).action((kind: string | undefined, id: string | undefined, f: KillFlags) =>
    run(f, async (out) => {
      const config = loadConfigFrom(f);
      if (f.list || kind === 'list') {
        if (id !== undefined || f.reason !== undefined) throw new PerimeterError('PERIM_E_USAGE', 'perimeter kill --list takes no target and no --reason');
        const kills = await withStore(f, config, (store) => listKills(store, f.all ? {} : { active: true }));
        if (out.json) printJson({ ok: true, kills });
        else process.stdout.write(listText(kills, f.all === true));
        return EXIT.OK;
      }
      const target = targetOf(kind, id, 'kill');
      const done = await withStoreAndLog(f, config, async (store, log) => {
        const r = await kill(store, log, target, { actor: actor(), ...(f.reason !== undefined ? { reason: f.reason } : {}) });
        return { ...r, broadcast: r.created ? await broadcast(store, config, 'kill', target, r.record.at) : undefined };
      });
      if (out.json) printJson({ ok: true, created: done.created, kill: done.record, ...(done.broadcast ? { broadcast: done.broadcast } : {}) });
      else if (!done.created) process.stdout.write(`${green('✔')} ${target.kind} ${target.id} was already killed (since ${when(done.record.at)} by ${done.record.actor})\n`);
      else process.stdout.write(`${green('✔')} killed ${target.kind} ${target.id}\n${broadcastText(done.broadcast!)}`);
      return EXIT.OK;
    }),
  );

  addConfigFlags(
    program
      .command('revive')
      .description('end the kill of a model, principal or runtime (exit 2 when it is not killed)')
      .argument('<KIND>', 'model, principal or runtime')
      .argument('<ID>', 'as given to perimeter kill')
      .option('--json', 'print as JSON'),
  ).action((kind: string, id: string, f: ConfigFlags) =>
    run(f, async (out) => {
      const target = targetOf(kind, id, 'revive');
      const config = loadConfigFrom(f);
      const done = await withStoreAndLog(f, config, async (store, log) => {
        const revived = await revive(store, log, target, { actor: actor() });
        return { revived, broadcast: await broadcast(store, config, 'revive', target, revived[0]!.revivedAt!) };
      });
      if (out.json) printJson({ ok: true, revived: done.revived, broadcast: done.broadcast });
      else process.stdout.write(`${green('✔')} revived ${target.kind} ${target.id}\n${broadcastText(done.broadcast)}`);
      return EXIT.OK;
    }),
  );
}
