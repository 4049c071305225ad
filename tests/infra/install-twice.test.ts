// infra/install.sh for real, on this machine: run it (in CI, .ci/run already ran it once), run it
// again and prove the second run changed nothing it manages (contents, modes, mtimes, the running
// hiy, dockerd and fail2ban not restarted), that a dry run on the installed machine changes
// nothing either, and then deploy an app with the installed hiy: its API on 127.0.0.1:3000 and its
// git remote. It changes the machine, so it runs only in CI or when asked to.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, lstatSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { remoteUrl, run, WorkingCopy } from '../../harness/git.js';
import { repoRoot } from '../../harness/paths.js';
import { cleanupByLabel, ensureDocker } from '../../harness/docker.js';
import { ensureBusyboxImage } from '../../harness/images.js';
import { findRootCert } from '../../harness/app-http.js';

const root = repoRoot();
const enabled = (process.env.CI === 'true' || process.env.HIY_TEST_INSTALL === '1') && process.getuid?.() === 0;
const SKIP = enabled ? false : 'changes this machine: runs only as root with CI=true or HIY_TEST_INSTALL=1';
const APP = `inst-${randomBytes(3).toString('hex')}`;

// Everything install.sh writes or starts. Build output (dist/) is rebuilt on every run by design;
// what hiy was last started from is covered by /var/lib/hiy/.install-stamp and the hiy pid.
const MANAGED = [
  '/etc/hiy/hiy.env', '/etc/docker/daemon.json', '/etc/fail2ban/filter.d/hiy.conf', '/etc/fail2ban/jail.d/hiy.conf',
  '/etc/apt/apt.conf.d/20auto-upgrades', '/etc/logrotate.d/hiy', '/etc/ufw/user.rules', '/etc/ufw/user6.rules', '/etc/ufw/ufw.conf',
  '/etc/systemd/system/hiy.service', '/etc/systemd/system/hiy-backup.service', '/etc/systemd/system/hiy-backup.timer', '/etc/systemd/system/caddy.service.d/hiy-restart.conf',
  '/usr/local/bin/hiy', '/var/lib/hiy', '/run/hiy.pid', '/var/lib/hiy/.install-stamp', '/var/run/docker.pid', '/var/run/fail2ban/fail2ban.pid',
  join(root, 'node_modules', '.hiy-install-stamp'),
];

function snapshot(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of MANAGED) {
    try {
      const s = lstatSync(p);
      // A directory's mtime moves whenever the running hiy makes a file in it: only its mode counts.
      let what = s.isDirectory() ? `mode=${s.mode.toString(8)}` : `mode=${s.mode.toString(8)} mtime=${s.mtimeMs}`;
      if (s.isSymbolicLink()) what += ` -> ${readlinkSync(p)}`;
      else if (s.isFile()) what += ` sha256=${createHash('sha256').update(readFileSync(p)).digest('hex')}`;
      out[p] = what;
    } catch {
      out[p] = 'absent';
    }
  }
  return out;
}

interface Run { code: number | null; out: string; ms: number }

