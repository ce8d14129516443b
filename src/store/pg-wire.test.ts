/**
 * The lean PostgreSQL reader: against the real server (results, errors, pipelining, COPY with
 * backpressure, failures), and against a simulated server (test/pg-sim.ts) for what the real one
 * is not set up to do here: password authentication (cleartext, md5, SCRAM-SHA-256 with the
 * server's proof checked), methods it does not do, and answers cut anywhere or garbled.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { PG_URL, postgresProblem } from '../../test/pg.ts';
import { authOk, complete, dataRow, errorResponse, msg, ready, rowDescription, simServer, type Frontend } from '../../test/pg-sim.ts';
import { Wire, WireError, WireUnsupported, connectWire, wireConfig } from './pg-wire.ts';

const problem = await postgresProblem();
if (problem && process.env.CI === 'true') throw new Error(`${problem}: CI requires PostgreSQL`);
const real = { skip: problem ? `${problem}; skipping (set CI=true to make this fail)` : undefined, timeout: 30_000 };
/** A reader that hangs fails its test instead. */
const sim = { timeout: 30_000 };

test('wireConfig serves exactly the URLs it can read as node-postgres does', () => {
  const env = {};
  assert.deepEqual(wireConfig('postgres://u:p%40ss@db.example:6543/inv?schema=perim_x', env), {
    host: 'db.example',
    port: 6543,
    user: 'u',
    password: 'p@ss',
    database: 'inv',
    options: '-c search_path=perim_x',
  });
  assert.equal(wireConfig('postgresql://u@[::1]/d', env)?.host, '::1');
  assert.equal(wireConfig('postgres://u@h/d', env)?.port, 5432);
  for (const url of [
    'postgres://h/d', // no user: node-postgres takes $USER or PGUSER
    'postgres://u@h/', // no database
    'postgres://u@h/d?sslmode=require', // TLS
    'postgres://u@h/d?schema=x&application_name=y',
    'postgres://u@h/d?schema=Bad-Name',
    'postgres://u@%2Fvar%2Frun%2Fpostgresql/d', // a unix socket
    'postgres://u:p%C3%A9@h/d', // a non-ASCII password (SASLprep)
    'mysql://u@h/d',
  ])
    assert.equal(wireConfig(url, env), undefined, url);
  assert.equal(wireConfig('postgres://u@h/d', { PGSSLMODE: 'require' }), undefined, 'PG* variables change what node-postgres does');
  assert.equal(wireConfig('postgres://u@h/d', { PGPASSWORD: 'x' }), undefined);
});

test('the real server: results as text, several statements, NULL and Unicode, errors that leave the connection usable', real, async () => {
  const w = (await connectWire(PG_URL, {}))!;
  try {
    const r = await w.query("select 1 as a, null::text as b, 'zażółć ✓' as c; select; select generate_series(1, 3)::text as n");
    assert.deepEqual(r[0], { fields: ['a', 'b', 'c'], rows: [['1', null, 'zażółć ✓']] });
    assert.deepEqual(r[1], { fields: [], rows: [[]] });
    assert.deepEqual(r[2]!.rows, [['1'], ['2'], ['3']]);
    await assert.rejects(w.query('select nope'), (e: WireError) => e instanceof WireError && e.code === '42703');
    assert.deepEqual((await w.query('select 2 as x'))[0]!.rows, [['2']]);
    // A query answered with a COPY is refused, and the connection still answers.
    await assert.rejects(w.query('copy (select 1) to stdout'), /unexpected COPY/);
    await assert.rejects(w.copyOut('select 1', () => {}), /expected a COPY/);
    await assert.rejects(w.query("select 'a\0b'"), /NUL/, 'a NUL would cut the query short');
    assert.deepEqual((await w.query('select 3 as x'))[0]!.rows, [['3']]);
  } finally {
    w.end();
  }
});

test('the real server: pipelined queries and a COPY held back by its sink answer in order', real, async () => {
  const w = (await connectWire(PG_URL, {}))!;
  try {
    const n = 30_000;
    const expected = Array.from({ length: n }, (_, i) => `${i + 1}\t${'x'.repeat((i + 1) % 700)}\n`).join('');
    const chunks: Buffer[] = [];
    let held = 0;
    // All sent at once: a query before the COPY, the COPY, a query behind it.
    const before = w.query('select 1 as k');
    const copy = w.copyOut(`copy (select i, repeat('x', i % 700) from generate_series(1, ${n}) i) to stdout`, async (c) => {
      chunks.push(c);
      if (chunks.length % 512 === 1) {
        held++;
        await new Promise((r) => setTimeout(r, 5));
      }
    });
    const behind = w.query('select 2 as k');
    let behindDone = false;
    void behind.then(() => (behindDone = true));
    assert.deepEqual((await before)[0]!.rows, [['1']]);
    await copy;
    assert.equal(Buffer.concat(chunks).toString('utf8'), expected);
    assert.ok(held > 3 && chunks.length > 2048, `${chunks.length} chunks, held ${held} times`);
    assert.deepEqual((await behind)[0]!.rows, [['2']]);
    assert.ok(behindDone);
    // Forty pipelined queries, answered in order.
    const many = await Promise.all(Array.from({ length: 40 }, (_, i) => w.query(`select ${i}::text as i`)));
    assert.deepEqual(many.map((r) => r[0]!.rows[0]![0]), Array.from({ length: 40 }, (_, i) => String(i)));
  } finally {
    w.end();
  }
});

