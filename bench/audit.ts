/**
 * Audit log benchmarks, printed as JSON:
 *   - appends per second with group commit (target >= 20,000/s), SQLite and PostgreSQL:
 *     `submit` (fire and forget, then one flush) and `append` with 512 callers awaiting durability;
 *   - a log of --entries (default 1,000,000) built quickly by bulk insert (entries, leaf hashes,
 *     MACs, subtree nodes, head, one signed checkpoint), then the time of an inclusion proof at that
 *     size (target < 1 ms; served from the store and checked against the checkpoint) and of a full
 *     `verifyStore` (every leaf recomputed, MACs, nodes, checkpoints).
 *
 *   npx node bench/audit.ts [--entries N] [--appends N] [--backend sqlite|postgres|both]
 * PostgreSQL: PERIMETER_TEST_PG (default postgres://postgres@127.0.0.1:5432/test); skipped if unreachable.
 */
import { PG_URL, postgresProblem } from '../test/pg.ts';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { prepareEntry } from '../src/audit/entry.ts';
import { contentReplacer } from '../src/audit/privacy.ts';
import { createKey, type AuditKey } from '../src/audit/keys.ts';
import { AuditLog } from '../src/audit/log.ts';
import { openCheckpoint, signCheckpoint } from '../src/audit/note.ts';
import { inclusionProof } from '../src/audit/prove.ts';
import { verifyInclusion } from '../src/audit/proofs.ts';
import { Frontier, nodeId } from '../src/audit/tree.ts';
import { verifyStore } from '../src/audit/verify.ts';
import type { AuditEvent } from '../src/audit/events.ts';
import { openSqlite } from '../src/store/sqlite.ts';
import { openStore, type Store } from '../src/store/store.ts';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
};
const ENTRIES = Number(arg('entries', '1000000'));
const APPENDS = Number(arg('appends', '100000'));
const BACKEND = arg('backend', 'both');
const dir = mkdtempSync(join(tmpdir(), 'perimeter-bench-audit-'));
const schemas: string[] = [];

const now = (): number => Number(process.hrtime.bigint()) / 1e6;

/** A gateway-sized event (~300 bytes of canonical JSON). */
const gatewayEvent = (i: number): AuditEvent => ({
  type: 'gateway.request',
  actor: `principal:team-${i % 17}`,
  subject: 'model:llama-3.1-8b-instruct',
  at: 1_760_000_000_000 + i,
  data: { requestId: `req-${i}`, route: '/v1/chat/completions', decision: 'allow', prompt: `question ${i}`, completion: `answer ${i}`, tokensIn: 120 + (i % 50), tokensOut: 300, latencyMs: 850 },
});

const pgReachable = async (): Promise<boolean> => (await postgresProblem()) === undefined;

function target(kind: 'sqlite' | 'postgres', name: string): string {
  if (kind === 'sqlite') return join(dir, `${name}.db`);
  const schema = `perim_bench_${randomBytes(5).toString('hex')}`;
  schemas.push(schema);
  return `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}schema=${schema}`;
}

async function throughput(kind: 'sqlite' | 'postgres'): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  {
    const store = await openStore(target(kind, 'submit'));
    const log = await AuditLog.open(store, { keyPath: join(dir, `${kind}-submit.key`) });
    await log.append(gatewayEvent(-1)); // warm up: the writer thread (SQLite) or the pool (PostgreSQL)
    const t = now();
    for (let i = 0; i < APPENDS; i++) {
      log.submit(gatewayEvent(i));
      if (i % 2000 === 1999) await new Promise((r) => setImmediate(r)); // let batches commit, as a server's event loop would
    }
    await log.flush();
    const ms = now() - t;
    out.submitPerSecond = Math.round(APPENDS / (ms / 1000));
    out.submitBatches = log.stats.batches;
    await log.close();
    await store.close();
  }
  {
    const store = await openStore(target(kind, 'append'));
    const log = await AuditLog.open(store, { keyPath: join(dir, `${kind}-append.key`) });
    await log.append(gatewayEvent(-1));
    let next = 0;
    const lat: number[] = [];
    const t = now();
    await Promise.all(
      Array.from({ length: 512 }, async () => {
        while (next < APPENDS) {
          const i = next++;
          const s = now();
          await log.append(gatewayEvent(i));
          if (i % 50 === 0) lat.push(now() - s);
        }
      }),
    );
    const ms = now() - t;
    lat.sort((a, b) => a - b);
    out.appendDurablePerSecond = Math.round(APPENDS / (ms / 1000));
    out.appendLatencyP50Ms = +lat[Math.floor(lat.length / 2)]!.toFixed(2);
    out.appendLatencyP99Ms = +lat[Math.floor(lat.length * 0.99)]!.toFixed(2);
    out.appendBatches = log.stats.batches;
    await log.close();
    await store.close();
  }
  return out;
}

