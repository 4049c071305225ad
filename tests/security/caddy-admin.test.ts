/**
 * Caddy's admin API is hiy's alone (docs/security.md, "Caddy's admin API"). Any process that
 * reaches it can rewrite Caddy's config, for example `PUT` a file_server route over
 * <data>/secrets and read the age identity. With default settings:
 * - the child Caddy hiy starts listens on no TCP port but the app ports, and none of them
 *   answers the admin API; its admin socket sits in a 0700 folder, and another local user
 *   (nobody) who can walk the run dir (0711) cannot connect to it;
 * - a system Caddy started the way infra/caddy-hiy.conf makes caddy.service start it (as the
 *   caddy user, its socket folder made 0700 as systemd's RuntimeDirectory does) is found on that
 *   socket by a hiy with default settings, serves hiy's routes and has no TCP admin listener.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.js';
import { createCaddyAdmin } from '../../src/proxy/caddy-admin.js';
import { get } from '../../harness/caddy.js';
import { startHiy } from '../../harness/server.js';
import { repoRoot } from '../../harness/paths.js';
import { childrenNamed, listeningTcpPorts } from '../helpers/processes.js';
import { sleep } from './support.js';

const NOBODY = 65534;

/** A folder like production's /run/hiy: others may walk through (0711), not list. */
function walkableRunDir(): { parent: string; runDir: string } {
  const parent = mkdtempSync(join(tmpdir(), 'hiy-sec-run-'));
  chmodSync(parent, 0o711);
  return { parent, runDir: join(parent, 'run') };
}

/** What Caddy's admin API answers on a TCP port: `admin` when GET /config/ gives a config. */
function tcpAdminAnswer(port: number): Promise<string> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/config/', headers: { host: `127.0.0.1:${port}` }, agent: false, timeout: 3_000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString(); });
      res.on('end', () => resolve(res.statusCode === 200 && /^\s*(null|\{)/.test(body) && String(res.headers['content-type']).includes('json') ? 'admin' : `not admin (${res.statusCode})`));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve(`not admin (${(e as NodeJS.ErrnoException).code ?? e.message})`));
    req.end();
  });
}

// Runs as another user: tries to replace Caddy's config through the socket, prints what happened.
const ATTACK = `
const http = require('node:http');
const req = http.request({ socketPath: process.argv[1], path: '/load', method: 'POST', setHost: false,
  headers: { host: '', 'content-type': 'application/json' } }, (res) => { console.log('answered ' + res.statusCode); });
req.on('error', (e) => console.log('error ' + e.code));
req.end(JSON.stringify({ apps: { http: { servers: { evil: { listen: [':0'], routes: [{ handle: [{ handler: 'file_server', root: '/' }] }] } } } } }));
`;

function asNobody(socket: string): string {
  const r = spawnSync(process.execPath, ['-e', ATTACK, socket], { uid: NOBODY, gid: NOBODY, encoding: 'utf8', timeout: 15_000, cwd: '/' });
  return (r.stdout || r.stderr).trim();
}

