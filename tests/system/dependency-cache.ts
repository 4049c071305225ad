// Dependency caches on the production path (docs/build-strategies.md, "Dependency caches", and
// decision 52): in the booted Debian 12, where install.sh --production set up Docker with systemd
// as PID 1, the engine uses the cgroupfs driver (install.sh pins it on systemd + cgroup v2, where
// Docker would pick systemd's, under which hiy cannot bound BuildKit and has no caches), so a
// Node app with a lockfile pushed again with one dependency added updates the node_modules its
// last build kept and downloads only the new package, and a BuildKit step that wants more memory
// than HIY_BUILD_MEMORY_MB is killed at that bound. The build containers reach npm's registry the
// way the guest does, through the host's forwarding proxy: the app's base image is the Debian +
// node test image with the proxy in its environment (nothing else in the guest reaches out).
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkingCopy } from '../../harness/git.js';
import { repoRoot } from '../../harness/paths.js';
import { DEBIAN_NODE_IMAGE, ensureDebianNodeImage } from '../helpers/debian-images.js';
import type { Guest } from './guest.js';
import { PROXY_PORT } from './guest-files.js';
import { measured } from './measure.js';
import { apiHealthy, domainOf, hiyCli, httpsGet, loadImage, push } from './operator.js';

const APP = 'deps';
const GREEDY = 'greedy';
const NODE_IMAGE = 'hiy-test/node-proxy:20';
const BUILD_MEMORY_MB = 400;
const fixtures = join(repoRoot(), 'tests', 'fixtures');

/** npm's own figure for each download (loglevel http); what comes from the cache is silent. */
const downloads = (out: string) => out.split('\n').filter((l) => /npm http fetch GET \d+ \S+ .*\(cache (miss|stale|revalidated|updated)\)/.test(l));

