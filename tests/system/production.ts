// The production path, in a booted Debian 12 with systemd as PID 1 (systemd-nspawn -b): install
// from a clone with `--production --domain`, then what a Pi goes through: services, a git push
// from another machine (the host) served by the system caddy.service over HTTPS, dependency caches
// (dependency-cache.ts), ufw, fail2ban,
// the backup timer, stopping hiy, faults under load, a reboot, and a rerun of the installer.
// One guest carries the whole sequence, so its steps depend on each other and run in order.
// Runs as root (CI is root); the host's firewall, dockerd and systemd units stay untouched.
// system.test.ts runs it next to the upgrade suite (upgrade.ts), each on its own guest.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkingCopy } from '../../harness/git.js';
import { repoRoot } from '../../harness/paths.js';
import { BUSYBOX_IMAGE } from '../../harness/images.js';
import type { Guest } from './guest.js';
import { assertHostFirewallUnchanged, useGuest } from './fixture.js';
import {
  apiHealthy, domainOf, envValue, fileStates, hiyCli, httpsGet, httpsRequest, install, loadImage, mainPids, push, tcpProbe, underLoad, waitServed,
  type FaultReport,
} from './operator.js';
import { measured } from './measure.js';
import { steps } from './steps.js';
import { dependencyCacheSteps } from './dependency-cache.js';

const APP = 'web';
const BODY = 'served by the system caddy\n';
// Everything install.sh writes on a systemd box: a rerun after the reboot must leave each as it was.
const MANAGED = [
  '/etc/hiy/hiy.env', '/etc/docker/daemon.json', '/etc/fail2ban/filter.d/hiy.conf', '/etc/fail2ban/jail.d/hiy.conf',
  '/etc/apt/apt.conf.d/20auto-upgrades', '/etc/logrotate.d/hiy', '/etc/ufw/user.rules', '/etc/ufw/user6.rules', '/etc/ufw/ufw.conf',
  '/etc/systemd/system/hiy.service', '/etc/systemd/system/hiy-backup.service', '/etc/systemd/system/hiy-backup.timer',
  '/etc/systemd/system/caddy.service.d/hiy-restart.conf', '/usr/local/bin/hiy', '/var/lib/hiy/.install-stamp',
];
const SERVICES = ['hiy', 'caddy', 'docker', 'containerd', 'fail2ban'];

