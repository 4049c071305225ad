/**
 * What install.sh leaves to other local users (docs/security.md, "The installed box"):
 * - without systemd it starts `hiy server --env-file /etc/hiy/hiy.env`: hiy reads the token from
 *   the 0600 file itself. Before, it ran `env HIY_ADMIN_TOKEN=… node …`, which `ps` shows to every
 *   local user. Here a real server is started that way and its command line, as `ps` shows it,
 *   holds no secret while the token works;
 * - it refuses to install from a checkout that someone other than root or the administrator
 *   running it (sudo) owns, or that others may change (they would be root at hiy's next start),
 *   as its very first step: a real run as root with every command that could change the machine
 *   replaced by a tripwire.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiClient, testEnv } from '../../harness/server.js';
import { hiyEntry, repoRoot } from '../../harness/paths.js';
import { sleep } from './support.js';

const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;

describe('install.sh: no token on a command line, no root from another user\'s checkout', { timeout: 120_000 }, () => {
  const cleanups: (() => void | Promise<void>)[] = [];
  after(async () => { for (const c of cleanups.reverse()) await c(); });

  test('`hiy server --env-file FILE` (how install.sh starts hiy without systemd): ps shows no secret, the token works', async () => {
    const t = await testEnv();
    const envFile = join(t.dataDir, 'hiy.env');
    writeFileSync(envFile, `# as install.sh writes it\n${Object.entries(t.env).map(([k, v]) => `${k}=${v}`).join('\n')}\n`, { mode: 0o600 });
    // Nothing of the configuration in the environment: only the file.
    const proc: ChildProcess = spawn(process.execPath, [hiyEntry(), 'server', '--env-file', envFile], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: t.dataDir }, stdio: 'ignore',
    });
    cleanups.push(async () => {
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
      rmSync(t.dataDir, { recursive: true, force: true });
    });
    let status = 0;
    for (let i = 0; i < 100 && status !== 200; i++) {
      status = await fetch(`${t.url}/api/v1/health`).then((r) => r.status, () => 0);
      if (status !== 200) await sleep(100);
    }
    assert.equal(status, 200, 'hiy started from the env file alone');
    assert.equal((await apiClient(t)('GET', '/apps')).status, 200, 'the token from the file works');
    const ps = spawnSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).stdout;
    assert.ok(ps.includes(`server --env-file ${envFile}`), 'ps lists the server');
    assert.ok(!ps.includes(t.token), 'the token is on no command line');
    assert.ok(!readFileSync(`/proc/${proc.pid}/cmdline`, 'utf8').includes('HIY_'), 'no HIY_ setting on its command line');
  });

  describe('a checkout another user could change', { skip: !isRoot && 'needs root (it makes files owned by nobody)' }, () => {
    let base = '';
    let shims = '';
    let trip = '';

    before(() => {
      base = mkdtempSync(join(tmpdir(), 'hiy-sec-install-'));
      chmodSync(base, 0o755);
      // Tripwires for everything that could change the machine: if the check did not stop the
      // run first, one of these records its call instead of doing it.
      shims = join(base, 'shims');
      trip = join(base, 'tripped');
      mkdirSync(shims);
      for (const name of ['apt-get', 'systemctl', 'npm', 'dockerd', 'nohup', 'setsid', 'ln', 'install', 'mv', 'chmod', 'rm', 'runuser', 'mktemp', 'ufw', 'fail2ban-client', 'docker', 'node']) {
        writeFileSync(join(shims, name), `#!/bin/sh\necho "${name} $*" >> '${trip}'\nexit 97\n`, { mode: 0o755 });
      }
      cleanups.push(() => rmSync(base, { recursive: true, force: true }));
    });

    const checkout = (name: string, prepare: (dir: string) => void): string => {
      const dir = join(base, name);
      mkdirSync(join(dir, 'infra'), { recursive: true, mode: 0o755 });
      copyFileSync(join(repoRoot(), 'infra', 'install.sh'), join(dir, 'infra', 'install.sh'));
      prepare(dir);
      return dir;
    };

    const runInstall = (dir: string, sudoUid?: number) => {
      const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${shims}:${process.env.PATH ?? ''}`, HIY_DOMAIN: '' };
      delete env.SUDO_UID;
      delete env.SUDO_USER;
      if (sudoUid !== undefined) env.SUDO_UID = String(sudoUid);
      return spawnSync('bash', [join(dir, 'infra', 'install.sh'), '--domain', 'pi.example.com'], { encoding: 'utf8', timeout: 60_000, env });
    };

    test('owned by another user: refused as the first step, nothing run', () => {
      const dir = checkout('theirs', (d) => chownSync(d, NOBODY, NOBODY));
      const r = runInstall(dir);
      assert.equal(r.status, 1, r.stdout + r.stderr);
      assert.match(r.stderr, new RegExp(`refusing to install: hiy runs as root from ${dir}, and ${dir} belongs to nobody, so that user would become root`));
      assert.match(r.stderr, /sudo git clone <this repository> \/opt\/hiy/);
      assert.equal(existsSync(trip), false, `a command ran before the refusal: ${existsSync(trip) ? readFileSync(trip, 'utf8') : ''}`);
      assert.doesNotMatch(r.stdout, /==> /, 'no step started');
    });

    test('owned by the administrator running it with sudo (their own clone): allowed; by someone else under sudo: refused', () => {
      const dir = checkout('admins', (d) => chownSync(d, NOBODY, NOBODY));
      const other = runInstall(dir, 1234);
      assert.equal(other.status, 1);
      assert.match(other.stderr, /refusing to install: .* belongs to nobody/);
      assert.equal(existsSync(trip), false);
      const own = runInstall(dir, NOBODY);
      assert.doesNotMatch(own.stderr, /refusing to install/, own.stderr);
      assert.match(readFileSync(trip, 'utf8'), /\S/, 'the run went on past the check (and hit a tripwire, not the machine)');
      rmSync(trip);
    });

    test('a file in it that others may change: refused', () => {
      const dir = checkout('group-writable', (d) => {
        mkdirSync(join(d, 'dist'), { mode: 0o755 });
        writeFileSync(join(d, 'dist', 'main.js'), '// code root will run\n');
        chmodSync(join(d, 'dist', 'main.js'), 0o666);
      });
      const r = runInstall(dir);
      assert.equal(r.status, 1, r.stdout + r.stderr);
      assert.match(r.stderr, /dist\/main\.js belongs to another user or can be changed by other users/);
      assert.equal(existsSync(trip), false);
    });
  });
});
