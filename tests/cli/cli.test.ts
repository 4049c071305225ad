import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import SQLite from 'better-sqlite3';
import { hiyEntry, repoRoot } from '../../harness/paths.js';
import { freePort } from '../../harness/ports.js';
import { findRootCert } from '../../harness/app-http.js';
import { startHiy, type HiyProcess } from '../../harness/server.js';

// The CLI as a user runs it: a separate process, talking to a real server over HTTP.

let h: HiyProcess;
let home: string;
before(async () => { h = await startHiy(); home = mkdtempSync(join(tmpdir(), 'hiy-cli-home-')); });
after(async () => { await h?.stop(); if (home) rmSync(home, { recursive: true, force: true }); });

interface Run { code: number | null; stdout: string; stderr: string }

function hiy(args: string[], opts: { env?: Record<string, string>; input?: string; auth?: boolean } = {}): Promise<Run> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: home, ...(opts.auth === false ? {} : { HIY_URL: h.url, HIY_TOKEN: h.token }), ...opts.env };
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [hiyEntry(), ...args], { env, cwd: home, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => p.kill('SIGKILL'), 30_000);
    p.on('error', reject);
    p.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
    p.stdin.end(opts.input ?? '');
  });
}

async function ok(args: string[], opts?: Parameters<typeof hiy>[1]): Promise<string> {
  const r = await hiy(args, opts);
  assert.equal(r.code, 0, `hiy ${args.join(' ')}: ${r.stderr}`);
  assert.equal(r.stderr, '', `hiy ${args.join(' ')} wrote to stderr`);
  return r.stdout;
}

async function fails(args: string[], code: number, stderr: RegExp, opts?: Parameters<typeof hiy>[1]): Promise<void> {
  const r = await hiy(args, opts);
  assert.equal(r.code, code, `hiy ${args.join(' ')}: ${r.stdout}${r.stderr}`);
  assert.match(r.stderr, /^hiy: /, 'errors start with "hiy: "');
  assert.match(r.stderr, stderr);
  assert.equal(r.stdout, '', 'nothing on stdout');
}

const json = async (args: string[]) => JSON.parse(await ok([...args, '--json']));

