// infra/install.sh: syntax, --help, argument checks, and a --dry-run that must change nothing.
// The real install is exercised by .ci/run itself (it runs the script before `npm test`).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('no package.json above this test');
    dir = up;
  }
  return dir;
}

const root = findRepoRoot();
const script = join(root, 'infra', 'install.sh');

// Every command install.sh could change the machine with. In a dry run none may be executed.
const MUTATORS = ['apt-get', 'systemctl', 'npm', 'dockerd', 'nohup', 'setsid', 'ln', 'install', 'mv', 'chmod', 'rm', 'runuser', 'mktemp', 'journalctl'];
// These are also asked questions in a dry run: the shim lets those through to the real command
// (when installed) and trips on everything else (ufw allow/enable, fail2ban-client start/reload).
const READ_ONLY: Record<string, string[]> = { ufw: ['status', 'show'], 'fail2ban-client': ['ping'] };

// Files the script writes; a dry run must leave each exactly as it was (or absent).
const STATE_PATHS = [
  '/etc/hiy/hiy.env', '/etc/hiy', '/var/lib/hiy', '/usr/local/bin/hiy', '/run/hiy.pid',
  '/etc/systemd/system/hiy.service', '/var/log/hiy.log', '/var/log/hiy-dockerd.log',
  '/etc/docker/daemon.json', '/etc/fail2ban/filter.d/hiy.conf', '/etc/fail2ban/jail.d/hiy.conf', '/etc/apt/apt.conf.d/20auto-upgrades',
  '/etc/logrotate.d/hiy', '/etc/ufw/user.rules', '/etc/ufw/user6.rules', '/etc/ufw/ufw.conf', '/var/lib/hiy/.install-stamp',
  '/etc/systemd/system/hiy-backup.service', '/etc/systemd/system/hiy-backup.timer', '/etc/systemd/system/caddy.service.d/hiy-restart.conf',
  '/etc/systemd/system/caddy.service.d/hiy-admin.conf', '/etc/hiy/caddy-admin.json',
  join(root, 'node_modules', '.hiy-install-stamp'),
];

// Written by the running hiy and dockerd while the test runs: a dry run must not create, truncate
// or chmod them, but they may grow meanwhile (CI saw the dockerd log grow during the dry run).
const LOGS = new Set(['/var/log/hiy.log', '/var/log/hiy-dockerd.log']);

function snapshot(): string[] {
  return STATE_PATHS.map((p) => {
    try {
      const s = lstatSync(p);
      return LOGS.has(p) ? `${p} ${s.mode}` : `${p} ${s.mode} ${s.size} ${s.mtimeMs}`;
    } catch {
      return `${p} absent`;
    }
  });
}

function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.HIY_DOMAIN;
  return env;
}

