/** perimeter audit as a user runs it: the real launcher, a real SQLite file, exit codes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { tempDir } from '../../test/helpers.ts';
import { AuditLog } from '../audit/log.ts';
import { auditFiles } from '../audit/keys.ts';
import { openCheckpoint, parseVkey } from '../audit/note.ts';
import { verifyConsistency, verifyInclusion } from '../audit/proofs.ts';
import { openStore } from '../store/store.ts';

const BIN = new URL('../../bin/perimeter.js', import.meta.url).pathname;
function cli(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', PERIMETER_AUDIT_KEY: '' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function makeLog(n: number): Promise<string> {
  const db = join(tempDir('perimeter-audit-cli-'), 'perimeter.db');
  const store = await openStore(db);
  const log = await AuditLog.open(store);
  await Promise.all(Array.from({ length: n }, (_, i) => log.append({ type: 'cli.test', data: { i, prompt: `p${i}` }, at: 1_700_000_000_000 + i * 1000 })));
  await log.checkpoint();
  await log.close();
  await store.close();
  return db;
}

test('audit checkpoint, prove, verify and export on a healthy log exit 0; proofs verify with the .pub key only', async () => {
  const db = await makeLog(30);
  const pub = auditFiles(`${db}.audit.key`).pub;
  const vkey = parseVkey(readFileSync(pub, 'utf8'));
  assert.equal(statSync(`${db}.audit.key`).mode & 0o777, 0o600);

  const v = cli(['audit', 'verify', '--db', db, '--json']);
  assert.equal(v.code, 0, v.stderr);
  assert.deepEqual([JSON.parse(v.stdout).entries, JSON.parse(v.stdout).macsChecked], [30, true]);
  const human = cli(['audit', 'verify', '--db', db, '--public-key', pub]);
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /verified: 30 entries/);

  const p = cli(['audit', 'prove', '7', '--db', db, '--json']);
  assert.equal(p.code, 0, p.stderr);
  const proof = JSON.parse(p.stdout);
  assert.equal(proof.entry.data.i, 7);
  verifyInclusion(proof, openCheckpoint(proof.checkpoint, vkey).root);

  const proofFile = join(tempDir(), 'proof.json');
  writeFileSync(proofFile, p.stdout);
  const offline = cli(['audit', 'verify', '--proof', proofFile, '--public-key', pub]);
  assert.equal(offline.code, 0, offline.stderr);
  assert.match(offline.stdout, /entry 7 .* is in the log of 30 entries/);
  writeFileSync(proofFile, JSON.stringify({ ...proof, treeSize: 31 }));
  assert.equal(cli(['audit', 'verify', '--proof', proofFile, '--public-key', pub]).code, 1);

  // Ten more entries, a checkpoint from the CLI, and a consistency proof between the two checkpoints.
  const store = await openStore(db);
  const log = await AuditLog.open(store);
  for (let i = 30; i < 40; i++) await log.append({ type: 'cli.test', data: { i }, at: 1_700_000_000_000 + i * 1000 });
  await log.close();
  await store.close();
  const cp = cli(['audit', 'checkpoint', '--db', db, '--json']);
  assert.equal(cp.code, 0, cp.stderr);
  assert.equal(JSON.parse(cp.stdout).size, 40);
  const c = cli(['audit', 'prove', '--from', '30', '--db', db, '--json']);
  assert.equal(c.code, 0, c.stderr);
  const cons = JSON.parse(c.stdout);
  assert.deepEqual([cons.from, cons.to], [30, 40]);
  verifyConsistency(cons, openCheckpoint(cons.checkpoints.from, vkey).root, openCheckpoint(cons.checkpoints.to, vkey).root);
  writeFileSync(proofFile, c.stdout);
  const offlineCons = cli(['audit', 'verify', '--proof', proofFile, '--public-key', pub, '--json']);
  assert.equal(offlineCons.code, 0, offlineCons.stdout);
  assert.match(JSON.parse(offlineCons.stdout).proved, /prefix of the log of 40 entries/);

  const out = join(tempDir(), 'audit.jsonl');
  const e = cli(['audit', 'export', '--db', db, '--since', new Date(1_700_000_010_000).toISOString(), '--out', out, '--json']);
  assert.equal(e.code, 0, e.stderr);
  assert.deepEqual([JSON.parse(e.stdout).from, JSON.parse(e.stdout).to], [10, 40]);
  assert.equal(statSync(out).mode & 0o777, 0o600);
  const lines = readFileSync(out, 'utf8').trim().split('\n');
  assert.equal(lines.length, 1 + 2 + 30);
  const ok = cli(['audit', 'verify', '--file', out, '--public-key', pub, '--json']);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);

  // An edited export fails and names the entry.
  const edited = lines.map((l) => (l.includes('"index":15,') ? l.replace('"i":15', '"i":16') : l));
  writeFileSync(out, edited.join('\n') + '\n');
  const bad = cli(['audit', 'verify', '--file', out, '--public-key', pub, '--json']);
  assert.equal(bad.code, 1);
  assert.deepEqual([JSON.parse(bad.stdout).error.code, JSON.parse(bad.stdout).error.details.index], ['PERIM_E_AUDIT_TAMPERED', 15]);
  const stdout = cli(['audit', 'export', '--db', db, '--no-checkpoint']);
  assert.equal(stdout.stdout.trim().split('\n').length, 1 + 2 + 40);
});

test('audit verify exits 1 naming the first bad entry after an SQL edit; 2 without a key or with bad arguments', async () => {
  const db = await makeLog(12);
  const raw = new DatabaseSync(db);
  raw.prepare(`update audit_entries set entry = replace(entry, '"i":5', '"i":6') where idx = 5`).run();
  raw.close();
  const r = cli(['audit', 'verify', '--db', db]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /PERIM_E_AUDIT_TAMPERED.*entry 5 /);
  const other = join(tempDir(), 'other.db');
  assert.equal(cli(['audit', 'verify', '--db', other, '--audit-key', join(tempDir(), 'none.key')]).code, 2);
  assert.equal(cli(['audit', 'prove', 'abc', '--db', db]).code, 2);
  assert.equal(cli(['audit', 'verify', '--file', join(tempDir(), 'missing.jsonl')]).code, 2);
  assert.equal(cli(['audit', 'export', '--db', db, '--since', 'yesterday-ish']).code, 2);
});
