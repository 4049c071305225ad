// Upgrading on the production path, in a booted Debian 12 with systemd: install the previous
// commit's hiy (HEAD's first parent), deploy an app, then `git pull` and rerun install.sh to the
// commit under test while the load helper requests the app through the system Caddy. Migrations
// apply, the app keeps serving without a failed request, and nothing is rebuilt.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { WorkingCopy } from '../../harness/git.js';
import { repoRoot } from '../../harness/paths.js';
import { BUSYBOX_IMAGE } from '../../harness/images.js';
import type { Guest } from './guest.js';
import { assertHostFirewallUnchanged, useGuest } from './fixture.js';
import { CHECKOUT, domainOf, hiyCli, httpsGet, install, loadImage, push, underLoad } from './operator.js';
import { measured } from './measure.js';
import { steps } from './steps.js';
import { previousCommit } from './host.js';

const APP = 'kept';
const BODY = 'deployed by the previous commit\n';

export function upgradeSuite(): void {
  const skip = previousCommit() ? false : 'the checkout has no previous commit (a shallow clone): nothing to upgrade from';
  describe(`upgrading from the previous commit in a booted Debian 12 with systemd${skip ? ` (skipped: ${skip})` : ''}`, { concurrency: 1, skip }, () => {
    const guest = useGuest('upgrade', (o) => o.previous);
    let g: Guest;
    let wc: WorkingCopy | undefined;
    const step = steps();

    before(() => {
      g = guest.g;
      guest.onTearDown(() => wc?.remove());
    });

    step('the previous commit installs and deploys an app', async () => {
      const r = await install(g, ['--production', '--domain', domainOf(g)]);
      measured.set('install.sh of the previous commit', r.ms);
      assert.equal(r.code, 0, r.out);
      await loadImage(g, BUSYBOX_IMAGE); // the app's base image: no registry is reachable
      const created = await hiyCli(g, ['create', APP, '--port', '8080']);
      assert.equal(created.code, 0, created.stderr);
      wc = await WorkingCopy.fromFixture(join(repoRoot(), 'tests', 'fixtures', 'busybox-app'));
      wc.write('www/index.html', BODY);
      await wc.commit('before the upgrade');
      const pushed = await push(g, wc, APP);
      assert.equal(pushed.code, 0, pushed.stderr);
      const page = await httpsGet(g, `${APP}.${domainOf(g)}`);
      assert.deepEqual({ status: page.status, body: page.body }, { status: 200, body: BODY });
    });

    step('git pull + install.sh to the commit under test: migrations apply, the app keeps serving, nothing is rebuilt', async () => {
      const containers = async () => (await g.sh('docker', ['ps', '--no-trunc', '--format', '{{.ID}} {{.Image}}', '--filter', `label=hiy.app=${APP}`])).split('\n').sort().join('\n');
      const images = async () => (await g.sh('docker', ['images', '--no-trunc', '--quiet'])).split('\n').sort().join('\n');
      const before = { containers: await containers(), images: await images(), deploys: (await hiyCli(g, ['deploys', APP, '--json'])).stdout };
      let out = '';
      let code: number | null = null;
      let ms = 0;
      const f = await underLoad(g, APP, BODY, async () => {
        await g.sh('runuser', ['-u', 'pi', '--', 'git', '-C', CHECKOUT, 'pull', '--quiet', '--ff-only']);
        const r = await install(g, ['--production']);
        ({ out, code, ms } = r);
      });
      measured.set('upgrade: git pull + install.sh', ms);
      measured.set('upgrade: failed requests (of sent)', `${f.failed} of ${f.report.sent}`);
      assert.equal(code, 0, out);
      assert.equal((await g.sh('runuser', ['-u', 'pi', '--', 'git', '-C', CHECKOUT, 'rev-parse', 'HEAD'])).trim(), guest.booted.origin.current, 'the checkout is at the commit under test');
      assert.equal(f.failed, 0, `${f.failed} of ${f.report.sent} failed: ${f.report.errorSamples.join(', ')}\n${f.journal}`);

      const migrations = readdirSync(join(repoRoot(), 'src', 'db', 'migrations')).filter((n) => /^\d{8}T\d{4}-.*\.ts$/.test(n)).map((n) => n.replace(/\.ts$/, '')).sort();
      const applied = await g.sh('node', ['-e', [
        `const D = require(${JSON.stringify(`${CHECKOUT}/node_modules/better-sqlite3`)});`,
        'const db = new D("/var/lib/hiy/hiy.db", { readonly: true });',
        'console.log(JSON.stringify(db.prepare("select name from kysely_migration order by name").all().map((r) => r.name)));',
      ].join('\n')]);
      assert.deepEqual(JSON.parse(applied) as string[], migrations);

      assert.equal(await containers(), before.containers, 'the app runs in the same containers');
      assert.equal(await images(), before.images, 'no image was built');
      assert.equal((await hiyCli(g, ['deploys', APP, '--json'])).stdout, before.deploys, 'no deploy ran');
    });

    test('after teardown the host\'s firewall is as it was', () => assertHostFirewallUnchanged(guest.booted));
  });
}