function install(args: string[] = []): Promise<Run> {
  const started = Date.now();
  return new Promise((resolve) => {
    const p = spawn('bash', [join(root, 'infra', 'install.sh'), ...args], { cwd: root, env: { ...process.env, HIY_DOMAIN: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    const timer = setTimeout(() => p.kill('SIGKILL'), 900_000);
    p.on('close', (code) => { clearTimeout(timer); resolve({ code, out, ms: Date.now() - started }); });
  });
}

function envValue(key: string): string | undefined {
  const line = readFileSync('/etc/hiy/hiy.env', 'utf8').split('\n').find((l) => l.startsWith(`${key}=`));
  return line?.slice(key.length + 1).replace(/^"|"$/g, '');
}

describe(`infra/install.sh run twice on this machine, then a deploy with the installed hiy${SKIP ? ` (skipped: ${SKIP})` : ''}`, { skip: SKIP, timeout: 1_800_000 }, () => {
  let base = '';
  let token = '';
  let wc: WorkingCopy | undefined;

  before(async () => {
    await ensureDocker();
    await ensureBusyboxImage();
  });

  after(async () => {
    if (base && token) {
      await fetch(`${base}/api/v1/apps/${APP}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } }).catch(() => undefined);
    }
    wc?.remove();
    await cleanupByLabel(`hiy.app=${APP}`);
  });

  test('the second run changes nothing it manages', async (t) => {
    const first = await install();
    assert.equal(first.code, 0, first.out);
    const before = snapshot();
    const second = await install();
    assert.equal(second.code, 0, second.out);
    t.diagnostic(`second run took ${second.ms} ms`);
    assert.deepEqual(snapshot(), before, `the second run changed files or restarted a service:\n${second.out}`);
    assert.match(second.out, /not restarted/);
    assert.doesNotMatch(second.out, /^ {4}wrote /m);
    assert.doesNotMatch(second.out, /apt-get install/);
    assert.equal(before['/etc/hiy/hiy.env']?.startsWith('mode=100600'), true, 'the env file (admin token) is 0600');
    // Without systemd hiy reads the env file itself: the token is on no command line `ps` shows.
    const pid = readFileSync('/run/hiy.pid', 'utf8').trim();
    if (!existsSync('/run/systemd/system') && /^\d+$/.test(pid)) {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      assert.match(cmdline, /hiy\.js server --env-file \/etc\/hiy\/hiy\.env/);
      assert.ok(!cmdline.includes(envValue('HIY_ADMIN_TOKEN') ?? '\u0000'), 'the admin token is not on the command line');
    }
  });

  test('a dry run on the installed machine changes nothing and has nothing to write', async () => {
    const before = snapshot();
    const dry = await install(['--dry-run']);
    assert.equal(dry.code, 0, dry.out);
    assert.deepEqual(snapshot(), before);
    assert.match(dry.out, /nothing was changed/);
    assert.doesNotMatch(dry.out, /would write/, dry.out);
  });

  test('the installed hiy deploys an app pushed to its git remote', async () => {
    const listen = envValue('HIY_LISTEN') || '127.0.0.1:3000';
    base = `http://${listen}`;
    token = envValue('HIY_ADMIN_TOKEN') ?? '';
    assert.ok(token, 'install.sh wrote HIY_ADMIN_TOKEN');
    const health = await fetch(`${base}/api/v1/health`);
    assert.equal(health.status, 200);

    const created = await fetch(`${base}/api/v1/apps`, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: APP, port: 8080 }),
    });
    assert.equal(created.status, 201, await created.text());
    wc = await WorkingCopy.fromFixture(join(root, 'tests', 'fixtures', 'busybox-app'));
    wc.write('www/index.html', 'installed and live\n');
    await wc.commit('live');
    const push = await wc.push(remoteUrl(base, APP, token));
    assert.equal(push.code, 0, push.stderr);
    assert.match(push.stderr, /remote: -----> Live at /);

    // Through the installed Caddy (HIY_HTTPS_PORT of /etc/hiy/hiy.env, 443 by default).
    const port = envValue('HIY_HTTPS_PORT') || '443';
    const domain = envValue('HIY_DOMAIN') || 'localhost';
    const ca = findRootCert(envValue('HIY_DATA_DIR') || '/var/lib/hiy');
    if (domain === 'localhost' && ca) {
      const r = await run('curl', ['-sS', '--max-time', '15', '--cacert', ca, '--resolve', `${APP}.localhost:${port}:127.0.0.1`, `https://${APP}.localhost:${port}/`]);
      assert.equal(r.stdout, 'installed and live\n', r.stderr);
    }
  });

  test('fail2ban, where it runs, has the hiy jail loaded', { skip: !existsSync('/var/run/fail2ban/fail2ban.sock') && 'fail2ban is not running here' }, async () => {
    const r = await run('fail2ban-client', ['status', 'hiy']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Status for the jail: hiy/);
  });
});
