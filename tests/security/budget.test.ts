/**
 * An app's settings are the budget of all its containers together (docs/security.md, "Per-app
 * budget"). Before, limits were per container: an app set to 256 MB ran 13 Procfile types =
 * 3,328 MiB of limits and 3,328 pids. Here, with real pushes and the real engine:
 * - a 13-type Procfile is refused (at most 8 types), nothing runs;
 * - web + 3 workers split 256 MB / 1 CPU / 512 processes four ways, scaling re-splits the
 *   running containers in place, a formation spread thinner than 32 MB each is refused;
 * - a build does not start when the disk is below HIY_DISK_RESERVE_MB, and a build that writes
 *   into the reserve is stopped;
 * - an app whose containers write more than HIY_APP_DISK_MB to their own file systems gets fresh
 *   containers (what they wrote is removed).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { statfsSync } from 'node:fs';
import { join } from 'node:path';
import { apiClient, deployEnded, startHiy, type HiyProcess } from '../../harness/server.js';
import { remoteUrl, WorkingCopy } from '../../harness/git.js';
import { repoRoot } from '../../harness/paths.js';
import { cleanupByLabel, docker, ensureDocker, removeAppImages } from '../../harness/docker.js';
import { ensureBusyboxImage } from '../../harness/images.js';
import { sleep } from './support.js';

const MB = 1024 * 1024;
const fixture = join(repoRoot(), 'tests', 'fixtures', 'busybox-app');

interface Limits { name: string; memory: number; pids: number; nanoCpus: number }

async function limitsOf(app: string): Promise<Limits[]> {
  const ids = (await docker(['ps', '-q', '--filter', `label=hiy.app=${app}`])).stdout.trim().split('\n').filter(Boolean);
  if (ids.length === 0) return [];
  const r = await docker(['inspect', '--format', '{{.Name}} {{.HostConfig.Memory}} {{.HostConfig.PidsLimit}} {{.HostConfig.NanoCpus}}', ...ids]);
  return r.stdout.trim().split('\n').map((l) => {
    const [name, memory, pids, nanoCpus] = l.split(' ');
    return { name: name!, memory: Number(memory), pids: Number(pids), nanoCpus: Number(nanoCpus) };
  });
}

const freeMbOf = (path: string) => { const s = statfsSync(path); return Math.floor((s.bavail * s.bsize) / MB); };

describe('an app cannot exceed its budget', { timeout: 900_000 }, () => {
  const apps: string[] = [];
  const copies: WorkingCopy[] = [];
  const servers: HiyProcess[] = [];
  const newApp = (tag: string) => { const a = `sec-bud${tag}-${randomBytes(3).toString('hex')}`; apps.push(a); return a; };
  const copy = async () => { const wc = await WorkingCopy.fromFixture(fixture); copies.push(wc); return wc; };

  before(async () => {
    await ensureDocker();
    await ensureBusyboxImage();
  });

  after(async () => {
    for (const s of servers) await s.stop();
    for (const wc of copies) wc.remove();
    for (const a of apps) {
      await cleanupByLabel(`hiy.app=${a}`);
      await removeAppImages(a);
    }
  });

  async function server(env: Record<string, string> = {}): Promise<{ hiy: HiyProcess; api: ReturnType<typeof apiClient> }> {
    const hiy = await startHiy({ env });
    servers.push(hiy);
    return { hiy, api: apiClient(hiy) };
  }

  test('a Procfile with 13 process types is refused; web + 3 workers share 256 MB; scaling re-splits or is refused', async () => {
    const { hiy, api } = await server();
    const thirteen = newApp('13');
    assert.equal((await api('POST', '/apps', { name: thirteen, port: 8080, memory_mb: 256 })).status, 201);
    const wc = await copy();
    const workers = Array.from({ length: 11 }, (_, i) => `w${i}: sleep 100000`);
    wc.write('Procfile', ['web: httpd -f -p $PORT -h /www', 'release: true', ...workers, ''].join('\n'));
    await wc.commit('13 process types');
    const refused = await wc.push(remoteUrl(hiy.url, thirteen, hiy.token));
    assert.notEqual(refused.code, 0, 'the push is refused');
    assert.match(refused.stderr, /Procfile defines 13 process types; an app may have at most 8/);
    assert.deepEqual(await limitsOf(thirteen), [], 'nothing runs');

    const four = newApp('4');
    assert.equal((await api('POST', '/apps', { name: four, port: 8080, memory_mb: 256, cpus: 1 })).status, 201);
    const wc4 = await copy();
    wc4.write('Procfile', 'web: httpd -f -p $PORT -h /www\nw1: sleep 100000\nw2: sleep 100000\nw3: sleep 100000\n');
    await wc4.commit('web and three workers');
    const pushed = await wc4.push(remoteUrl(hiy.url, four, hiy.token));
    assert.equal(pushed.code, 0, pushed.stderr);
    assert.match(pushed.stderr, /4 containers share 256 MB: 64 MB, 0\.25 CPU and 128 processes each/);
    // The push answers once web serves; the workers start after the switch (decision 32).
    assert.equal((await deployEnded(api, four)).status, 'success');
    let limits = await limitsOf(four);
    assert.equal(limits.length, 4);
    for (const l of limits) assert.deepEqual([l.memory, l.pids, l.nanoCpus], [64 * MB, 128, 0.25e9], l.name);
    assert.ok(limits.reduce((a, l) => a + l.memory, 0) <= 256 * MB, 'the total stays within memory_mb');

    // Two more workers: six containers, 42 MB each; the running ones shrink in place.
    const scaled = await api('POST', `/apps/${four}/ps/scale`, { formation: { w1: 3 } });
    assert.equal(scaled.status, 200, JSON.stringify(scaled.body));
    limits = await limitsOf(four);
    assert.equal(limits.length, 6);
    for (const l of limits) assert.deepEqual([l.memory, l.pids], [42 * MB, 85], l.name);
    assert.ok(limits.reduce((a, l) => a + l.memory, 0) <= 256 * MB);
    assert.ok(limits.reduce((a, l) => a + l.pids, 0) <= 512);

    // Thirteen containers would get 19 MB each: refused, nothing changes.
    const tooMany = await api('POST', `/apps/${four}/ps/scale`, { formation: { w2: 8 } });
    assert.equal(tooMany.status, 400);
    assert.match(tooMany.body.error.message, /would run 13 containers .* it can run 8\. Scale process types down/);
    assert.equal((await limitsOf(four)).length, 6);
  });

  test('a build does not start below HIY_DISK_RESERVE_MB, and one that writes into the reserve is stopped', async () => {
    const free = freeMbOf('/var/lib/docker');
    // Pre-check: a reserve larger than the free space refuses the build before it runs.
    const { hiy: full, api: fullApi } = await server({ HIY_DISK_RESERVE_MB: String(free + 100_000) });
    const nope = newApp('full');
    assert.equal((await fullApi('POST', '/apps', { name: nope, port: 8080 })).status, 201);
    const wc = await copy();
    const r = await wc.push(remoteUrl(full.url, nope, full.token));
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /the build did not start: the disk holding \S+ has \d+ MB free, less than the \d+ MB reserve \(HIY_DISK_RESERVE_MB\)/);

    // While building: 1.5 GB of head room, a RUN step writing 6 GB. The build must be stopped
    // long before it fills the disk, and what it wrote must go.
    const { hiy, api } = await server({ HIY_DISK_RESERVE_MB: String(Math.max(0, freeMbOf('/var/lib/docker') - 1500)) });
    const filler = newApp('fill');
    assert.equal((await api('POST', '/apps', { name: filler, port: 8080 })).status, 201);
    const wcf = await copy();
    wcf.write('Dockerfile', `FROM hiy-test/busybox:1\nRUN echo ${randomBytes(6).toString('hex')} && dd if=/dev/zero of=/fill bs=1M count=6000\nCMD ["httpd", "-f", "-p", "8080"]\n`);
    await wcf.commit('a build that fills the disk');
    const before = freeMbOf('/var/lib/docker');
    const stopped = await wcf.push(remoteUrl(hiy.url, filler, hiy.token));
    assert.notEqual(stopped.code, 0);
    assert.match(stopped.stderr, /the build was stopped: the disk holding \S+ fell to \d+ MB free, below the \d+ MB reserve/);
    // The engine removes the stopped build's container (and its gigabytes) in the background.
    for (let i = 0; i < 60 && freeMbOf('/var/lib/docker') < before - 500; i++) await sleep(500);
    assert.ok(freeMbOf('/var/lib/docker') >= before - 500, 'the build\'s writes were removed with its container');
  });

  test('an app whose containers write more than HIY_APP_DISK_MB gets fresh containers', async () => {
    const { hiy, api } = await server({ HIY_APP_DISK_MB: '64', HIY_DISK_CHECK_INTERVAL: '2' });
    const writer = newApp('wr');
    assert.equal((await api('POST', '/apps', { name: writer, port: 8080 })).status, 201);
    const wc = await copy();
    // 100 MB into the container's own file system at every start, then serve.
    wc.write('Procfile', 'web: dd if=/dev/zero of=/tmp/fill bs=1M count=100 && exec httpd -f -p $PORT -h /www\n');
    await wc.commit('writes 100 MB at start');
    const pushed = await wc.push(remoteUrl(hiy.url, writer, hiy.token));
    assert.equal(pushed.code, 0, pushed.stderr);
    const first = (await docker(['ps', '-q', '--no-trunc', '--filter', `label=hiy.app=${writer}`])).stdout.trim();
    assert.ok(first);
    let deploys: { id: number; triggered_by: string }[] = [];
    for (let i = 0; i < 60 && deploys.length < 2; i++) {
      await sleep(1000);
      deploys = (await api('GET', `/apps/${writer}/deploys`)).body.deploys;
    }
    assert.ok(deploys.length >= 2, 'the guard restarted the app');
    assert.match(hiy.output(), /"event":"disk_budget".*"app":"sec-budwr-[0-9a-f]+"/);
    for (let i = 0; i < 60; i++) {
      if (!(await docker(['ps', '-aq', '--no-trunc', '--filter', `label=hiy.app=${writer}`])).stdout.includes(first)) break;
      await sleep(1000);
    }
    assert.doesNotMatch((await docker(['ps', '-aq', '--no-trunc', '--filter', `label=hiy.app=${writer}`])).stdout, new RegExp(first), 'the container over budget, and what it wrote, were removed');
  });
});