export function dependencyCacheSteps(step: (name: string, fn: (t: TestContext) => Promise<void>) => void, guest: () => Guest, onTearDown: (fn: () => void) => void): void {
  const copies: WorkingCopy[] = [];
  onTearDown(() => { for (const wc of copies) wc.remove(); });

  step('Docker in the guest uses the cgroupfs driver (install.sh pins it on cgroup v2), so hiy builds with BuildKit', async () => {
    const g = guest();
    const daemon = JSON.parse(readFileSync(join(g.root, 'etc/docker/daemon.json'), 'utf8')) as { 'exec-opts'?: string[] };
    const [driver, version] = (await g.sh('docker', ['info', '--format', '{{.CgroupDriver}} {{.CgroupVersion}}'])).trim().split(' ');
    measured.set('guest engine: cgroup driver, cgroup version', `${driver}, v${version}`);
    // A host whose kernel has its controllers on cgroup v1 boots the guest on v1 too, where Docker
    // picks cgroupfs by itself and install.sh leaves daemon.json alone; on v2 it pins the driver.
    assert.deepEqual(daemon['exec-opts'], version === '2' ? ['native.cgroupdriver=cgroupfs'] : undefined);
    assert.equal(driver, 'cgroupfs');
    // The busybox push before this ran on the classic builder below hiy's own hiy-build cgroup:
    // hiy, sandboxed by hiy.service, could write its limits (a read-only /sys/fs/cgroup left
    // builds unbounded and BuildKit off).
    const pids = (await g.exec('sh', ['-c', 'cat /sys/fs/cgroup/pids/hiy-build/pids.max 2>/dev/null || cat /sys/fs/cgroup/hiy-build/pids.max'])).stdout.trim();
    assert.equal(pids, '1024', (await g.exec('journalctl', ['-u', 'hiy', '--no-pager', '-g', 'cgroup|BuildKit'])).stdout);
    // The app's base image: the test Debian + node, with the guest's way to the registry.
    await ensureDebianNodeImage();
    await loadImage(g, DEBIAN_NODE_IMAGE);
    const proxy = `http://${g.hostAddress}:${PROXY_PORT}`;
    const dockerfile = `FROM ${DEBIAN_NODE_IMAGE}\nENV http_proxy=${proxy} https_proxy=${proxy}\n`;
    const built = await g.exec('docker', ['build', '-q', '-t', NODE_IMAGE, '-'], { input: Readable.from([dockerfile]), timeoutMs: 120_000 });
    assert.equal(built.code, 0, built.stderr);
    const env = join(g.root, 'etc/hiy/hiy.env');
    writeFileSync(env, `${readFileSync(env, 'utf8')}HIY_IMAGE_NODE=${NODE_IMAGE}\nHIY_BUILD_MEMORY_MB=${BUILD_MEMORY_MB}\n`);
    await g.sh('systemctl', ['restart', 'hiy']);
    for (let i = 0; i < 300 && !(await apiHealthy(g)); i++) await sleep(200);
    assert.equal(await apiHealthy(g), true, 'hiy answers after the restart');
  });

  step('a Node app pushed again with one dependency added updates its kept node_modules and downloads one package', async () => {
    const g = guest();
    const created = await hiyCli(g, ['create', APP, '--port', '8080']);
    assert.equal(created.code, 0, created.stderr);
    const wc = await WorkingCopy.fromFixture(join(fixtures, 'express-app'));
    copies.push(wc);
    let t0 = Date.now();
    const first = await push(g, wc, APP);
    measured.set('Node app with a lockfile: first push (clean npm ci)', Date.now() - t0);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /RUN --mount=type=cache,id=hiy\/deps\/npm,target=\/var\/cache\/hiy\/deps\/npm/, 'a BuildKit build with the app\'s cache');
    assert.doesNotMatch(first.stderr, /^remote: +hiy: updating the node_modules/m, 'nothing kept yet: a clean npm ci');
    const cold = downloads(first.stderr).length;
    assert.ok(cold >= 60, `the first build downloads express and its dependencies (${cold} downloads)`);
    assert.equal((await httpsGet(g, `${APP}.${domainOf(g)}`)).body, 'express v1\n');

    for (const f of ['package.json', 'package-lock.json']) copyFileSync(join(fixtures, 'express-app-v2', f), join(wc.dir, f));
    wc.write('message.txt', 'express v2\n');
    await wc.commit('add is-number');
    t0 = Date.now();
    const second = await push(g, wc, APP);
    measured.set('Node app: push with one dependency added (kept node_modules)', Date.now() - t0);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stderr, /^remote: +hiy: updating the node_modules of the last build in place/m);
    assert.match(second.stderr, /added 1 package\b/, 'npm unpacked the one new package into the kept tree');
    const warm = downloads(second.stderr);
    assert.deepEqual(warm.map((l) => /registry\.npmjs\.org\/([^/\s]+)/.exec(l)?.[1]), ['is-number'], `only the new package was downloaded:\n${warm.join('\n')}`);
    measured.set('Node app: downloads, first push / one dependency added', `${cold} / ${warm.length}`);
    assert.equal((await httpsGet(g, `${APP}.${domainOf(g)}`)).body, 'express v2 is-number(42)=true\n');
  });

  step('a BuildKit step that wants more than HIY_BUILD_MEMORY_MB is killed at that bound, and the box goes on', async () => {
    const g = guest();
    // The engine's BuildKit cgroup carries the build's bound (v1 here; v2 names the file memory.max).
    const limit = (await g.exec('sh', ['-c', 'cat /sys/fs/cgroup/memory/docker/buildkit/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/docker/buildkit/memory.max'])).stdout.trim();
    assert.equal(Number(limit), BUILD_MEMORY_MB * 1024 * 1024);
    const created = await hiyCli(g, ['create', GREEDY, '--port', '8080']);
    assert.equal(created.code, 0, created.stderr);
    const wc = await WorkingCopy.fromFixture(join(fixtures, 'busybox-app'));
    copies.push(wc);
    // 32 MB more per line, each written, until the kernel stops it.
    wc.write('Dockerfile', `FROM ${NODE_IMAGE}\nRUN --mount=type=cache,target=/c node -e "const a = []; for (let mb = 32; ; mb += 32) { a.push(Buffer.alloc(32 << 20, 1)); console.log('held ' + mb + ' MB'); }"\n`);
    await wc.commit('wants all the memory');
    const r = await push(g, wc, GREEDY);
    assert.notEqual(r.code, 0, 'the push fails');
    const held = [...r.stderr.matchAll(/held (\d+) MB/g)].map((m) => Number(m[1]));
    const most = Math.max(0, ...held);
    measured.set('BuildKit step memory: most held before the kill (bound)', `${most} MB (${BUILD_MEMORY_MB} MB)`);
    assert.ok(most >= 64 && most <= BUILD_MEMORY_MB, `the step held ${most} MB before it stopped (bound ${BUILD_MEMORY_MB} MB)\n${r.stderr.slice(-2000)}`);
    assert.match(r.stderr, /exit code: 137|signal: killed|Killed/, 'killed by the kernel, not by an error of its own');
    assert.equal(await apiHealthy(g), true);
    assert.equal((await httpsGet(g, `${APP}.${domainOf(g)}`)).body, 'express v2 is-number(42)=true\n', 'the other app still serves');
    await hiyCli(g, ['destroy', GREEDY, '--confirm', GREEDY]);
  });
}