describe('Caddy\'s admin API: a unix socket in a 0700 folder, never TCP by default', { timeout: 180_000 }, () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  after(async () => { for (const c of cleanups.reverse()) await c(); });

  test('the child Caddy: no TCP port answers the admin API, the socket folder is 0700, nobody cannot connect', async () => {
    const { parent, runDir } = walkableRunDir();
    cleanups.push(() => rmSync(parent, { recursive: true, force: true }));
    const hiy = await startHiy({ env: { HIY_RUN_DIR: runDir } });
    cleanups.push(async () => { await hiy.stop(); });
    const [caddyPid] = childrenNamed(hiy.proc.pid!, 'caddy');
    assert.ok(caddyPid, 'hiy started a child Caddy');

    const ports = listeningTcpPorts(caddyPid);
    assert.deepEqual(ports, [Number(hiy.env.HIY_HTTP_PORT), Number(hiy.env.HIY_HTTPS_PORT)].sort((a, b) => a - b), 'Caddy listens on the app ports only');
    for (const port of ports) assert.match(await tcpAdminAnswer(port), /^not admin/, `port ${port}`);

    const socket = join(runDir, 'caddy-admin', 'admin.sock');
    const dir = statSync(join(runDir, 'caddy-admin'));
    assert.equal((dir.mode & 0o777).toString(8), '700');
    assert.equal(dir.uid, process.getuid?.());
    const admin = createCaddyAdmin({ socket });
    assert.equal(await admin.probe(), 'caddy', 'hiy\'s Caddy answers on the socket');
    assert.deepEqual((await admin.get('/config/admin')) as unknown, { listen: `unix/${socket}` }, 'the loaded config keeps the socket');

    // The attack as another local user: the run dir lets them through (live markers are read by
    // Caddy's user), the socket folder does not.
    assert.equal(statSync(join(runDir, 'live')).isDirectory(), true);
    assert.equal(asNobody(socket), 'error EACCES');
    assert.equal(await admin.probe(), 'caddy');
    const servers = (await admin.get('/config/apps/http/servers')) as Record<string, unknown>;
    assert.deepEqual(Object.keys(servers).sort(), ['hiy', 'hiy-redirect'], 'the attacker\'s server was not loaded');
  });

  test('caddy.service as infra/caddy-hiy.conf starts it: hiy finds it on the default socket, no TCP admin', async (t) => {
    const ids = spawnSync('id', ['-u', 'caddy'], { encoding: 'utf8' });
    const gids = spawnSync('id', ['-g', 'caddy'], { encoding: 'utf8' });
    if (ids.status !== 0) return t.skip('no caddy user here (Debian\'s caddy package makes it)');
    const [uid, gid] = [Number(ids.stdout.trim()), Number(gids.stdout.trim())];

    // The drop-in, install.sh and hiy's own default must agree on the socket.
    const dropIn = readFileSync(join(repoRoot(), 'infra', 'caddy-hiy.conf'), 'utf8');
    assert.match(dropIn, /^RuntimeDirectory=hiy\/caddy-admin$/m);
    assert.match(dropIn, /^RuntimeDirectoryMode=0700$/m);
    const install = readFileSync(join(repoRoot(), 'infra', 'install.sh'), 'utf8');
    const bootJson = /printf '(\{"admin":\{"listen":"unix\/\/[^']+\})\\n' \| put_file "\$CADDY_ADMIN_JSON"/.exec(install)?.[1];
    assert.ok(bootJson, 'install.sh writes the boot file');
    if (process.getuid?.() === 0) {
      const rootDefault = loadConfig({ HOME: '/root' }).caddyAdmin;
      assert.equal(JSON.parse(bootJson).admin.listen, `unix/${(rootDefault as { socket: string }).socket}`, 'a root hiy\'s default socket is the one caddy.service gets');
    }
    const execStart = [...dropIn.matchAll(/^ExecStart=(.+)$/gm)].at(-1)?.[1];
    assert.ok(execStart, 'the drop-in sets ExecStart');

    // Here: the same command line, with the test's run dir in place of /run/hiy.
    const { parent, runDir } = walkableRunDir();
    cleanups.push(() => rmSync(parent, { recursive: true, force: true }));
    mkdirSync(runDir, { mode: 0o711 });
    chmodSync(runDir, 0o711);
    const socketDir = join(runDir, 'caddy-admin');
    mkdirSync(socketDir, { mode: 0o700 });
    chownSync(socketDir, uid, gid); // what RuntimeDirectory= does for User=caddy
    const state = join(parent, 'caddy-home');
    mkdirSync(state, { mode: 0o700 });
    chownSync(state, uid, gid);
    const boot = join(parent, 'caddy-admin.json');
    writeFileSync(boot, bootJson.replace('/run/hiy/caddy-admin/admin.sock', join(socketDir, 'admin.sock')), { mode: 0o644 });
    const argv = execStart.replace('@CADDY_BIN@', '/usr/bin/caddy').replace('/etc/hiy/caddy-admin.json', boot).split(' ');
    const caddy: ChildProcess = spawn(argv[0]!, argv.slice(1), {
      uid, gid, cwd: state, stdio: 'ignore',
      env: { PATH: '/usr/bin:/bin', HOME: state, XDG_CONFIG_HOME: state, XDG_DATA_HOME: state },
    });
    cleanups.push(() => { caddy.kill('SIGKILL'); });
    const socket = join(socketDir, 'admin.sock');
    for (let i = 0; i < 100 && (await createCaddyAdmin({ socket }).probe()) !== 'caddy'; i++) await sleep(100);

    const hiy = await startHiy({ env: { HIY_RUN_DIR: runDir, HIY_TLS: 'off' } });
    cleanups.push(async () => { await hiy.stop(); });
    assert.match(hiy.output(), /using the Caddy that answers on the admin address/);
    assert.deepEqual(childrenNamed(hiy.proc.pid!, 'caddy'), [], 'hiy started no Caddy of its own');
    const res = await get(Number(hiy.env.HIY_HTTP_PORT), 'hiy.localhost', { path: '/api/v1/health' });
    assert.equal(res.status, 200, 'the system Caddy routes hiy.<domain> to hiy');
    assert.deepEqual(listeningTcpPorts(caddy.pid!), [Number(hiy.env.HIY_HTTP_PORT)], 'no TCP admin listener');
    assert.equal(asNobody(socket), 'error EACCES');
  });
});
