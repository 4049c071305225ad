/**
 * `hiy pg:psql` and `hiy redis:cli` end to end: a real hiy, the real engine with the Postgres and
 * Redis stand-ins (tests/helpers/debian-images.ts), the real CLI, piped stdin and a real terminal
 * (tmux). Given an app, the add-on attached to it; given an add-on, that one; the exit code is the
 * client's; clear errors for an unknown name and an app without such an add-on; the session is in
 * the runs audit; the password is on no command line inside the container and in no output.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiClient, startHiy, type HiyProcess } from '../../harness/server.js';
import { run } from '../../harness/git.js';
import { hiyEntry } from '../../harness/paths.js';
import { cleanupByLabel, docker, ensureDocker } from '../../harness/docker.js';
import { ensurePostgresImage, ensureRedisImage } from '../helpers/debian-images.js';
import { waitFor as until } from '../helpers/observe.js';

const tag = randomBytes(3).toString('hex');
const APP = `ac-${tag}`;
const BARE = `ac-${tag}-bare`;
const PG = `ac-${tag}-db`;
const RD = `ac-${tag}-kv`;

describe('hiy pg:psql and hiy redis:cli', { timeout: 600_000 }, () => {
  let hiy: HiyProcess;
  let api: ReturnType<typeof apiClient>;
  const secrets: string[] = [];
  const outputs: string[] = [];
  const tmux = `hiy-test-${randomBytes(4).toString('hex')}`;
  const scratch = mkdtempSync(join(tmpdir(), 'hiy-addon-client-test-'));

  const cliEnv = () => ({ PATH: process.env.PATH ?? '', HOME: hiy.dataDir, HIY_URL: hiy.url, HIY_TOKEN: hiy.token });
  /** `hiy <args>` with stdin from `input` (a pipe, never a terminal); what it prints is kept for the leak check. */
  const cli = (args: string[], input = '') => new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const p = spawn(process.execPath, [hiyEntry(), ...args], { env: cliEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => p.kill('SIGKILL'), 120_000);
    p.on('close', (code) => { clearTimeout(timer); outputs.push(stdout, stderr); resolve({ code, stdout, stderr }); });
    p.stdin.end(input);
  });
  /** The processes inside an add-on's container, with their full command lines. */
  const psIn = async (addon: string) => (await docker(['exec', `hiy-addon.${addon}`, 'sh', '-c', 'for f in /proc/[0-9]*/cmdline; do tr "\\0" " " < "$f"; echo; done'])).stdout;

  before(async () => {
    await ensureDocker();
    await Promise.all([ensurePostgresImage(), ensureRedisImage()]);
    hiy = await startHiy({ startTimeoutMs: 60_000 });
    api = apiClient(hiy);
    for (const name of [APP, BARE]) assert.equal((await api('POST', '/apps', { name })).status, 201);
    for (const [kind, name] of [['postgres', PG], ['redis', RD]] as const) {
      const res = await api('POST', '/addons', { kind, name, app: APP });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      const url = ((await api('GET', `/addons/${name}?reveal=1`)).body.addon as { url: string }).url;
      secrets.push(decodeURIComponent(new URL(url).password));
    }
    assert.ok(secrets.every((s) => s.length >= 16), 'passwords are known to the leak checks');
  });

  after(async () => {
    await run('tmux', ['-L', tmux, 'kill-server']);
    await hiy?.stop();
    for (const addon of [PG, RD]) await cleanupByLabel(`hiy.addon=${addon}`);
    const volumes = (await docker(['volume', 'ls', '-q', '--filter', 'label=hiy.addon'])).stdout.split('\n').filter((v) => v.startsWith(`hiy-addon.ac-${tag}`));
    if (volumes.length) await docker(['volume', 'rm', '-f', ...volumes]);
    for (const app of [APP, BARE]) await cleanupByLabel(`hiy.app=${app}`);
    rmSync(scratch, { recursive: true, force: true });
  });

  test('piped SQL through the app and through the add-on name; a failing script fails the command', async () => {
    const byApp = await cli(['pg:psql', APP], 'select 41+1 as answer;\n');
    assert.equal(byApp.code, 0, byApp.stderr);
    assert.match(byApp.stdout, /^\s+42$/m);
    const byName = await cli(['pg:psql', PG], 'create table t (n int); insert into t values (7); select sum(n) from t;\n');
    assert.equal(byName.code, 0, byName.stderr);
    assert.match(byName.stdout, /^\s+7$/m);
    const bad = await cli(['pg:psql', APP], 'select 1;\nselect * from no_such_table;\nselect 99999;\n');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /no_such_table/);
    assert.doesNotMatch(bad.stdout, /99999/, 'piped SQL stops at the first error');
  });

  test('redis:cli SET and GET, through the app and the add-on name', async () => {
    const set = await cli(['redis:cli', APP], `SET greeting hello-${tag}\n`);
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /OK/);
    const get = await cli(['redis:cli', RD], 'GET greeting\n');
    assert.equal(get.code, 0, get.stderr);
    assert.equal(get.stdout.trim(), `hello-${tag}`);
  });

  test('an unknown name, an app without such an add-on and the wrong kind are clear errors', async () => {
    const unknown = await cli(['pg:psql', `nope-${tag}`]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, new RegExp(`no app or PostgreSQL add-on named "nope-${tag}"`));
    const bare = await cli(['redis:cli', BARE]);
    assert.equal(bare.code, 1);
    assert.match(bare.stderr, new RegExp(`${BARE} has no Redis add-on attached`));
    const wrong = await cli(['redis:cli', PG]);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, new RegExp(`${PG} is a PostgreSQL add-on, not Redis: hiy pg:psql ${PG}`));
  });

  test('two Postgres add-ons on one app: the error names them and asks which', async () => {
    const second = `ac-${tag}-db2`;
    assert.equal((await api('POST', '/addons', { kind: 'postgres', name: second, app: APP, as: 'OLD' })).status, 201);
    try {
      const r = await cli(['pg:psql', APP], 'select 1;\n');
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`${APP} has 2 PostgreSQL add-ons attached: ${PG} \\(DATABASE_URL\\), ${second} \\(OLD_URL\\); name the one to open`));
    } finally {
      assert.equal((await api('DELETE', `/addons/${second}?detach=1`)).status, 200);
    }
  });

  test('an interactive psql in a terminal; its password on no command line in the container', async () => {
    const script = join(scratch, 'session.sh');
    writeFileSync(script, `"${process.execPath}" "${hiyEntry()}" pg:psql ${APP}\necho "EXIT:$?"\nsleep 300\n`);
    const env = Object.entries(cliEnv()).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
    assert.equal((await run('tmux', ['-L', tmux, 'new-session', '-d', '-s', 'pg', '-x', '80', '-y', '24', ...env, 'sh', script])).code, 0);
    const screen = async () => (await run('tmux', ['-L', tmux, 'capture-pane', '-p', '-t', 'pg'])).stdout;
    const keys = (...k: string[]) => run('tmux', ['-L', tmux, 'send-keys', '-t', 'pg', ...k]);
    try {
      const db = PG.replace(/-/g, '_');
      await until('the psql prompt', async () => (await screen()).includes(`${db}=#`));
      // While the session is open: psql and the server's processes, none with the password.
      const ps = await psIn(PG);
      assert.match(ps, /psql --username=postgres/);
      for (const s of secrets) assert.ok(!ps.includes(s), 'the password is on a command line in the container');
      // \g runs the query: tmux takes an argument's trailing ";" for its own command separator.
      await keys('select 6*7 as typed \\g', 'Enter');
      await until('typed SQL answered', async () => /^\s+42$/m.test(await screen())).catch(async (err: Error) => { throw new Error(`${err.message}; the screen:\n${await screen()}`); });
      await keys('\\q', 'Enter');
      await until('hiy pg:psql to end with psql', async () => (await screen()).includes('EXIT:0'));
      outputs.push(await screen());
    } finally {
      await run('tmux', ['-L', tmux, 'kill-server']);
    }
    const redisPs = await psIn(RD);
    for (const s of secrets) assert.ok(!redisPs.includes(s), 'the Redis password is on a command line');
  });

  test('kill -9 of the CLI ends the client in the container', async () => {
    const p = spawn(process.execPath, [hiyEntry(), 'redis:cli', RD], { env: cliEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    try {
      await until('redis-cli running in the container', async () => /^redis-cli\s*$/m.test(await psIn(RD)));
      p.kill('SIGKILL');
      await until('redis-cli gone from the container', async () => !/^redis-cli\s*$/m.test(await psIn(RD)), 30_000);
    } finally {
      p.kill('SIGKILL');
    }
    await until('the session recorded as ended', async () => {
      const runs = (await api('GET', `/apps/${APP}/runs?limit=1`)).body.runs as { process: string; status: string; reason: string | null }[];
      return runs[0]?.process === 'redis:cli' && runs[0].status === 'exited' && runs[0].reason === 'the client went away';
    });
  });

  test('each session is in the runs audit as a console session, by token; the passwords in no output', async () => {
    const runs = (await api('GET', `/apps/${APP}/runs?limit=100`)).body.runs as { kind: string; process: string; command: string; by: string; mode: string; status: string; exit_code: number | null }[];
    const psql = runs.filter((r) => r.process === 'pg:psql');
    assert.ok(psql.some((r) => r.command === `pg:psql ${PG}` && r.mode === 'pipe' && r.exit_code === 0));
    assert.ok(psql.some((r) => r.mode === 'tty' && r.exit_code === 0), 'the terminal session');
    assert.ok(psql.some((r) => r.mode === 'pipe' && r.exit_code !== 0 && r.exit_code !== null), 'the failing script');
    assert.ok(runs.some((r) => r.process === 'redis:cli' && r.command === `redis:cli ${RD}`));
    for (const r of [...psql, ...runs.filter((x) => x.process === 'redis:cli')]) {
      assert.equal(r.kind, 'console');
      assert.match(r.by, /^token /);
      assert.equal(r.status, 'exited');
    }
    const listed = await cli(['runs', APP]);
    assert.match(listed.stdout, new RegExp(`console\\s+token .+\\s+pg:psql ${PG}\\s.+exit 3`));
    const all = [...outputs, hiy.output(), JSON.stringify(runs)].join('\n');
    for (const s of secrets) assert.ok(!all.includes(s), 'a password leaked into hiy\'s output, the CLI\'s output or the audit');
  });
});
