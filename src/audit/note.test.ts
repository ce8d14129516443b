/** Signed notes and checkpoints against the C2SP spec's own example, and key files. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { verify } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../test/helpers.ts';
import { auditFiles, createKey, defaultKeyPath, loadVerifierKey, readKey, writeCheckpointFile, readCheckpointFile } from './keys.ts';
import { checkpointSize, noteKeyId, openCheckpoint, parseVkey, signCheckpoint } from './note.ts';
import { EMPTY_ROOT, hashLeaf } from './tree.ts';

test('the C2SP signed-note example: the vkey parses, its key ID is SHA-256(name || 0x0A || 0x01 || key)[:4], the signature verifies', () => {
  const k = parseVkey('example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k');
  assert.equal(k.name, 'example.com/foo');
  assert.equal(noteKeyId(k.name, k.raw).toString('hex'), '530d903a');
  const sig = Buffer.from('Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=', 'base64');
  assert.equal(sig.subarray(0, 4).toString('hex'), '530d903a');
  assert.ok(verify(null, Buffer.from('This is an example message.\n'), k.publicKey, sig.subarray(4)));
  assert.throws(() => parseVkey('example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k'), { code: 'PERIM_E_AUDIT_MALFORMED' });
  assert.throws(() => parseVkey('no spaces allowed+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k'), { code: 'PERIM_E_AUDIT_MALFORMED' });
});

test('checkpoints: the tlog-checkpoint body, signed; other keys, other origins and edits are refused', () => {
  const dir = tempDir();
  const a = createKey(join(dir, 'a.key'), 'example.com/log-a');
  const b = createKey(join(dir, 'b.key'), 'example.com/log-b');
  const root = hashLeaf(Buffer.from('x'));
  const text = signCheckpoint(a, 7, root);
  assert.ok(text.startsWith(`example.com/log-a\n7\n${root.toString('base64')}\n\n\u2014 example.com/log-a `));
  const cp = openCheckpoint(text, a.key);
  assert.deepEqual([cp.origin, cp.size, cp.root.equals(root)], ['example.com/log-a', 7, true]);
  assert.equal(checkpointSize(text), 7);
  assert.throws(() => openCheckpoint(text, b.key), { code: 'PERIM_E_AUDIT_PROOF' });
  assert.throws(() => openCheckpoint(text.replace('\n7\n', '\n8\n'), a.key), { code: 'PERIM_E_AUDIT_PROOF' });
  assert.throws(() => openCheckpoint(text.replace('\n\n', '\n'), a.key), { code: 'PERIM_E_AUDIT_MALFORMED' });
  // A second signature from an unknown key is ignored, as the spec says.
  const cosigned = text + signCheckpoint(b, 7, root).split('\n\n')[1];
  assert.equal(openCheckpoint(cosigned, a.key).size, 7);
  assert.equal(openCheckpoint(signCheckpoint(a, 0, EMPTY_ROOT), a.key).size, 0);
});

test('key files: owner-only, the Go note private-key text, a .pub vkey beside; made once even when raced', () => {
  const path = join(tempDir(), 'sub', 'audit.key');
  const k = createKey(path);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.equal(statSync(join(path, '..')).mode & 0o777, 0o700);
  assert.match(readFileSync(path, 'utf8'), /^PRIVATE\+KEY\+perimeter\.local\/audit\/[0-9a-f]{12}\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}\n$/);
  assert.equal(loadVerifierKey(auditFiles(path).pub).vkey, k.key.vkey);
  assert.equal(loadVerifierKey(k.key.vkey).vkey, k.key.vkey);
  const again = createKey(path, 'example.com/other');
  assert.equal(again.key.vkey, k.key.vkey, 'an existing key is never replaced');
  assert.equal(readKey(path)!.mac.tag('x'), k.mac.tag('x'));
  assert.equal(readKey(join(tempDir(), 'none.key')), undefined);
  assert.throws(() => loadVerifierKey(join(tempDir(), 'none.pub')), { code: 'PERIM_E_AUDIT_KEY' });
});

test('the checkpoint file only moves forward', () => {
  const dir = tempDir();
  const k = createKey(join(dir, 'k.key'));
  const f = auditFiles(k.path).checkpoint;
  writeCheckpointFile(f, signCheckpoint(k, 5, EMPTY_ROOT));
  writeCheckpointFile(f, signCheckpoint(k, 3, EMPTY_ROOT));
  assert.equal(checkpointSize(readCheckpointFile(f)!), 5);
  writeCheckpointFile(f, signCheckpoint(k, 9, EMPTY_ROOT));
  assert.equal(checkpointSize(readCheckpointFile(f)!), 9);
});

test('default key paths: beside a SQLite file; per database (not per URL spelling) for PostgreSQL; the env var wins', () => {
  const env = { XDG_DATA_HOME: '/data' };
  assert.equal(defaultKeyPath({ kind: 'sqlite', location: '/x/perimeter.db' }, env), '/x/perimeter.db.audit.key');
  const a = defaultKeyPath({ kind: 'postgres', location: 'postgres://u:***@DB.example:5432/prod?schema=s1' }, env);
  assert.match(a, /^\/data\/perimeter\/audit\/[0-9a-f]{16}\.key$/);
  assert.equal(defaultKeyPath({ kind: 'postgres', location: 'postgresql://u@db.example/prod?schema=s1' }, env), a);
  assert.notEqual(defaultKeyPath({ kind: 'postgres', location: 'postgres://u@db.example/prod?schema=s2' }, env), a);
  assert.equal(defaultKeyPath({ kind: 'postgres', location: 'postgres://u@h/d' }, { ...env, PERIMETER_AUDIT_KEY: '/k/a.key' }), '/k/a.key');
});