interface Built {
  entries: (string | number)[][];
  nodes: (string | number)[][];
  frontier: Frontier;
}

const replace = contentReplacer();

/** Rows for a log of n entries: what AuditLog would have written, computed in memory. */
function build(n: number, key: AuditKey, onChunk: (b: Built) => Promise<void> | void, chunk = 50_000): Promise<Frontier> {
  const frontier = new Frontier();
  return (async () => {
    for (let start = 0; start < n; start += chunk) {
      const b: Built = { entries: [], nodes: [], frontier };
      for (let i = start; i < Math.min(n, start + chunk); i++) {
        const e = prepareEntry(gatewayEvent(i), replace);
        frontier.append(e.leaf, (l, s, h) => b.nodes.push([nodeId(l, s), h.toString('hex')]));
        b.entries.push([i, e.at, e.type, e.entry, e.leaf.toString('hex'), key.mac.entry(i, e.leaf)]);
      }
      await onChunk(b);
    }
    return frontier;
  })();
}

async function finishHead(store: Store, key: AuditKey, f: Frontier): Promise<void> {
  const frontierJson = JSON.stringify(f.toHex());
  await store.db.updateTable('audit_head').set({ size: f.size, frontier: frontierJson, mac: key.mac.head(f.size, frontierJson), updated_at: Date.now() }).where('id', '=', 1).execute();
  const root = f.root();
  await store.db.insertInto('audit_checkpoints').values({ size: f.size, root: root.toString('hex'), note: signCheckpoint(key, f.size, root), created_at: Date.now() }).execute();
}

interface Sink {
  insert(b: Built): Promise<void>;
  close(): Promise<void>;
}

function sqliteSink(path: string): Sink {
  const { raw } = openSqlite(path);
  const ins = raw.prepare('insert into audit_entries (idx, at, type, entry, leaf_hash, mac) values (?, ?, ?, ?, ?, ?)');
  const node = raw.prepare('insert into audit_nodes (id, hash) values (?, ?)');
  raw.exec('pragma synchronous = normal');
  return {
    async insert(b) {
      raw.exec('begin');
      for (const r of b.entries) ins.run(...(r as [number, number, string, string, string, string]));
      for (const r of b.nodes) node.run(...(r as [number, string]));
      raw.exec('commit');
    },
    async close() {
      raw.close();
    },
  };
}

async function postgresSink(url: string): Promise<Sink> {
  const schema = new URL(url).searchParams.get('schema')!;
  const c = new pg.Client({ connectionString: PG_URL, options: `-c search_path=${schema}` });
  await c.connect();
  const col = (rows: (string | number)[][], i: number) => rows.map((r) => r[i]);
  return {
    async insert(b) {
      await c.query('insert into audit_entries (idx, at, type, entry, leaf_hash, mac) select * from unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[])', [0, 1, 2, 3, 4, 5].map((i) => col(b.entries, i)));
      if (b.nodes.length) await c.query('insert into audit_nodes (id, hash) select * from unnest($1::bigint[], $2::text[])', [col(b.nodes, 0), col(b.nodes, 1)]);
    },
    close: () => c.end(),
  };
}