describe('hiy CLI', { timeout: 300_000 }, () => {
  it('shows help for everything', async () => {
    const general = await ok(['--help']);
    for (const c of ['login', 'apps', 'create', 'info', 'update', 'destroy', 'env:set', 'env:get', 'env:unset', 'deploys', 'deploys:info', 'tokens', 'tokens:create', 'tokens:revoke']) {
      assert.match(general, new RegExp(`^  ${c} `, 'm'), c);
    }
    assert.match(general, /alias: config:set/);
    assert.equal(await ok([]), general);
    assert.equal(await ok(['help']), general);
    const create = await ok(['create', '--help']);
    assert.match(create, /^Usage: hiy create <app> \[--repo URL\]/);
    assert.match(create, /--memory MB/);
    // The usage line lists every settings flag, not half of them.
    const usageLine = create.split('\n')[0]!;
    for (const flag of [...create.matchAll(/^ {2}(--[a-z-]+)/gm)].map((m) => m[1]!).filter((f) => f !== '--app' && f !== '--json' && f !== '--help')) {
      assert.ok(usageLine.includes(`[${flag} `), `${flag} is in the usage line: ${usageLine}`);
    }
    assert.match(usageLine, /\[--health-path PATH\]/);
    assert.match(create, /--json/);
    assert.equal(await ok(['help', 'create']), create);
    assert.match(await ok(['config:set', '-h']), /^Usage: hiy config:set <app> KEY=value/);
    await fails(['help', 'nope'], 2, /unknown command "nope"/);
    // The box's own commands are listed too; `server --help` prints help instead of starting one.
    for (const c of ['server', 'backup', 'restore', 'version']) assert.match(general, new RegExp(`^  ${c} `, 'm'), c);
    assert.match(await ok(['server', '--help']), /^Usage: hiy server \[--env-file FILE\]\n/);
    assert.match(await ok(['logs', '--help']), /-a, --app APP\s+the app \(default: the one the "hiy" git remote/);
    assert.match(await ok(['logs', '--help']), /-f, --tail\s+keep following new lines \(Ctrl-C stops; -t as in Heroku\)/);
  });

  it('reports its version, the same as package.json\'s', async () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8')) as { version: string };
    assert.equal(await ok(['--version'], { auth: false }), `hiy ${pkg.version} (API 1)\n`);
    const both = await json(['version']);
    assert.deepEqual(both, { client: { version: pkg.version, api_version: 1 }, server: { url: h.url, version: pkg.version, api_version: 1 } });
    const health = await (await fetch(`${h.url}/api/v1/health`)).json();
    assert.equal(health.version, pkg.version);
    assert.equal(health.api_version, 1);
  });

  it('exits 2 on usage errors with the usage', async () => {
    await fails(['frobnicate'], 2, /unknown command "frobnicate" \(see hiy help\)/);
    await fails(['apps', '--colour'], 2, /^hiy: unknown option --colour for hiy apps \(hiy apps --help lists its options; a value starting with "-" goes after "--"\)\nUsage: hiy apps\n$/);
    await fails(['create', 'x', '--port'], 2, /--port needs a value\nUsage: hiy create <app>/);
    await fails(['login', '--url', 'http://127.0.0.1:1', '--token', '-starts-with-a-dash'], 2, /--token needs a value; one starting with "-" is written --token=VALUE/, { auth: false });
    await fails(['info'], 2, /missing <app>: pass it, or -a <app>, or run this in a repository with a "hiy" git remote \(hiy git:remote <app>\)\nUsage: hiy info <app>/);
    await fails(['env:set', 'myapp'], 2, /missing argument\nUsage: hiy env:set <app> KEY=value/);
    await fails(['info', 'a', 'b'], 2, /too many arguments: b/);
    await fails(['create', 'x', '--port', 'abc'], 2, /--port must be a number/);
    await fails(['env:set', 'x', 'NOEQUALS'], 2, /"NOEQUALS" is not KEY=value/);
    await fails(['update', 'x'], 2, /nothing to change/);
    const r = await hiy(['--json']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /the command comes first/);
  });

  it('answers --json errors in JSON on stdout, with the same exit codes', async () => {
    const usage = await hiy(['info', 'a', 'b', '--json']);
    assert.equal(usage.code, 2);
    assert.deepEqual(JSON.parse(usage.stdout), { error: { code: 'usage', message: 'too many arguments: b' } });
    const api = await hiy(['info', 'nope', '--json']);
    assert.equal(api.code, 1);
    assert.deepEqual(JSON.parse(api.stdout), { error: { code: 'not_found', message: 'app "nope" not found' } });
    assert.match(api.stderr, /^hiy: app "nope" not found\n$/, 'and in words on stderr');
  });

  it('says when no server is configured or reachable', async () => {
    await fails(['apps'], 1, /no hiy server configured: run "hiy login --url <server>" or set HIY_URL/, { auth: false });
    await fails(['apps'], 1, /cannot reach hiy at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED\. Check the URL \(HIY_URL, or hiy login --url\), that hiy runs there \(on the box: systemctl status hiy, or curl http:\/\/127\.0\.0\.1:\d+\/api\/v1\/health\)/, { env: { HIY_URL: `http://127.0.0.1:${await freePort()}` } });
    await fails(['apps'], 1, /invalid or revoked API token \(run "hiy login" or set HIY_TOKEN\)/, { env: { HIY_TOKEN: 'hiy_wrong-token-wrong-token' } });
  });

  it('creates, lists, shows and updates apps', async () => {
    const created = await ok(['create', 'hone-blog', '--port', '8080', '--memory', '256']);
    assert.match(created, /^Created hone-blog\n/);
    assert.match(created, /git push hiy main/);
    const shop = await json(['create', 'hone-shop', '--repo', 'https://github.com/me/hone-shop.git', '--branch', 'prod', '--cpus', '1.5']);
    assert.equal(shop.app.name, 'hone-shop');
    assert.equal(shop.app.cpus, 1.5);
    assert.equal(shop.app.branch, 'prod');

    const table = (await ok(['apps'])).split('\n');
    assert.match(table[0] ?? '', /^NAME\s+STATUS\s+URL\s+BRANCH\s+RELEASE\s+LAST DEPLOY$/);
    assert.match(table[1] ?? '', /^hone-blog\s+no release\s+https:\/\/hone-blog\.localhost:\d+\s+main\s+-\s+-$/);
    assert.match(table[2] ?? '', /^hone-shop\s+/);
    assert.equal(table[1]?.indexOf('https'), table[0]?.indexOf('URL'), 'columns aligned');
    assert.deepEqual((await json(['apps'])).apps.map((a: { name: string }) => a.name), ['hone-blog', 'hone-shop']);

    const info = await ok(['info', 'hone-blog']);
    assert.match(info, /^git remote\s+https:\/\/hiy\.localhost:\d+\/git\/hone-blog\.git$/m);
    assert.match(info, /^memory\s+256 MB$/m);
    assert.match(info, /^release\s+not deployed yet$/m);
    assert.equal((await json(['info', 'hone-blog'])).app.port, 8080);

    assert.equal(await ok(['apps:info', 'hone-blog']), info, 'Heroku\'s apps:* names');
    // No opener on this PATH (a server over SSH): the URL is printed, and that is no error.
    assert.match(await ok(['open', 'hone-blog'], { env: { PATH: '/nonexistent' } }), /^https:\/\/hone-blog\.localhost:\d+\n$/);
    assert.match(await ok(['update', 'hone-blog', '--port', '9000', '--health-path', '/up']), /^port\s+9000$/m);
    assert.equal((await json(['info', 'hone-blog'])).app.health_path, '/up');
    assert.match(await ok(['volumes:add', 'hone-blog', '/data']), /^Mounted hiy-hone-blog-data at \/data\n$/);
    assert.equal(await ok(['volumes:remove', 'hone-blog', '/data']), 'Unmounted /data; the data stays in hiy-hone-blog-data\n');
  });

  it('prints the root of hiy\'s own CA (HIY_TLS=internal), the one Caddy signs with', async () => {
    const pem = await ok(['ca']);
    assert.match(pem, /^-----BEGIN CERTIFICATE-----\n[\s\S]+\n-----END CERTIFICATE-----\n$/);
    const file = findRootCert(h.dataDir);
    assert.ok(file, 'the child Caddy keeps its CA under the data dir');
    assert.equal(pem.trim(), readFileSync(file, 'utf8').trim());
    assert.equal((await json(['ca'])).tls, 'internal');
  });

  it('passes API errors through with exit 1', async () => {
    await fails(['create', '../x'], 1, /invalid app name "..\/x": app names are 1-30 characters/);
    await fails(['create', 'api'], 1, /"api" is reserved/);
    await fails(['create', 'hone-blog'], 1, /app "hone-blog" already exists/);
    await fails(['info', 'nope'], 1, /app "nope" not found/);
    await fails(['update', 'hone-blog', '--memory', '1'], 1, /memory_mb must be a whole number from 32 to 65536/);
    await fails(['create', 'x', '--repo', 'http://github.com/x'], 1, /repo_url must be an https:\/\/ URL/);
  });

  it('sets, gets and unsets env vars, with the config: aliases', async () => {
    assert.match(await ok(['env:set', 'hone-blog', 'DATABASE_URL=postgres://u:p@db/x?a=b', 'DEBUG=0', 'EMPTY=']), /^Set DATABASE_URL, DEBUG, EMPTY on hone-blog\.\n/);
    const masked = await ok(['env', 'hone-blog']);
    assert.match(masked, /^DATABASE_URL:\s+\*\*\*\*$/m);
    assert.match(masked, /values hidden; add --reveal/);
    assert.doesNotMatch(masked, /postgres/);
    assert.match(await ok(['config', 'hone-blog', '--reveal']), /^DATABASE_URL:\s+postgres:\/\/u:p@db\/x\?a=b$/m);
    assert.equal(await ok(['env:get', 'hone-blog', 'DATABASE_URL', '--reveal']), 'postgres://u:p@db/x?a=b\n');
    const masked1 = await hiy(['config:get', 'hone-blog', 'DEBUG']);
    assert.equal(masked1.stdout, '****\n');
    assert.equal(masked1.stderr, 'hiy: DEBUG is masked; add --reveal for its value\n', 'a script reading stdout is told why it got ****');
    assert.deepEqual((await json(['config:get', 'hone-blog', '--reveal'])).env, { DATABASE_URL: 'postgres://u:p@db/x?a=b', DEBUG: '0', EMPTY: '' });
    assert.match(await ok(['config:set', 'hone-blog', 'DEBUG=1', '--no-restart']), /Not restarted \(--no-restart\)/);
    assert.equal(await ok(['env:get', 'hone-blog', 'DEBUG', '--reveal']), '1\n');
    assert.deepEqual((await json(['env:unset', 'hone-blog', 'DEBUG', 'EMPTY'])).unset, ['DEBUG', 'EMPTY']);
    assert.match(await ok(['config:unset', 'hone-blog', 'DATABASE_URL']), /^Unset DATABASE_URL on hone-blog\./);
    assert.match(await ok(['env', 'hone-blog']), /hone-blog has no env vars/);
    await fails(['env:get', 'hone-blog', 'NOPE'], 1, /env var NOPE of app "hone-blog" not found/);
    await fails(['env:set', 'hone-blog', 'bad-key=1'], 1, /invalid env key "bad-key"/);
  });

  it('lists deploys and shows one with its log', async () => {
    assert.match(await ok(['deploys', 'hone-blog']), /hone-blog has no deploys yet/);
    const db = new SQLite(join(h.dataDir, 'hiy.db'));
    let id: number;
    try {
      const t = '2026-01-01T10:00:00.000Z';
      id = Number(db.prepare("insert into deploys (app, sha, status, triggered_by, log, created_at, started_at, finished_at) values ('hone-blog', ?, 'success', 'git', ?, ?, ?, ?)")
        .run('f'.repeat(40), '-----> Building hone-blog\n-----> Released v1\n', t, t, '2026-01-01T10:00:12.500Z').lastInsertRowid);
    } finally {
      db.close();
    }
    const list = (await ok(['deploys', 'hone-blog'])).split('\n');
    assert.match(list[0] ?? '', /^ID\s+STATUS\s+SHA\s+TRIGGER\s+CREATED\s+TOOK$/);
    assert.match(list[1] ?? '', new RegExp(`^${id}\\s+success\\s+fffffff\\s+git\\s+2026-01-01 10:00:00Z\\s+12\\.5s$`));
    assert.equal((await json(['deploys', 'hone-blog'])).deploys[0].id, id);
    const shown = await ok(['deploys:info', 'hone-blog', String(id)]);
    assert.match(shown, /^status\s+success$/m);
    assert.match(shown, /-----> Building hone-blog\n-----> Released v1\n$/);
    assert.equal((await json(['deploys:info', 'hone-blog', `#${id}`])).deploy.log, '-----> Building hone-blog\n-----> Released v1\n');
    await fails(['deploys:info', 'hone-blog', 'x1'], 2, /deploy id must be a number/);
    await fails(['deploys:info', 'hone-blog', '99999'], 1, /deploy 99999 of app "hone-blog" not found/);
  });

  it('creates, lists and revokes tokens', async () => {
    const created = await ok(['tokens:create', 'ci bot']);
    const value = /^  (hiy_[A-Za-z0-9_-]{43})$/m.exec(created)?.[1];
    assert.ok(value, created);
    assert.match(created, /not shown again/);
    const table = await ok(['tokens']);
    assert.match(table, /^ID\s+NAME\s+PREFIX\s+CREATED\s+LAST USED\s+REVOKED$/m);
    assert.match(table, /ci bot\s+hiy_/);
    assert.ok(!table.includes(value), 'the value is never listed');
    assert.match(await ok(['apps'], { env: { HIY_TOKEN: value } }), /^NAME/);
    const id = (await json(['tokens'])).tokens.find((t: { name: string }) => t.name === 'ci bot').id;
    assert.match(await ok(['tokens:revoke', String(id)]), new RegExp(`^Revoked token ${id} \\(ci bot\\)`));
    await fails(['apps'], 1, /invalid or revoked API token/, { env: { HIY_TOKEN: value } });
    await fails(['tokens:revoke', String(id)], 1, /not found/);
    await fails(['tokens:revoke', 'abc'], 2, /token id must be a number/);
    const j = await json(['tokens:create', 'json one']);
    assert.match(j.value, /^hiy_/);
  });

  it('logs in with a checked token, saved 0600, and logs out', async () => {
    const file = join(home, '.config', 'hiy', 'config.json');
    await fails(['login', '--url', h.url, '--token', 'hiy_wrong-token-wrong-token'], 1, /refused this token: nothing saved/, { auth: false });
    assert.ok(!existsSync(file));
    await fails(['login', '--token', h.token], 2, /which server\? pass --url/, { auth: false });
    assert.match(await ok(['login', '--url', `${h.url}/`, '--token', h.token], { auth: false }), /^Logged in to http:\/\/127\.0\.0\.1:\d+ \(saved in /);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(join(home, '.config', 'hiy')).mode & 0o777, 0o700);
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { url: h.url, token: h.token });
    assert.match(await ok(['apps'], { auth: false }), /^NAME/m);
    assert.match(await ok(['logout'], { auth: false }), /^Logged out/);
    assert.ok(!existsSync(file));
    await fails(['apps'], 1, /no hiy server configured/, { auth: false });
    // The token from stdin, as in `hiy login --url U < token.txt`.
    assert.match(await ok(['login', '--url', h.url], { auth: false, input: `${h.token}\n` }), /^Logged in/);
    assert.equal((await json(['apps'])).apps.length, 2);
    await fails(['login', '--url', h.url], 2, /no token given/, { auth: false, input: '' });
    assert.equal(await ok(['logout'], { auth: false }), `Logged out (removed ${file}).\n`);
    assert.equal(await ok(['logout'], { auth: false }), 'Not logged in.\n');
  });

  it('destroys only with confirmation', async () => {
    await fails(['destroy', 'hone-shop'], 2, /refusing to destroy hone-shop without confirmation: pass --confirm hone-shop/);
    await fails(['destroy', 'hone-shop', '--confirm', 'hone-blog'], 2, /confirmation "hone-blog" does not match hone-shop: nothing destroyed/);
    assert.equal((await json(['info', 'hone-shop'])).app.name, 'hone-shop', 'still there');
    assert.equal(await ok(['destroy', 'hone-shop', '--confirm', 'hone-shop']), 'Destroyed hone-shop\n');
    await fails(['info', 'hone-shop'], 1, /app "hone-shop" not found/);
    assert.deepEqual(await json(['destroy', 'hone-blog', '--confirm', 'hone-blog']), { destroyed: 'hone-blog', volumes_removed: [] });
    assert.match(await ok(['apps']), /No apps yet/);
  });
});
