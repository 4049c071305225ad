/**
 * Builds that attack the machine: a fork bomb, a memory hog and CPU spinners. Each is contained
 * (the pids limit of the build cgroup, the build memory limit, the build timeout, a low CPU
 * weight) and fails with a clear message, while hiy's API, the dashboard and another app keep
 * answering; afterwards none of its processes is left. Short by design: a 20 s build timeout.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { apiClient, startHiy, type HiyProcess } from '../../harness/server.js';
import { remoteUrl, WorkingCopy } from '../../harness/git.js';
import { repoRoot } from '../../harness/paths.js';
import { cleanupByLabel, ensureDocker, httpGet } from '../../harness/docker.js';
import { ensureBusyboxImage } from '../../harness/images.js';
import { curlApp } from '../../harness/app-http.js';
import { killProcessesMentioning, pidsMentioning } from '../helpers/processes.js';
import { sleep } from './support.js';

const SUFFIX = randomBytes(3).toString('hex');
const APP = `sec-rs-${SUFFIX}`;
const OTHER = `sec-rs2-${SUFFIX}`;
const PIDS_FILE = ['/sys/fs/cgroup/pids/hiy-build/pids.current', '/sys/fs/cgroup/hiy-build/pids.current'].find(existsSync) ?? '/sys/fs/cgroup/pids/hiy-build/pids.current';

describe('builds that attack the machine are contained', { timeout: 300_000 }, () => {
  let hiy: HiyProcess;
  let api: ReturnType<typeof apiClient>;
  let wc: WorkingCopy;
  const markers: string[] = [];

  before(async () => {
    await ensureDocker();
    await ensureBusyboxImage();
    hiy = await startHiy({ env: { HIY_BUILD_TIMEOUT: '20', HIY_BUILD_MEMORY_MB: '128' } });
    api = apiClient(hiy);
    for (const name of [APP, OTHER]) assert.equal((await api('POST', '/apps', { name, port: 8080 })).status, 201);
    const other = await WorkingCopy.fromFixture(join(repoRoot(), 'tests', 'fixtures', 'busybox-app'));
    other.write('www/index.html', 'still here\n');
    await other.commit('other');
    const pushed = await other.push(remoteUrl(hiy.url, OTHER, hiy.token));
    other.remove();
    assert.equal(pushed.code, 0, pushed.stderr);
    wc = await WorkingCopy.fromFixture(join(repoRoot(), 'tests', 'fixtures', 'busybox-app'));
  });

  after(async () => {
    // Whatever happened, no attacking process outlives the test.
    for (const m of markers) killProcessesMentioning(m);
    await hiy?.stop();
    wc?.remove();
    await cleanupByLabel(`hiy.app=${APP}`);
    await cleanupByLabel(`hiy.app=${OTHER}`);
  });

  /** Pushes a Dockerfile whose RUN step is `script`; meanwhile checks every 2 s that everyone else answers. */
  async function attack(script: string): Promise<{ push: { code: number; stderr: string }; answers: number; peakPids: number }> {
    const marker = `hiy-attack-${randomBytes(4).toString('hex')}`;
    markers.push(marker);
    wc.write('Dockerfile', `FROM hiy-test/busybox:1\nRUN sh -c '${script}' ${marker}\nCMD ["httpd", "-f", "-p", "8080"]\n`);
    await wc.commit(marker);
    const pushing = wc.push(remoteUrl(hiy.url, APP, hiy.token));
    let done = false;
    void pushing.then(() => { done = true; });
    let answers = 0;
    let peakPids = 0;
    while (!done) {
      await sleep(2000);
      if (done) break;
      try { peakPids = Math.max(peakPids, Number(readFileSync(PIDS_FILE, 'utf8'))); } catch { /* not there yet */ }
      const health = await httpGet(`${hiy.url}/api/v1/health`, 10_000);
      assert.equal(health.status, 200, 'hiy answers');
      assert.equal((await httpGet(`${hiy.url}/login`, 10_000)).status, 200, 'the dashboard answers');
      assert.equal((await curlApp(hiy, OTHER)).body, 'still here\n', 'the other app answers');
      answers++;
    }
    const push = await pushing;
    // The build's processes are gone, not just its HTTP stream.
    for (let i = 0; i < 20 && pidsMentioning(marker).length > 0; i++) await sleep(500);
    assert.deepEqual(pidsMentioning(marker), [], 'no process of the attacking build is left');
    await wc.git('reset', '-q', '--hard', 'HEAD~1');
    return { push, answers, peakPids };
  }

  test('a fork bomb hits the build pids limit, is stopped by the build timeout, and everything else keeps answering', async () => {
    const r = await attack('b(){ b | b & }; b; sleep 600');
    assert.notEqual(r.push.code, 0);
    assert.match(r.push.stderr, /took longer than 20 s and was stopped/);
    assert.ok(r.answers >= 3, `checked others while the bomb ran (${r.answers} rounds)`);
    // The limit is the build cgroup's (build-cgroup.ts): the bomb ran inside it and filled it, no more.
    assert.equal(readFileSync(PIDS_FILE.replace('pids.current', 'pids.max'), 'utf8').trim(), '1024');
    assert.ok(r.peakPids > 0 && r.peakPids <= 1024, `the build cgroup held ${r.peakPids} processes at most`);
    console.log(`# fork bomb: peak ${r.peakPids} processes in the build cgroup, ${r.answers} rounds of answers`);
  });

  test('a build that fills memory is killed at the build memory limit', async () => {
    const r = await attack('x=aaaaaaaaaaaaaaaa; while :; do x="$x$x"; done');
    assert.notEqual(r.push.code, 0);
    assert.match(r.push.stderr, /returned a non-zero code: 137|took longer than/);
    assert.match(r.push.stderr, /Deploy failed/);
  });

  test('a build spinning every core does not stop hiy, the dashboard or the other app from answering', async () => {
    const r = await attack('for i in 1 2 3 4; do (while :; do :; done) & done; sleep 10; exit 3');
    assert.notEqual(r.push.code, 0);
    assert.match(r.push.stderr, /returned a non-zero code: 3/);
    assert.ok(r.answers >= 2, `checked others while the build spun (${r.answers} rounds)`);
  });

  test('no container, image or release came out of the attacks', async () => {
    const deploys = (await api('GET', `/apps/${APP}/deploys`)).body.deploys as { status: string }[];
    assert.equal(deploys.length, 3);
    assert.ok(deploys.every((d) => d.status === 'failed'));
    assert.equal((await api('GET', `/apps/${APP}`)).body.app.current_release, null);
    assert.equal((await curlApp(hiy, OTHER)).body, 'still here\n');
  });
});
