import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { curlApp, findRootCert } from '../../harness/app-http.js';
import { cleanupByLabel, ensureDocker } from '../../harness/docker.js';
import { WorkingCopy } from '../../harness/git.js';
import { ensureNodeImage } from '../../harness/images.js';
import { startLoad } from '../../harness/load.js';
import { repoRoot } from '../../harness/paths.js';
import { createIndexApp, redeployUnderLoad, useNodeServer } from '../../harness/redeploy-under-load.js';
import { apiClient, deployEnded, startHiy, type HiyProcess } from '../../harness/server.js';

// Correctness, not speed: not one request may fail because of a deploy. bench/zero-downtime runs
// the same scenario with more load and more deploys and prints the figures.
test('keep-alive clients see no failed request across redeploys and a rollback', { timeout: 600_000 }, async () => {
  const r = await redeployUnderLoad({ deploys: 3, rollbacks: 1, keepAliveConnections: 8, freshConnectionLoops: 0 });
  assert.ok(r.sent > 500, `enough requests were sent (${r.sent})`);
  assert.equal(r.errors, 0, `connection errors: ${r.errorSamples.join('; ')}`);
  assert.equal(r.non2xx, 0, `non-2xx answers: ${r.errorSamples.join('; ')}`);
  for (const v of ['v0\n', 'v1\n', 'v2\n', 'v3\n']) assert.ok(r.bodies.has(v), `clients saw ${JSON.stringify(v)}`);
});

test('fresh-connection clients see no failed request across redeploys', { timeout: 600_000 }, async () => {
  const r = await redeployUnderLoad({ deploys: 3, rollbacks: 1, keepAliveConnections: 0, freshConnectionLoops: 4 });
  assert.ok(r.sent > 500, `enough requests were sent (${r.sent})`);
  assert.equal(r.errors, 0, `connection errors: ${r.errorSamples.join('; ')}`);
  assert.equal(r.non2xx, 0, `non-2xx answers: ${r.errorSamples.join('; ')}`);
});


async function withSlowApp(prefix: string, drainS: number, fn: (t: { hiy: HiyProcess; app: string; push: (body: string) => Promise<string>; target: { host: string; port: number; caFile: string } }) => Promise<void>): Promise<void> {
  await ensureDocker();
  await ensureNodeImage();
  const app = `${prefix}-${randomBytes(3).toString('hex')}`;
  const hiy = await startHiy();
  const wc = await WorkingCopy.fromFixture(join(repoRoot(), 'tests', 'fixtures', 'busybox-app'));
  try {
    useNodeServer(wc);
    const push = await createIndexApp(hiy, wc, app, drainS);
    await push('v0');
    // The push answers when v0 serves; its pruning ends the deploy a moment later, and the next
    // deploy waits for that: the scenarios start from an idle queue.
    await deployEnded(apiClient(hiy), app);
    assert.equal((await curlApp(hiy, app, '/echo')).body, 'GET v0');
    await fn({ hiy, app, push, target: { host: `${app}.localhost`, port: Number(hiy.env.HIY_HTTPS_PORT), caFile: findRootCert(hiy.dataDir)! } });
  } finally {
    await hiy.stop();
    wc.remove();
    await cleanupByLabel(`hiy.app=${app}`);
  }
}