export function productionSuite(): void {
  describe('the production path in a booted Debian 12 with systemd', { concurrency: 1 }, () => {
    const guest = useGuest('production');
    let g: Guest;
    let wc: WorkingCopy | undefined;
    const step = steps();

    before(() => {
      g = guest.g;
      guest.onTearDown(() => wc?.remove());
    });

    step('infra/install.sh --production --domain installs hiy from a clone and exits 0', async () => {
      const r = await install(g, ['--production', '--domain', domainOf(g)]);
      measured.set('install.sh in the guest (first run)', r.ms);
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /hiy is installed/);
    });

    step('systemd is running with hiy, caddy, docker, fail2ban and ufw active', async () => {
      const state = await g.exec('systemctl', ['is-system-running']);
      assert.equal(state.stdout.trim(), 'running', `${state.stdout}\n${(await g.exec('systemctl', ['--failed', '--no-pager'])).stdout}`);
      for (const unit of ['hiy', 'caddy', 'docker', 'fail2ban', 'hiy-backup.timer']) {
        const r = await g.exec('systemctl', ['is-active', unit]);
        assert.equal(r.stdout.trim(), 'active', `${unit} is ${r.stdout.trim()}`);
      }
      // ufw.service only loads the rules at boot (checked after the reboot); `ufw enable` applied them now.
      assert.match(await g.sh('ufw', ['status']), /^Status: active$/m);
      // The hiy jail reads the journal (backend systemd): that needs python3-systemd.
      assert.match(await g.sh('fail2ban-client', ['status', 'hiy']), /Journal matches:\s+_SYSTEMD_UNIT=hiy\.service/);
      // hiy configured the system Caddy (not a child Caddy of its own) through the admin endpoint:
      // the unix socket caddy.service gets from install.sh's drop-in (hiy-admin.conf), in a folder
      // only the caddy user enters; nothing answers the admin API on TCP 2019 (docs/security.md).
      const caddyPid = (await mainPids(g, ['caddy'])).caddy;
      assert.match(await g.sh('ss', ['-Hltnp', 'sport = :443']), new RegExp(`"caddy",pid=${caddyPid},`));
      assert.match(await g.sh('curl', ['-fsS', '--unix-socket', '/run/hiy/caddy-admin/admin.sock', '-H', 'Host: ', 'http://localhost/config/apps/http/servers']), /"hiy-control-plane"/);
      assert.equal((await g.sh('stat', ['-c', '%a %U', '/run/hiy/caddy-admin'])).trim(), '700 caddy');
      assert.notEqual((await g.exec('curl', ['-fsS', '--max-time', '3', 'http://127.0.0.1:2019/config/'])).code, 0, 'no admin API on TCP 2019');
    });

    step('a git push from the host deploys an app that answers through the system Caddy over HTTPS', async () => {
      await loadImage(g, BUSYBOX_IMAGE); // the app's base image: no registry is reachable
      const created = await hiyCli(g, ['create', APP, '--port', '8080']);
      assert.equal(created.code, 0, created.stderr);
      wc = await WorkingCopy.fromFixture(join(repoRoot(), 'tests', 'fixtures', 'busybox-app'));
      wc.write('www/index.html', BODY);
      await wc.commit('for the system test');
      const t0 = Date.now();
      const r = await push(g, wc, APP);
      measured.set('git push to live (first build)', Date.now() - t0);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /remote: -----> Live at https:\/\/web\./);
      const page = await httpsGet(g, `${APP}.${domainOf(g)}`);
      assert.deepEqual({ status: page.status, body: page.body }, { status: 200, body: BODY });
    });

    dependencyCacheSteps(step, () => g, (fn) => guest.onTearDown(fn));

    test('creating an app through https://hiy.<domain> answers its real status (no Caddy reload under the request)', async () => {
      const r = await httpsGet(g, `hiy.${domainOf(g)}`, '/api/v1/apps', { headers: { authorization: `Bearer ${envValue(g, 'HIY_ADMIN_TOKEN')}` } });
      assert.equal(r.status, 200, r.body);
      try {
        const res = await httpsRequest(g, `hiy.${domainOf(g)}`, '/api/v1/apps', {
          method: 'POST', body: JSON.stringify({ name: 'viacaddy', port: 8080 }), headers: { authorization: `Bearer ${envValue(g, 'HIY_ADMIN_TOKEN')}` },
        });
        assert.equal(res.status, 201, res.body);
      } finally {
        await hiyCli(g, ['destroy', 'viacaddy', '--confirm', 'viacaddy']);
      }
    });

    step('ufw lets 80 and 443 in and refuses a port something else listens on', async () => {
      await g.sh('systemd-run', ['--unit=hiy-test-listener', 'node', '-e', 'require("node:net").createServer((s) => s.end("hi\\n")).listen(8123)']);
      try {
        // Polled: node takes a moment to start listening.
        const probe = `require("node:net").connect(8123, ${JSON.stringify(g.guestAddress)}).on("connect", () => process.exit(0)).on("error", () => process.exit(1))`;
        let inside = await g.exec('node', ['-e', probe]);
        for (let i = 0; i < 50 && inside.code !== 0; i++) {
          await sleep(200);
          inside = await g.exec('node', ['-e', probe]);
        }
        assert.equal(inside.code, 0, 'the listener answers inside the guest, so only the firewall can keep the host out');
        assert.equal(await tcpProbe(g.guestAddress, 8123), 'timeout', 'ufw drops what comes in on 8123');
        assert.equal(await tcpProbe(g.guestAddress, 443), 'open');
        assert.equal(await tcpProbe(g.guestAddress, 80), 'open');
      } finally {
        await g.exec('systemctl', ['stop', 'hiy-test-listener']);
      }
    });

    step('12 bad tokens ban the client address from 80/443, and unbanip lets it back', async () => {
      const api = `hiy.${domainOf(g)}`;
      // maxretry is 10: fail2ban may read the journal fast enough to ban before the 12th request,
      // which then gets no answer. That is the ban working, not a failure; a ban earlier than the
      // 10th failure is one.
      for (let i = 0; i < 12; i++) {
        const r = await httpsGet(g, api, '/api/v1/apps', { headers: { authorization: `Bearer hiy_wrong${i}` } });
        if (r.status === 0 && i >= 10) break;
        assert.equal(r.status, 401, `bad token ${i}: ${r.status} ${r.error ?? ''}`);
      }
      const deadline = Date.now() + 30_000;
      let status = '';
      while (Date.now() < deadline) {
        status = await g.sh('fail2ban-client', ['status', 'hiy']);
        if (status.includes(g.hostAddress)) break;
        await sleep(250);
      }
      assert.match(status, new RegExp(`Banned IP list:.*\\b${g.hostAddress.replace(/\./g, '\\.')}\\b`));
      // fail2ban lists the address before its ban action has run (the first ban also creates its
      // firewall chain, slower with every Docker network's rules): the ban must hold within 10 s.
      const banDeadline = Date.now() + 10_000;
      let banned = await httpsGet(g, api, '/api/v1/health', { timeoutMs: 3_000 });
      while (banned.status !== 0 && Date.now() < banDeadline) {
        await sleep(250);
        banned = await httpsGet(g, api, '/api/v1/health', { timeoutMs: 3_000 });
      }
      assert.equal(banned.status, 0, 'a banned address gets no answer');
      await g.sh('fail2ban-client', ['set', 'hiy', 'unbanip', g.hostAddress]);
      const back = await httpsGet(g, api, '/api/v1/health');
      assert.equal(back.status, 200, back.error);
    });

    step('the backup timer is listed and systemctl start hiy-backup writes an encrypted backup', async () => {
      assert.match(await g.sh('systemctl', ['list-timers', '--all', '--no-pager', 'hiy-backup.timer']), /hiy-backup\.timer\s+hiy-backup\.service/);
      const age = await import('age-encryption');
      const identity = await age.generateX25519Identity();
      // docs/backup.md: the operator adds the public key of a pair kept off the box.
      const envFile = join(g.root, 'etc/hiy/hiy.env');
      writeFileSync(envFile, `${readFileSync(envFile, 'utf8')}HIY_BACKUP_RECIPIENT=${await age.identityToRecipient(identity)}\n`);
      const r = await g.exec('systemctl', ['start', 'hiy-backup'], { timeoutMs: 300_000 });
      assert.equal(r.code, 0, `${r.stderr}\n${(await g.exec('journalctl', ['-u', 'hiy-backup', '-n', '30', '--no-pager'])).stdout}`);
      const dir = join(g.root, 'var/backups/hiy');
      const files = readdirSync(dir).filter((f) => f.endsWith('.tar.gz.age'));
      assert.equal(files.length, 1, readdirSync(dir).join(', '));
      const d = new age.Decrypter();
      d.addIdentity(identity);
      const plain = await d.decrypt(readFileSync(join(dir, files[0]!)));
      assert.deepEqual([...plain.subarray(0, 2)], [0x1f, 0x8b], 'it decrypts to a gzip stream with the operator\'s key');
    });

    step('a rerun after a configuration change restarts hiy, and only hiy', async () => {
      const pids = await mainPids(g, SERVICES);
      const r = await install(g, ['--production']);
      assert.equal(r.code, 0, r.out);
      assert.doesNotMatch(r.out, /not restarted/);
      const now = await mainPids(g, SERVICES);
      assert.notEqual(now.hiy, pids.hiy);
      assert.deepEqual({ ...now, hiy: '' }, { ...pids, hiy: '' });
    });

    step('systemctl stop hiy leaves the app served by the system Caddy; start brings the API back', async () => {
      let apiBackMs = 0;
      const f = await underLoad(g, APP, BODY, async () => {
        await g.sh('systemctl', ['stop', 'hiy']);
        assert.equal(await apiHealthy(g), false, 'the API is down');
        const during = await httpsGet(g, `${APP}.${domainOf(g)}`);
        assert.equal(during.status, 200, 'the app answers while hiy is stopped');
        const t0 = Date.now();
        await g.sh('systemctl', ['start', 'hiy']);
        while (!(await apiHealthy(g))) {
          assert.ok(Date.now() - t0 < 60_000, 'the API answers within 60 s of the start');
          await sleep(100);
        }
        apiBackMs = Date.now() - t0;
      });
      measured.set('systemctl start hiy to API answering', apiBackMs);
      report('stop + start hiy', f);
      assert.equal(f.failed, 0, `${f.report.errorSamples.join(', ')}\n${f.journal}`);
    });

    // The fault cases: what the design promises for each, measured under the load helper.
    step('kill -9 of hiy: systemd restarts it, apps never notice', async () => {
      const f = await underLoad(g, APP, BODY, async () => {
        await g.sh('systemctl', ['kill', '--signal=SIGKILL', '--kill-who=main', 'hiy']);
      });
      report('kill -9 hiy', f);
      assert.equal(f.failed, 0, `${f.report.errorSamples.join(', ')}\n${f.journal}`);
    });

    step('systemctl restart docker (a docker.io upgrade): live-restore keeps the app up, with a bounded stall', async () => {
      const f = await underLoad(g, APP, BODY, async () => {
        await g.sh('systemctl', ['restart', 'docker'], { timeoutMs: 120_000 });
      });
      report('systemctl restart docker', f);
      assert.ok(f.gapMs <= 5_000, `failures over ${f.gapMs} ms (${f.failed} failed): ${f.report.errorSamples.join(', ')}\n${f.journal}`);
    });

    step('systemctl restart caddy: back with hiy\'s routes within a bounded gap', async () => {
      const f = await underLoad(g, APP, BODY, async () => {
        await g.sh('systemctl', ['restart', 'caddy'], { timeoutMs: 60_000 });
      });
      report('systemctl restart caddy', f);
      assert.ok(f.recoveredMs <= 20_000, `served again after ${f.recoveredMs} ms\n${f.journal}`);
    });

    step('kill -9 of Caddy: systemd restarts it, hiy loads its routes again, within a bounded gap', async () => {
      const f = await underLoad(g, APP, BODY, async () => {
        await g.sh('systemctl', ['kill', '--signal=SIGKILL', '--kill-who=main', 'caddy']);
      });
      report('kill -9 caddy', f);
      assert.ok(f.recoveredMs <= 20_000, `served again after ${f.recoveredMs} ms\n${f.journal}`);
    });

    let servingAfterBootMs = 0;
    step('a reboot brings hiy and the app back by themselves, without a push', async () => {
      const deploysBefore = (await hiyCli(g, ['deploys', APP, '--json'])).stdout;
      await g.poweroff();
      const t0 = Date.now();
      const booting = g.boot().then((s) => { measured.set('reboot: boot to systemd running', Date.now() - t0); return s; });
      const [state, served] = await Promise.all([booting, waitServed(g, APP, BODY, 180_000)]);
      servingAfterBootMs = served;
      measured.set('reboot: boot to app served over HTTPS', servingAfterBootMs);
      assert.equal(state, 'running');
      for (const unit of ['hiy', 'caddy', 'docker', 'fail2ban', 'ufw']) assert.equal((await g.exec('systemctl', ['is-active', unit])).stdout.trim(), 'active', unit);
      assert.match(await g.sh('ufw', ['status']), /^Status: active$/m);
      assert.ok(servingAfterBootMs <= 60_000, `served ${servingAfterBootMs} ms after the boot started`);
      for (let i = 0; i < 300 && !(await apiHealthy(g)); i++) await sleep(200);
      assert.equal((await hiyCli(g, ['deploys', APP, '--json'])).stdout, deploysBefore, 'no deploy ran: the app came back from its container');
    });

    step('a rerun of the installer after the reboot changes nothing', async () => {
      const files = fileStates(g, MANAGED);
      const pids = await mainPids(g, SERVICES);
      const r = await install(g, ['--production']);
      measured.set('install.sh rerun after the reboot', r.ms);
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /not restarted/);
      assert.doesNotMatch(r.out, /^ {4}wrote /m);
      assert.doesNotMatch(r.out, /apt-get install/);
      assert.deepEqual(fileStates(g, MANAGED), files);
      assert.deepEqual(await mainPids(g, SERVICES), pids);
    });

    test('after teardown the host\'s firewall is as it was', () => assertHostFirewallUnchanged(guest.booted));
  });
}

function report(name: string, f: FaultReport): void {
  measured.set(`${name}: failed requests (of sent)`, `${f.failed} of ${f.report.sent}`);
  measured.set(`${name}: gap first to last failure`, f.gapMs);
  measured.set(`${name}: until served again`, f.recoveredMs);
}