test('the real server: a sink that fails ends the COPY and the connection; a wrong database is a coded error', real, async () => {
  const w = (await connectWire(PG_URL, {}))!;
  let calls = 0;
  await assert.rejects(
    w.copyOut('copy (select repeat($$y$$, 1000) from generate_series(1, 5000)) to stdout', () => {
      if (++calls === 2) throw new Error('disk full');
    }),
    /disk full/,
  );
  assert.equal(calls, 2);
  await assert.rejects(w.query('select 1'), WireError);
  const u = new URL(PG_URL);
  u.pathname = '/perimeter_no_such_database';
  await assert.rejects(connectWire(u.toString(), {}), (e: WireError) => e instanceof WireError && e.code === '3D000');
});

/** Startup, then `auth` (which answers the password exchange), then AuthenticationOk and a query's answer. */
async function session(fe: Frontend, auth: (fe: Frontend) => Promise<boolean>): Promise<void> {
  const startup = await fe.next();
  if (!startup || startup.body.readInt32BE(0) !== 196608) return;
  if (!(await auth(fe))) return;
  fe.send(authOk(), msg('S', 'server_version', '16.0'), msg('K', 1, 2), ready());
  while ((await fe.next())?.type === 'Q') fe.send(rowDescription(['who']), dataRow(['alice']), complete('SELECT 1'), ready());
}

const password = 'correct horse';

test('a simulated server: cleartext and md5 passwords', sim, async () => {
  const seen: string[] = [];
  const clear = await simServer((fe) =>
    session(fe, async () => {
      fe.send(msg('R', 3));
      const p = (await fe.next())!.body.toString('utf8').replace(/\0$/, '');
      seen.push(p);
      if (p !== password) fe.send(errorResponse('28P01', 'password authentication failed'));
      return p === password;
    }),
  );
  const w = (await Wire.connect(wireConfig(clear.url('alice', password), {})!))!;
  assert.deepEqual((await w.query('select current_user'))[0]!.rows, [['alice']]);
  w.end();
  await assert.rejects(Wire.connect(wireConfig(clear.url('alice', 'wrong'), {})!), (e: WireError) => e.code === '28P01');
  await assert.rejects(Wire.connect(wireConfig(clear.url('alice'), {})!), WireUnsupported, 'no password to give: node-postgres may find one (~/.pgpass)');
  assert.deepEqual(seen, [password, 'wrong']);

  const salt = randomBytes(4);
  const md5 = await simServer((fe) =>
    session(fe, async () => {
      fe.send(msg('R', 5, salt));
      const inner = createHash('md5').update(password + 'alice').digest('hex');
      const want = `md5${createHash('md5').update(inner).update(salt).digest('hex')}`;
      return (await fe.next())!.body.toString('utf8') === `${want}\0`;
    }),
  );
  const m = await Wire.connect(wireConfig(md5.url('alice', password), {})!);
  assert.deepEqual((await m.query('select 1'))[0]!.rows, [['alice']]);
  m.end();
});

/** The server side of SCRAM-SHA-256 (RFC 5802 section 3), with the verifier PostgreSQL stores. */
function scramServer(opts: { lie?: boolean; skipFinal?: boolean } = {}) {
  const salt = randomBytes(16);
  const iterations = 4096;
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const hmac = (k: Buffer, s: string): Buffer => createHmac('sha256', k).update(s).digest();
  const storedKey = createHash('sha256').update(hmac(salted, 'Client Key')).digest();
  const serverKey = hmac(salted, 'Server Key');
  return async (fe: Frontend): Promise<boolean> => {
    fe.send(msg('R', 10, Buffer.from('SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0')));
    const init = (await fe.next())!.body;
    const mech = init.toString('utf8', 0, init.indexOf(0));
    const first = init.toString('utf8', init.indexOf(0) + 5);
    assert.equal(mech, 'SCRAM-SHA-256');
    assert.match(first, /^n,,n=[^,]*,r=[^,]+$/);
    const bare = first.slice(3);
    const nonce = `${bare.split('r=')[1]}${randomBytes(12).toString('base64')}`;
    const serverFirst = `r=${nonce},s=${salt.toString('base64')},i=${iterations}`;
    fe.send(msg('R', 11, Buffer.from(serverFirst)));
    const final = (await fe.next())!.body.toString('utf8');
    const [withoutProof, proof] = final.split(',p=') as [string, string];
    assert.equal(withoutProof, `c=biws,r=${nonce}`);
    const auth = `${bare},${serverFirst},${withoutProof}`;
    const signature = hmac(storedKey, auth);
    const clientKey = Buffer.from(proof, 'base64').map((b, i) => b ^ signature[i]!);
    if (!createHash('sha256').update(clientKey).digest().equals(storedKey)) {
      fe.send(errorResponse('28P01', 'password authentication failed'));
      return false;
    }
    const v = opts.lie ? randomBytes(32) : hmac(serverKey, auth);
    if (!opts.skipFinal) fe.send(msg('R', 12, Buffer.from(`v=${v.toString('base64')}`)));
    return true;
  };
}