function runScript(args: string[], env: NodeJS.ProcessEnv = cleanEnv()): SpawnSyncReturns<string> {
  return spawnSync('bash', [script, ...args], { encoding: 'utf8', env, timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('infra/install.sh', { timeout: 180_000 }, () => {
  let shimDir = '';
  let tripFile = '';

  before(() => {
    shimDir = mkdtempSync(join(tmpdir(), 'hiy-install-test-'));
    tripFile = join(shimDir, 'tripped');
    for (const name of MUTATORS) {
      const shim = join(shimDir, name);
      writeFileSync(shim, `#!/bin/sh\necho "${name} $*" >> '${tripFile}'\nexit 97\n`);
      chmodSync(shim, 0o755);
    }
    for (const [name, allowed] of Object.entries(READ_ONLY)) {
      const real = spawnSync('sh', ['-c', 'command -v "$1"', 'sh', name], { encoding: 'utf8' }).stdout.trim();
      const pass = real ? `exec '${real}' "$@"` : 'exit 1';
      const shim = join(shimDir, name);
      writeFileSync(shim, `#!/bin/sh\ncase "$1" in ${allowed.join('|')}) ${pass} ;; esac\necho "${name} $*" >> '${tripFile}'\nexit 97\n`);
      chmodSync(shim, 0o755);
    }
  });

  after(() => {
    rmSync(shimDir, { recursive: true, force: true });
  });

  it('is valid bash (bash -n) and is executable', () => {
    const res = spawnSync('bash', ['-n', script], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(res.status, 0, res.stderr);
    assert.ok((lstatSync(script).mode & 0o100) !== 0, 'install.sh must be executable: the README runs it directly');
  });

  it('never evaluates strings as code', () => {
    const code = readFileSync(script, 'utf8').split('\n').filter((l) => !/^\s*#/.test(l)).join('\n');
    assert.doesNotMatch(code, /(^|[\s;|&(])eval\s/);
    assert.doesNotMatch(code, /(^|[\s;])(source|\.)\s+["$]/, 'config files are parsed, never sourced');
  });

  it('--help prints the usage with every option and exits 0', () => {
    const res = runScript(['--help']);
    assert.equal(res.status, 0, res.stderr);
    for (const flag of ['--dry-run', '--production', '--domain', '--no-start', '--no-firewall', '--no-fail2ban', '--no-upgrades', '--nodes', '--help']) {
      assert.match(res.stdout, new RegExp(flag), `--help should mention ${flag}`);
    }
  });

  it('refuses unknown options and bad domains with exit code 2', () => {
    const unknown = runScript(['--frobnicate']);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /unknown option: --frobnicate/);
    for (const domain of ['a;id', '$(id)', 'UPPER..case', 'x\nHIY_TLS=off', '-rf']) {
      const res = runScript(['--dry-run', '--domain', domain]);
      assert.equal(res.status, 2, `domain ${JSON.stringify(domain)} should be refused`);
      assert.match(res.stderr, /not a domain name/);
    }
    const missing = runScript(['--domain']);
    assert.equal(missing.status, 2);
  });

  it('the tripwire commands record a call (so the dry-run check below can fail)', () => {
    const res = spawnSync('bash', ['-c', 'ln -s a b; exit 0'], { encoding: 'utf8', env: { ...process.env, PATH: `${shimDir}:${process.env.PATH ?? ''}` }, timeout: 10_000 });
    assert.equal(res.status, 0);
    assert.match(readFileSync(tripFile, 'utf8'), /^ln -s a b$/m);
    rmSync(tripFile);
  });

  it('--dry-run prints every step, runs no changing command and leaves the machine as it was', () => {
    const before = snapshot();
    const logSizes = () => [...LOGS].map((p) => (existsSync(p) ? lstatSync(p).size : -1));
    const logsBefore = logSizes();
    const res = runScript(['--dry-run', '--domain', 'pi.example.com'], cleanEnv({ PATH: `${shimDir}:${process.env.PATH ?? ''}` }));
    const after = snapshot();
    logSizes().forEach((size, i) => assert.ok(size >= logsBefore[i]!, `${[...LOGS][i]} was truncated by a dry run (${logsBefore[i]} → ${size} bytes)`));
    assert.equal(res.status, 0, `stdout:\n${res.stdout}\nstderr:\n${res.stderr}`);
    assert.equal(existsSync(tripFile) ? readFileSync(tripFile, 'utf8') : '', '', 'a dry run executed a changing command');
    assert.deepEqual(after, before);
    for (const step of ['Node.js', 'system packages', 'Docker daemon settings', 'Docker engine', 'Caddy', 'Node dependencies and build', 'configuration /etc/hiy/hiy.env', 'hiy server',
      'fail2ban', 'unattended security upgrades', 'daily backup', 'firewall']) {
      assert.ok(res.stdout.includes(`==> ${step}`), `dry run should print the step "${step}":\n${res.stdout}`);
    }
    assert.match(res.stdout, /would run: npm run build/);
    if (!existsSync('/run/systemd/system')) {
      // No token on a command line: hiy reads the env file itself.
      assert.match(res.stdout, /would run: nohup setsid node \S+\/bin\/hiy\.js server --env-file \/etc\/hiy\/hiy\.env/);
    }
    assert.match(res.stdout, /nothing was changed/);
    assert.match(res.stdout, /Direct: +http:\/\/127\.0\.0\.1:\d+/);
    assert.doesNotMatch(res.stdout + res.stderr, /hiy_[A-Za-z0-9_-]{43}/, 'a dry run never shows a token');
  });
});

describe('install.sh checks what silently breaks a Pi', { timeout: 120_000 }, () => {
  let dir = '';
  before(() => { dir = mkdtempSync(join(tmpdir(), 'hiy-install-checks-')); });
  after(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

  it('memory cgroups off (stock Raspberry Pi OS): said, with the fix, and again at the end', () => {
    // A cgroup v2 root without the memory controller, as a kernel booted with cgroup_disable=memory has.
    mkdirSync(join(dir, 'cgroup'));
    writeFileSync(join(dir, 'cgroup', 'cgroup.controllers'), 'cpuset cpu io pids\n');
    writeFileSync(join(dir, 'proc-cmdline'), 'console=tty1 root=PARTUUID=1 rootwait cgroup_disable=memory\n');
    writeFileSync(join(dir, 'cmdline.txt'), 'console=serial0,115200 console=tty1 root=PARTUUID=1 rootfstype=ext4 fsck.repair=yes rootwait\n');
    const env = cleanEnv({ HIY_INSTALL_CGROUP_ROOT: join(dir, 'cgroup'), HIY_INSTALL_PROC_CMDLINE: join(dir, 'proc-cmdline'), HIY_INSTALL_BOOT_CMDLINE: join(dir, 'cmdline.txt') });
    const res = runScript(['--dry-run'], env);
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stderr, /warning: memory cgroups are off \(the kernel was booted with cgroup_disable=memory\): app and build memory limits do nothing/);
    assert.match(res.stderr, /Fix: sudo \S+\/infra\/install\.sh --enable-memory-cgroup \(adds cgroup_enable=memory cgroup_memory=1 to the one line of \S+cmdline\.txt\), then sudo reboot/);
    assert.match(res.stdout, /Before your first app:\n    - memory cgroups are off/);
    const fix = runScript(['--dry-run', '--enable-memory-cgroup'], env);
    assert.equal(fix.status, 0, fix.stderr);
    assert.match(fix.stdout, /would append cgroup_enable=memory cgroup_memory=1 to \S+cmdline\.txt/);
    assert.match(readFileSync(join(dir, 'cmdline.txt'), 'utf8'), /rootwait\n$/, 'a dry run leaves it alone');
    // Already on the command line but not booted with it yet: only the reboot is missing.
    writeFileSync(join(dir, 'cmdline.txt'), 'root=PARTUUID=1 rootwait cgroup_enable=memory cgroup_memory=1\n');
    assert.match(runScript(['--dry-run'], env).stderr, /already turns them on: reboot/);
    // With the controller on, nothing is said.
    writeFileSync(join(dir, 'cgroup', 'cgroup.controllers'), 'cpuset cpu io memory pids\n');
    const fine = runScript(['--dry-run'], env);
    assert.doesNotMatch(fine.stderr, /memory cgroups are off/);
    assert.match(fine.stdout, /==> memory cgroups \(app and build memory limits\)\n    on\n/);
  });

  it('Node older than 20: stops before changing anything, with the exact commands to get 22', () => {
    const bin = join(dir, 'old-node');
    mkdirSync(bin);
    writeFileSync(join(bin, 'node'), '#!/bin/sh\ncase "$1" in -p) echo 18 ;; --version) echo v18.19.0 ;; *) exit 1 ;; esac\n');
    writeFileSync(join(bin, 'apt-cache'), '#!/bin/sh\nprintf "nodejs:\\n  Installed: 18.19.0+dfsg-6~deb12u2\\n  Candidate: 18.19.0+dfsg-6~deb12u2\\n"\n');
    chmodSync(join(bin, 'node'), 0o755);
    chmodSync(join(bin, 'apt-cache'), 0o755);
    const res = runScript(['--dry-run'], cleanEnv({ PATH: `${bin}:${process.env.PATH ?? ''}` }));
    assert.equal(res.status, 1, res.stdout);
    assert.match(res.stderr, /hiy needs Node\.js 20 or newer; found: v18\.19\.0, and apt offers: 18\./);
    assert.match(res.stderr, /curl -fsSL https:\/\/deb\.nodesource\.com\/setup_22\.x -o \/tmp\/nodesource_setup\.sh\n +sudo bash \/tmp\/nodesource_setup\.sh\n +sudo apt-get install -y nodejs/);
    assert.match(res.stderr, /Debian 13 \(trixie\) and Raspberry Pi OS trixie ship Node 20/);
    assert.doesNotMatch(res.stdout, /==> system packages/, 'nothing after the Node check ran');
  });

  it('a later --domain replaces the one in hiy.env (a dry run says so and writes nothing)', { skip: !existsSync('/etc/hiy/hiy.env') && 'hiy is not installed here' }, () => {
    const have = /^HIY_DOMAIN=(.*)$/m.exec(readFileSync('/etc/hiy/hiy.env', 'utf8'))?.[1] ?? 'localhost';
    const other = have === 'pi.example.com' ? 'pi2.example.com' : 'pi.example.com';
    const before = readFileSync('/etc/hiy/hiy.env', 'utf8');
    const res = runScript(['--dry-run', '--domain', other]);
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stderr, new RegExp(`warning: HIY_DOMAIN changes from ${have.replace(/\./g, '\\.')} to ${other.replace(/\./g, '\\.')}: apps move to https://<app>\\.`));
    assert.match(res.stdout, /would write \/etc\/hiy\/hiy\.env/);
    assert.match(res.stdout, new RegExp(`Dashboard: +https?://hiy\\.${other.replace(/\./g, '\\.')}`));
    assert.equal(readFileSync('/etc/hiy/hiy.env', 'utf8'), before);
    // The same domain again: nothing to change.
    const same = runScript(['--dry-run', '--domain', have]);
    assert.doesNotMatch(same.stderr, /HIY_DOMAIN changes/);
  });

  it('infra/docker-daemon.mjs keeps the operator\'s live-restore, except with --live-restore=false (install.sh --nodes), and adds the cgroupfs driver with --cgroupfs unless one is set', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hiy-daemon-json-'));
    try {
      const file = join(dir, 'daemon.json');
      const merge = (...args: string[]) => JSON.parse(spawnSync(process.execPath, [join(dirname(script), 'docker-daemon.mjs'), file, ...args], { encoding: 'utf8' }).stdout) as Record<string, unknown>;
      assert.equal(merge()['live-restore'], true, 'on by default');
      writeFileSync(file, '{"live-restore": false}');
      assert.equal(merge()['live-restore'], false, 'the operator\'s setting is kept');
      writeFileSync(file, '{"live-restore": true, "debug": true}');
      const nodes = merge('--live-restore=false');
      assert.equal(nodes['live-restore'], false, '--nodes turns it off');
      assert.equal(nodes.debug, true, 'and keeps the rest');
      // --cgroupfs (install.sh on a systemd box): the cgroupfs driver, unless the operator chose one.
      assert.equal(merge()['exec-opts'], undefined, 'no driver without --cgroupfs (a box without systemd)');
      assert.deepEqual(merge('--cgroupfs')['exec-opts'], ['native.cgroupdriver=cgroupfs']);
      writeFileSync(file, '{"exec-opts": ["native.umask=normal"]}');
      assert.deepEqual(merge('--cgroupfs')['exec-opts'], ['native.umask=normal', 'native.cgroupdriver=cgroupfs'], 'the operator\'s other options stay');
      writeFileSync(file, '{"exec-opts": ["native.cgroupdriver=systemd"]}');
      assert.deepEqual(merge('--cgroupfs')['exec-opts'], ['native.cgroupdriver=systemd'], 'the operator\'s driver stays');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('infra/backup-key.mjs makes a working age key pair (the first run\'s backup key)', async () => {
    const res = spawnSync(process.execPath, [join(root, 'infra', 'backup-key.mjs')], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(res.status, 0, res.stderr);
    const [identity, recipient, rest] = res.stdout.split('\n');
    assert.match(identity ?? '', /^AGE-SECRET-KEY-1[0-9A-Z]+$/);
    assert.match(recipient ?? '', /^age1[0-9a-z]+$/);
    assert.equal(rest, '');
    const age = await import('age-encryption');
    const e = new age.Encrypter();
    e.addRecipient(recipient!);
    const d = new age.Decrypter();
    d.addIdentity(identity!);
    assert.equal(new TextDecoder().decode(await d.decrypt(await e.encrypt('backup'))), 'backup');
  });
});

describe('.ci/run and infra/hiy.service', { timeout: 10_000 }, () => {
  it('.ci/run runs install.sh and then npm test, in that order', () => {
    const ci = readFileSync(join(root, '.ci', 'run'), 'utf8');
    const lines = ci.split('\n').map((l) => l.trim());
    const install = lines.indexOf('infra/install.sh');
    const test = lines.indexOf('npm test');
    assert.ok(install >= 0 && test > install, '.ci/run must run infra/install.sh, then npm test');
    assert.match(ci, /set -euo pipefail/);
  });

  it('the README quick start holds exactly those two commands', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const quick = /## Quick start[\s\S]*?```(?:sh|bash)?\n([\s\S]*?)```/.exec(readme);
    assert.ok(quick, 'README.md needs a "## Quick start" section with a code block');
    const commands = quick[1]!.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    assert.deepEqual(commands, ['sudo infra/install.sh', 'npm test']);
  });

  it('the unit runs bin/hiy.js server with the env file and a placeholder for the checkout', () => {
    const unit = readFileSync(join(root, 'infra', 'hiy.service'), 'utf8');
    assert.match(unit, /^ExecStart=\/usr\/bin\/env node (--[\w=-]+ )*@HIY_ROOT@\/bin\/hiy\.js server$/m);
    assert.match(unit, /^EnvironmentFile=\/etc\/hiy\/hiy\.env$/m);
    assert.match(unit, /^Restart=on-failure$/m);
    assert.match(unit, /^After=.*docker\.service/m);
  });
});
