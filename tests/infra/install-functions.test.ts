// Two paths of infra/install.sh a dry run cannot show, run for real on their own: the boot line
// edit of --enable-memory-cgroup (on a cmdline.txt in a temp dir) and the npm ci retry that
// installs compilers when a native module has to be compiled. The functions are taken from
// install.sh as written (bash reads them out of the file); only what they call to change the
// machine (apt, npm as the owner) is stubbed, and the stubs record what was asked.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../harness/paths.js';

const script = join(repoRoot(), 'infra', 'install.sh');
const dir = mkdtempSync(join(tmpdir(), 'hiy-install-fn-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Runs `body` in bash with the named functions of install.sh defined, and the stubs before it;
 * `path` is the PATH the functions then see (the file is read with the test's own).
 */
function withFunctions(names: string[], stubs: string, body: string, path?: string, opts: { terminal?: boolean } = {}) {
  const extract = names.map((n) => `/^${n}() {$/,/^}$/p`).join('; ');
  const program = `set -u\nsource <(sed -n '${extract}' "$1")\n${stubs}\n${path ? `PATH='${path}'\n` : ''}${body}\n`;
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
  if (!opts.terminal) return spawnSync('/bin/bash', ['-c', program, 'bash', script], { encoding: 'utf8', env, timeout: 30_000 });
  // util-linux's script(1) gives the program a pseudo-terminal as its stdout ([ -t 1 ] is true), as
  // an operator's ssh session does; the program reaches it as a file, not on script's command line.
  const file = join(dir, 'program.sh');
  writeFileSync(file, program);
  return spawnSync('script', ['-qec', `/bin/bash ${file} ${script}`, '/dev/null'], { encoding: 'utf8', env, timeout: 30_000 });
}

const LOG_STUBS = 'say() { echo "say $*"; }; note() { echo "note $*"; }; warn() { echo "warn $*"; }; warn_later() { echo "later $*"; }';

describe('install.sh functions, for real', { timeout: 60_000 }, () => {
  it('--enable-memory-cgroup appends the flags to the one line of cmdline.txt, keeps the old line, and does it once', () => {
    mkdirSync(join(dir, 'cgroup'));
    writeFileSync(join(dir, 'cgroup', 'cgroup.controllers'), 'cpuset cpu io pids\n');
    writeFileSync(join(dir, 'proc-cmdline'), 'console=tty1 root=PARTUUID=1 rootwait cgroup_disable=memory\n');
    const original = 'console=serial0,115200 console=tty1 root=PARTUUID=1 rootfstype=ext4 fsck.repair=yes rootwait  \n';
    const boot = join(dir, 'cmdline.txt');
    writeFileSync(boot, original);
    const vars = `DRY=0 ENABLE_MEMORY_CGROUP=1 ROOT=/opt/hiy CGROUP_ROOT='${dir}/cgroup' PROC_CGROUPS=/nonexistent PROC_CMDLINE='${dir}/proc-cmdline' BOOT_CMDLINE='${boot}'`;
    const fns = ['boot_cmdline_file', 'memory_cgroup_on', 'check_memory_cgroup'];
    const run = withFunctions(fns, LOG_STUBS, `${vars}\ncheck_memory_cgroup`);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(readFileSync(boot, 'utf8'), 'console=serial0,115200 console=tty1 root=PARTUUID=1 rootfstype=ext4 fsck.repair=yes rootwait cgroup_enable=memory cgroup_memory=1\n',
      'one line, trailing spaces gone, the flags appended');
    assert.equal(readFileSync(`${boot}.before-hiy`, 'utf8'), original, 'the previous line is kept next to it');
    assert.match(run.stdout, /note appended cgroup_enable=memory cgroup_memory=1 to \S+cmdline\.txt/);
    assert.match(run.stdout, /later memory cgroups are off \(the kernel was booted with cgroup_disable=memory\): \S+ now turns them on; reboot/);
    // Until the reboot the kernel still has them off: a second run says so and changes nothing.
    const again = withFunctions(fns, LOG_STUBS, `${vars}\ncheck_memory_cgroup`);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /already turns them on: reboot/);
    assert.match(readFileSync(boot, 'utf8'), /rootwait cgroup_enable=memory cgroup_memory=1\n$/);
    assert.equal(readFileSync(`${boot}.before-hiy`, 'utf8'), original, 'the kept line is not overwritten');
  });

  it('npm ci that fails without compilers installs g++ make python3 and tries once more; with them it runs once', () => {
    // PATH without g++, make or python3 (bash builtins only), so compilers_missing finds all three.
    const empty = join(dir, 'empty-bin');
    mkdirSync(empty);
    const stubs = `${LOG_STUBS}
tries=0
as_owner_try() { tries=$((tries + 1)); echo "try $*"; return 1; }
as_owner() { echo "owner $*"; }
apt_install() { echo "apt $*"; }
uname() { echo aarch64; }
node() { echo v20.19.2; }`;
    const fns = ['compilers_missing', 'npm_ci'];
    const run = withFunctions(fns, stubs, 'DRY=0\nnpm_ci', empty);
    assert.equal(run.status, 0, run.stderr);
    const steps = run.stdout.trim().split('\n').map((l) => l.split(' ').slice(0, 2).join(' '));
    assert.deepEqual(steps, ['try npm', 'warn npm', 'apt g++', 'owner npm'], run.stdout);
    assert.match(run.stdout, /warn npm ci failed \(exit 1\) and g\+\+ make python3 missing: a native module \(better-sqlite3\) has to be compiled when no prebuilt binary for node v20\.19\.2 on aarch64 can be downloaded/);
    assert.match(run.stdout, /^apt g\+\+ make python3$/m);

    // Compilers present (stub commands on PATH): npm ci runs once, as the owner, without a retry.
    const tools = join(dir, 'tools-bin');
    mkdirSync(tools);
    for (const t of ['g++', 'make', 'python3']) writeFileSync(join(tools, t), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    const fine = withFunctions(fns, stubs, 'DRY=0\nnpm_ci', tools);
    assert.equal(fine.status, 0, fine.stderr);
    assert.equal(fine.stdout.trim(), 'owner npm ci --no-audit --no-fund');
  });

  it('a first run at a terminal makes a backup key pair: the public key in hiy.env, the identity shown once and kept nowhere; without a terminal, none', async () => {
    const age = await import('age-encryption');
    const fns = ['env_get', 'health_url', 'ensure_env_file', 'summary'];
    const stubs = `${LOG_STUBS}\ndie() { echo "die $*"; exit 1; }`;
    const vars = (etc: string) => `DRY=0 DOMAIN=example.com DOMAIN_GIVEN=1 DATA_DIR=/var/lib/hiy ROOT='${repoRoot()}' ENV_FILE='${etc}/hiy.env' `
      + `BACKUP_IDENTITY='' BACKUP_IDENTITY_FILE='${etc}/backup-identity.txt' KEEP_BACKUP_KEY=0 FIRST_RUN=0 LISTEN=127.0.0.1:3000 BIN_LINK=/usr/local/bin/hiy; LATER=()`;

    const etc = join(dir, 'etc-terminal');
    const run = withFunctions(fns, stubs, `${vars(etc)}\nensure_env_file\nsummary`, undefined, { terminal: true });
    assert.equal(run.status, 0, run.stdout + run.stderr);
    const envText = readFileSync(join(etc, 'hiy.env'), 'utf8');
    assert.equal(statSync(join(etc, 'hiy.env')).mode & 0o777, 0o600);
    const recipient = /^HIY_BACKUP_RECIPIENT=(age1[0-9a-z]+)$/m.exec(envText)?.[1];
    assert.ok(recipient, envText);
    const shown = run.stdout.match(/AGE-SECRET-KEY-1[0-9A-Z]+/g) ?? [];
    assert.equal(shown.length, 1, `the identity is shown exactly once:\n${run.stdout}`);
    assert.match(run.stdout, /Store it OFFLINE now[^]*shown this once and not kept on this box/);
    assert.equal(await age.identityToRecipient(shown[0]!), recipient, 'the identity shown is the one whose public key backups are encrypted to');
    for (const f of readdirSync(etc)) assert.ok(!readFileSync(join(etc, f), 'utf8').includes('AGE-SECRET-KEY'), `${f} holds no identity`);

    // Output into a pipe or a log (CI, a redirected run): no key pair, no identity anywhere.
    const quiet = join(dir, 'etc-pipe');
    const piped = withFunctions(fns, stubs, `${vars(quiet)}\nensure_env_file\nsummary`);
    assert.equal(piped.status, 0, piped.stdout + piped.stderr);
    assert.doesNotMatch(piped.stdout, /AGE-SECRET-KEY/);
    assert.match(readFileSync(join(quiet, 'hiy.env'), 'utf8'), /^#HIY_BACKUP_RECIPIENT=age1\.\.\.$/m);
  });
});
