import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { apiClient, deployEnded, startHiy, type HiyProcess } from '../../harness/server.js';
import { remoteUrl, run, WorkingCopy } from '../../harness/git.js';
import { repoRoot } from '../../harness/paths.js';
import { cleanupByLabel, ensureDocker } from '../../harness/docker.js';
import { ensureBusyboxImage } from '../../harness/images.js';
import { curlApp } from '../../harness/app-http.js';

const APP = `rel-${randomBytes(3).toString('hex')}`;
const GOOD_DOCKERFILE = 'FROM hiy-test/busybox:1\nCOPY www /www\nCMD ["sh", "-c", "exec busybox httpd -f -p \\"$PORT\\" -h /www"]\n';

async function containers(app: string): Promise<string[]> {
  return (await run('docker', ['ps', '-aq', '--filter', `label=hiy.app=${app}`])).stdout.trim().split('\n').filter(Boolean);
}

async function images(app: string): Promise<string[]> {
  return (await run('docker', ['images', '--format', '{{.Repository}}:{{.Tag}}', `hiy/${app}`])).stdout.trim().split('\n').filter(Boolean);
}

describe('health-gated releases, rollback and image retention', { timeout: 900_000 }, () => {
  let hiy: HiyProcess;
  let wc: WorkingCopy;
  let api: ReturnType<typeof apiClient>;
  const push = async () => wc.push(remoteUrl(hiy.url, APP, hiy.token));
  const deployBody = async (body: string) => {
    wc.write('www/index.html', body);
    await wc.commit(body);
    const r = await push();
    assert.equal(r.code, 0, r.stderr);
  };

  before(async () => {
    await ensureDocker();
    await ensureBusyboxImage();
    hiy = await startHiy({ env: { HIY_KEEP_RELEASES: '2' } });
    api = apiClient(hiy);
    wc = await WorkingCopy.fromFixture(join(repoRoot(), 'tests', 'fixtures', 'busybox-app'));
    wc.write('Dockerfile', GOOD_DOCKERFILE);
    const created = await api('POST', '/apps', { name: APP, port: 8080, health_timeout_s: 6, drain_s: 2 });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await deployBody('v1\n');
    await deployBody('v2\n');
  });

  after(async () => {
    await hiy?.stop();
    wc?.remove();
    await cleanupByLabel(`hiy.app=${APP}`);
  });

  test('a release that never answers is removed, the push fails, and the old release keeps serving', async () => {
    wc.write('Dockerfile', 'FROM hiy-test/busybox:1\nCMD ["sleep", "3600"]\n');
    await wc.commit('never answers');
    const r = await push();
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /did not answer HTTP on \/ within 6 s/);
    assert.equal((await curlApp(hiy, APP)).body, 'v2\n');
    assert.equal((await containers(APP)).length, 1, 'only the serving container is left');
    await wc.git('reset', '-q', '--hard', 'HEAD~1');
  });

  test('a release that crashes at start fails the deploy with its own output in the log', async () => {
    wc.write('Dockerfile', 'FROM hiy-test/busybox:1\nCMD ["sh", "-c", "echo fatal: cannot reach the database >&2; exit 1"]\n');
    await wc.commit('crashes');
    const r = await push();
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /exited before it answered HTTP/);
    assert.match(r.stderr, /fatal: cannot reach the database/);
    const deploys = (await api('GET', `/apps/${APP}/deploys`)).body.deploys;
    const failed = (await api('GET', `/apps/${APP}/deploys/${deploys[0].id}`)).body.deploy;
    assert.equal(failed.status, 'failed');
    assert.match(failed.log, /fatal: cannot reach the database/);
    assert.equal((await curlApp(hiy, APP)).body, 'v2\n');
    assert.equal((await containers(APP)).length, 1);
    await wc.git('reset', '-q', '--hard', 'HEAD~1');
  });

  test('rollback releases the previous image without building, and releases mark the current one', async () => {
    const rb = await api('POST', `/apps/${APP}/rollback`, {});
    assert.equal(rb.status, 202, JSON.stringify(rb.body));
    assert.equal(rb.body.deploy.rollback_to, 1);
    const deploy = await deployEnded(api, APP, rb.body.deploy.id, 20_000);
    assert.equal(deploy.status, 'success', deploy.log);
    assert.equal(deploy.triggered_by, 'rollback');
    assert.doesNotMatch(deploy.log, /Step 1\//, 'nothing was built');
    assert.equal((await curlApp(hiy, APP)).body, 'v1\n');
    const rel = (await api('GET', `/apps/${APP}/releases`)).body;
    assert.equal(rel.current, 3);
    assert.deepEqual(rel.releases.filter((r: { current: boolean }) => r.current).map((r: { version: number }) => r.version), [3]);
    assert.equal(rel.releases.find((r: { version: number }) => r.version === 3).image, rel.releases.find((r: { version: number }) => r.version === 1).image);
  });

  test('rolling back to a named release works and an unknown one is a clear 404', async () => {
    const missing = await api('POST', `/apps/${APP}/rollback`, { version: 99 });
    assert.equal(missing.status, 404);
    assert.match(missing.body.error.message, /release v99/);
    const bad = await api('POST', `/apps/${APP}/rollback`, { version: '../1' });
    assert.equal(bad.status, 400);
  });

  test('after five more deploys only the current image and the two before it remain', async () => {
    for (let i = 3; i <= 7; i++) await deployBody(`v${i}\n`);
    assert.equal((await curlApp(hiy, APP)).body, 'v7\n');
    // Pruning follows the push's answer.
    await deployEnded(api, APP);
    const left = await images(APP);
    assert.equal(left.length, 3, `images left: ${left.join(', ')}`);
    assert.equal((await containers(APP)).length, 1);
  });
});