/** Builds one log of ENTRIES into every store at once (rows computed once, bulk inserted), then measures proofs and verify on each. */
async function large(kinds: ('sqlite' | 'postgres')[]): Promise<Record<string, Record<string, number>>> {
  const key = createKey(join(dir, 'large.key'));
  const stores: { kind: 'sqlite' | 'postgres'; store: Store; sink: Sink }[] = [];
  for (const kind of kinds) {
    const t = target(kind, 'large');
    const store = await openStore(t);
    stores.push({ kind, store, sink: kind === 'sqlite' ? sqliteSink(t) : await postgresSink(t) });
  }
  const tb = now();
  const frontier = await build(ENTRIES, key, async (b) => {
    await Promise.all(stores.map((s) => s.sink.insert(b)));
  });
  for (const s of stores) {
    await s.sink.close();
    await finishHead(s.store, key, frontier);
  }
  const buildSeconds = +((now() - tb) / 1000).toFixed(1);
  const out: Record<string, Record<string, number>> = {};
  for (const { kind, store } of stores) {
    const cp = openCheckpoint((await store.db.selectFrom('audit_checkpoints').select('note').executeTakeFirstOrThrow()).note, key.key);
    // Inclusion proofs: warm up, then 1000 random indexes, each served from the store and verified.
    for (let i = 0; i < 50; i++) verifyInclusion(await inclusionProof(store.db, (i * 7919) % ENTRIES, cp.size), cp.root);
    const times: number[] = [];
    for (let i = 0; i < 1000; i++) {
      const idx = Math.floor(Math.random() * ENTRIES);
      const s = now();
      const p = await inclusionProof(store.db, idx, cp.size);
      verifyInclusion(p, cp.root);
      times.push(now() - s);
    }
    times.sort((a, b) => a - b);
    const tv = now();
    const report = await verifyStore(store, { key: key.key, mac: key.mac });
    const verifyMs = now() - tv;
    if (!report.ok || report.entries !== ENTRIES) throw new Error(`verify failed: ${JSON.stringify(report.problem)}`);
    await store.close();
    out[kind] = {
      entries: ENTRIES,
      buildSecondsAllBackends: buildSeconds,
      inclusionProofMeanMs: +(times.reduce((a, b) => a + b, 0) / times.length).toFixed(3),
      inclusionProofP50Ms: +times[500]!.toFixed(3),
      inclusionProofP99Ms: +times[990]!.toFixed(3),
      fullVerifySeconds: +(verifyMs / 1000).toFixed(1),
      verifyEntriesPerSecond: Math.round(ENTRIES / (verifyMs / 1000)),
    };
  }
  return out;
}

const result: Record<string, unknown> = {
  machine: { cores: availableParallelism(), cpu: cpus()[0]?.model, node: process.version, loadAverage: loadavg().map((x) => +x.toFixed(2)) },
  appends: APPENDS,
};
const wanted: ('sqlite' | 'postgres')[] = BACKEND === 'both' ? ['sqlite', 'postgres'] : [BACKEND as 'sqlite' | 'postgres'];
const kinds: ('sqlite' | 'postgres')[] = [];
for (const k of wanted) {
  if (k === 'postgres' && !(await pgReachable())) result.postgres = { skipped: `PostgreSQL at ${PG_URL} is not reachable` };
  else kinds.push(k);
}
const started = now();
try {
  for (const kind of kinds) result[kind] = await throughput(kind);
  const big = await large(kinds);
  for (const kind of kinds) result[kind] = { ...(result[kind] as object), ...big[kind] };
  result.totalSeconds = +((now() - started) / 1000).toFixed(1);
} finally {
  if (schemas.length && (await pgReachable())) {
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    for (const s of schemas) await c.query(`drop schema if exists ${s} cascade`);
    await c.end();
  }
  rmSync(dir, { recursive: true, force: true });
}
process.stdout.write(JSON.stringify(result, null, 2) + '\n');