test('a simulated server: SCRAM-SHA-256, and a server that cannot prove it knows the password is refused', sim, async () => {
  const good = await simServer((fe) => session(fe, scramServer()));
  const w = await Wire.connect(wireConfig(good.url('alice', password), {})!);
  assert.deepEqual((await w.query('select 1'))[0]!.rows, [['alice']]);
  w.end();
  await assert.rejects(Wire.connect(wireConfig(good.url('alice', 'wrong horse'), {})!), (e: WireError) => e.code === '28P01');
  const liar = await simServer((fe) => session(fe, scramServer({ lie: true })));
  await assert.rejects(Wire.connect(wireConfig(liar.url('alice', password), {})!), /failed to prove/);
  const silent = await simServer((fe) => session(fe, scramServer({ skipFinal: true })));
  await assert.rejects(Wire.connect(wireConfig(silent.url('alice', password), {})!), /without proving/);
});

test('a simulated server: methods this reader does not do are WireUnsupported (node-postgres then takes over)', sim, async () => {
  for (const code of [7, 9, 2]) {
    const sim = await simServer((fe) => session(fe, async () => (fe.send(msg('R', code)), false)));
    await assert.rejects(Wire.connect(wireConfig(sim.url('alice', password), {})!), WireUnsupported, `method ${code}`);
  }
  const plus = await simServer((fe) => session(fe, async () => (fe.send(msg('R', 10, Buffer.from('SCRAM-SHA-256-PLUS\0\0'))), false)));
  await assert.rejects(Wire.connect(wireConfig(plus.url('alice', password), {})!), WireUnsupported);
});

test('a simulated server: answers cut at any byte read the same; garbage fails the query, never hangs', sim, async () => {
  const rows = Array.from({ length: 50 }, (_, i) => [String(i), i % 7 ? 'ż'.repeat(i * 3) : null]);
  const rowsAnswer = Buffer.concat([msg('N', Buffer.from('SNOTICE\0Mhello\0\0')), rowDescription(['a', 'b']), ...rows.map(dataRow), complete('SELECT 50'), ready()]);
  const lines = Array.from({ length: 20 }, (_, i) => `line ${i} ${'q'.repeat(i * 40)}\n`);
  const copyAnswer = Buffer.concat([msg('H', Buffer.from([0, 0, 1, 0, 0])), ...lines.map((l) => msg('d', Buffer.from(l))), msg('c'), complete('COPY 20'), ready()]);
  let garbage: Buffer | undefined;
  let tiny = false;
  const sim = await simServer(async (fe) => {
    if (!(await fe.next())) return;
    fe.send(authOk(), ready());
    for (let q = await fe.next(); q?.type === 'Q'; q = await fe.next()) {
      const bytes = garbage ?? (q.body.toString().startsWith('copy') ? copyAnswer : rowsAnswer);
      // The answer in random pieces, some of them a turn of the event loop apart.
      for (let at = 0; at < bytes.length; ) {
        const n = 1 + Math.floor(Math.random() * (tiny ? 7 : 300));
        fe.socket.write(bytes.subarray(at, at + n));
        at += n;
        if (Math.random() < 0.2) await new Promise((r) => setImmediate(r));
      }
      if (garbage) return;
    }
  });
  for (let trial = 0; trial < 40; trial++) {
    tiny = trial % 2 === 1;
    const w = await Wire.connect(wireConfig(sim.url(), {})!);
    const copied: Buffer[] = [];
    const [r, , again] = await Promise.all([w.query('select'), w.copyOut('copy', (c) => void copied.push(c)), w.query('select')]);
    assert.deepEqual(r, [{ fields: ['a', 'b'], rows }]);
    assert.deepEqual(again, r);
    assert.equal(Buffer.concat(copied).toString(), lines.join(''));
    w.end();
  }
  for (let trial = 0; trial < 200; trial++) {
    garbage = randomBytes(1 + Math.floor(Math.random() * 400));
    if (trial % 3 === 0) garbage = Buffer.concat([rowsAnswer.subarray(0, Math.floor(Math.random() * rowsAnswer.length)), garbage]);
    const w = await Wire.connect(wireConfig(sim.url(), {})!);
    const outcome = await Promise.race([
      w.query('select').then(
        () => 'answered',
        (e: unknown) => (e instanceof WireError ? 'failed' : `threw ${String(e)}`),
      ),
      new Promise((r) => setTimeout(() => r('hung'), 2000)),
    ]);
    w.end();
    assert.ok(outcome === 'answered' || outcome === 'failed', `trial ${trial}: ${String(outcome)} on ${garbage.toString('hex').slice(0, 80)}`);
  }
});