test('an app that exits at once on SIGTERM: a slow request in flight across the switch gets its whole answer, and POSTs during deploys never fail', { timeout: 300_000 }, async () => {
  // The slow request (15 s) must still be in flight when v1 takes over: CI's loaded machine took
  // 7.5 s from push to switch. The drain (30 s) lets it finish.
  await withSlowApp('zs', 30, async ({ hiy, app, push, target }) => {
    const posts = startLoad({ ...target, path: '/echo', method: 'POST', body: 'x=1', keepAliveConnections: 2, freshConnectionLoops: 2 });
    const slowStarted = Date.now();
    const slow = curlApp(hiy, app, '/slow', 40).then((r) => ({ ...r, at: Date.now() }));
    await new Promise((r) => setTimeout(r, 300));
    const deploying = push('v1');
    let switchedAt = 0;
    while (Date.now() - slowStarted < 60_000) {
      if ((await curlApp(hiy, app)).body === 'v1') { switchedAt = Date.now(); break; }
      await new Promise((r) => setTimeout(r, 100));
    }
    const answer = await slow;
    const output = await deploying;
    const second = await push('v2');
    // The push answers the moment v2 takes requests; the POST loops need a moment to reach it.
    for (const t0 = Date.now(); !posts.seen('POST v2') && Date.now() - t0 < 15_000;) await new Promise((r) => setTimeout(r, 100));
    const report = await posts.stop();

    assert.ok(switchedAt > 0, 'v1 went live');
    assert.ok(switchedAt < answer.at, `the switch (${switchedAt - slowStarted} ms) came while the slow request was in flight (answered after ${answer.at - slowStarted} ms)`);
    assert.equal(answer.body, 'slow v0', `the slow request got its whole answer from the old release (curl exit ${answer.code}, status ${answer.status})`);
    assert.match(output, /Draining the old release/);
    assert.match(second, /Draining the old release/);
    assert.ok(report.sent > 100, `enough POSTs were sent (${report.sent})`);
    assert.equal(report.errors, 0, `POST connection errors: ${report.errorSamples.join('; ')}`);
    assert.equal(report.non2xx, 0, `POST non-2xx answers: ${report.errorSamples.join('; ')}`);
    const bodies = [...report.bodies.keys()];
    for (const v of ['POST v0', 'POST v1', 'POST v2']) assert.ok(report.bodies.has(v), `POSTs reached ${v.slice(5)}: ${bodies.join(', ')}`);
    assert.deepEqual(bodies.filter((b) => !/^POST v[012]$/.test(b)), [], 'every POST got its whole answer');
  });
});

test('scaling web 1 → 3 → 1 under load fails no request, and new replicas get traffic only once they answer', { timeout: 300_000 }, async () => {
  await withSlowApp('zc', 5, async ({ hiy, app, target }) => {
    const api = apiClient(hiy);
    const load = startLoad({ ...target, path: '/echo', method: 'POST', body: 'x=1', keepAliveConnections: 4, freshConnectionLoops: 2 });
    const hosts = startLoad({ ...target, path: '/host', keepAliveConnections: 2, freshConnectionLoops: 0 });
    await new Promise((r) => setTimeout(r, 500));
    const up = await api('POST', `/apps/${app}/ps/scale`, { formation: { web: 3 } });
    assert.equal(up.status, 200, JSON.stringify(up.body));
    await new Promise((r) => setTimeout(r, 1_500));
    const scaledUp = await hosts.stop();
    const down = await api('POST', `/apps/${app}/ps/scale`, { formation: { web: 1 } });
    assert.equal(down.status, 200, JSON.stringify(down.body));
    await new Promise((r) => setTimeout(r, 500));
    const report = await load.stop();
    const after = new Set<string>();
    for (let i = 0; i < 6; i++) after.add((await curlApp(hiy, app, '/host')).body);

    assert.equal(scaledUp.errors + scaledUp.non2xx, 0, scaledUp.errorSamples.join('; '));
    assert.equal(scaledUp.bodies.size, 3, `three containers answered after scaling up: ${[...scaledUp.bodies.keys()].join(', ')}`);
    assert.equal(after.size, 1, `one container answers after scaling down: ${[...after].join(', ')}`);
    assert.ok(report.sent > 100, `enough POSTs were sent (${report.sent})`);
    assert.equal(report.errors, 0, `POST connection errors: ${report.errorSamples.join('; ')}`);
    assert.equal(report.non2xx, 0, `POST non-2xx answers: ${report.errorSamples.join('; ')}`);
  });
});
