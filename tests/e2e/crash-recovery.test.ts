import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { apiClient, removeDataDir, startHiy, type HiyProcess } from '../../harness/server.js';
import { remoteUrl, run, WorkingCopy } from '../../harness/git.js';
import { repoRoot } from '../../harness/paths.js';
import { cleanupByLabel, ensureDocker } from '../../harness/docker.js';
import { ensureBusyboxImage } from '../../harness/images.js';
import { curlApp } from '../../harness/app-http.js';
import { killProcessesMentioning } from '../helpers/processes.js';

const APP = `crash-${randomBytes(3).toString('hex')}`;
// Ignores SIGTERM, so `docker stop` of an old release takes the whole drain time: a window to crash in.
const STUBBORN = (extra = '') => `FROM hiy-test/busybox:1\n${extra}COPY www /www\nCMD ["sh", "-c", "trap '' TERM; exec busybox httpd -f -p \\"$PORT\\" -h /www"]\n`;

describe('kill -9 of hiy at any moment leaves one serving release', { timeout: 900_000 }, () => {
  let hiy: HiyProcess;
  let wc: WorkingCopy;
  let dataDir: string;

  const api = () => apiClient(hiy);

  async function latestDeploy(): Promise<{ id: number; status: string; log: string }> {
    const list = (await api()('GET', `/apps/${APP}/deploys?limit=1`)).body.deploys;
    return (await api()('GET', `/apps/${APP}/deploys/${list[0].id}`)).body.deploy;
  }

  /**
   * Pushes `body` with `dockerfile`, SIGKILLs hiy once the deploy log matches `when`, restarts hiy.
   * `live`: the crash comes after the switch, when the push has had its answer (ok) already.
   */
  async function crashDuring(when: RegExp, dockerfile: string, body: string, live = false): Promise<number> {
    wc.write('Dockerfile', dockerfile);
    wc.write('www/index.html', body);
    await wc.commit(body);
    const pushing = wc.push(remoteUrl(hiy.url, APP, hiy.token));
    let seen = false;
    for (let i = 0; i < 600 && !seen; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const d = await latestDeploy().catch(() => undefined);
      seen = !!d && d.log.length > 0 && when.test(d.log) && d.status === 'building';
    }
    assert.ok(seen, `the deploy log reached ${when}`);
    const crashedId = (await latestDeploy()).id;
    hiy.proc.kill('SIGKILL');
    await new Promise((r) => hiy.proc.once('exit', r));
    const pushed = await pushing;
    if (live) assert.equal(pushed.code, 0, `the release went live before the crash: ${pushed.stderr}`);
    else assert.notEqual(pushed.code, 0, 'the push of a crashed deploy does not report success');
    hiy = await startHiy({ dataDir, keepDataDir: true, env: hiy.env });
    return crashedId;
  }

  async function assertConsistent(expectBody: string): Promise<void> {
    const list = (await api()('GET', `/apps/${APP}/deploys?limit=50`)).body.deploys as { status: string }[];
    assert.equal(list.filter((d) => d.status === 'queued' || d.status === 'building').length, 0, 'no deploy stuck in flight');
    const all = (await run('docker', ['ps', '-a', '--format', '{{.Names}} {{.State}}', '--filter', `label=hiy.app=${APP}`])).stdout.trim().split('\n').filter(Boolean);
    assert.equal(all.length, 1, `exactly one container of the app, got: ${all.join('; ')}`);
    assert.match(all[0]!, / running$/);
    assert.equal((await curlApp(hiy, APP)).body, expectBody);
  }

  before(async () => {
    await ensureDocker();
    await ensureBusyboxImage();
    hiy = await startHiy({ keepDataDir: true });
    dataDir = hiy.dataDir;
    wc = await WorkingCopy.fromFixture(join(repoRoot(), 'tests', 'fixtures', 'busybox-app'));
    assert.equal((await api()('POST', '/apps', { name: APP, port: 8080, health_timeout_s: 30, drain_s: 6 })).status, 201);
    wc.write('Dockerfile', STUBBORN());
    wc.write('www/index.html', 'v1\n');
    await wc.commit('v1');
    const r = await wc.push(remoteUrl(hiy.url, APP, hiy.token));
    assert.equal(r.code, 0, r.stderr);
  });

  after(async () => {
    await hiy?.stop();
    killProcessesMentioning(dataDir);
    await removeDataDir(dataDir);
    wc?.remove();
    await cleanupByLabel(`hiy.app=${APP}`);
  });

  test('during the build: the old release keeps serving, the deploy is marked interrupted', async () => {
    // The app name makes the step new to the engine's cache, so the build really sleeps.
    const id = await crashDuring(/RUN sleep 20/, STUBBORN(`RUN sleep 20 # ${APP}\n`), 'during build\n');
    await assertConsistent('v1\n');
    const d = (await api()('GET', `/apps/${APP}/deploys/${id}`)).body.deploy;
    assert.equal(d.status, 'failed');
    assert.match(d.error, /interrupted/);
  });

  test('during the health wait: the half-started release is removed, the old one serves', async () => {
    const slowStart = 'FROM hiy-test/busybox:1\nCOPY www /www\nCMD ["sh", "-c", "sleep 20; exec busybox httpd -f -p \\"$PORT\\" -h /www"]\n';
    await crashDuring(/Waiting for the release to answer/, slowStart, 'during health wait\n');
    await assertConsistent('v1\n');
  });

  test('right after the switch: the new release serves and the old one is gone', async () => {
    const id = await crashDuring(/Draining the old release/, STUBBORN(), 'after switch\n', true);
    await assertConsistent('after switch\n');
    const d = (await api()('GET', `/apps/${APP}/deploys/${id}`)).body.deploy;
    assert.equal(d.status, 'success', 'its release went live, so the deploy counts as a success');
  });
});
