/**
 * Losing a node under load, on a real three-node Swarm (harness/swarm.ts): an app with one web
 * replica on each node, and the load helper's keep-alive and fresh-connection loops through Caddy.
 * First `hiy nodes:remove` of node 3 (drain, then remove: its replica moves), then node 2 dies
 * whole (`killNode`: every process of it killed and its link cut, as a box losing power): its
 * replica is rescheduled, `hiy nodes` says it is down, and it becomes an incident.
 * Three nodes so that after the removal a replica still sits on a node that can die.
 * The tests run in order on one Swarm and one hiy.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { curlApp, findRootCert } from '../../harness/app-http.js';
import { ensureDocker } from '../../harness/docker.js';
import type { WorkingCopy } from '../../harness/git.js';
import { BUSYBOX_IMAGE, ensureBusyboxImage } from '../../harness/images.js';
import type { LoadOptions, LoadReport } from '../../harness/load.js';
import { apiClient, deployEnded, type HiyProcess } from '../../harness/server.js';
import { startSwarm, type TestSwarm } from '../../harness/swarm.js';
import { cgiApp, startHiyOnSwarm, underLoad as underLoadOf, webTasks as webTasksOn } from '../../harness/swarm-apps.js';
import type { NodesAnswer } from '../../src/contract.js';
import { runHiy } from '../helpers/processes.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('losing a node under load (three-node Swarm)', { timeout: 900_000 }, () => {
  let swarm: TestSwarm;
  let hiy: HiyProcess;
  let api: ReturnType<typeof apiClient>;
  let wc: WorkingCopy | undefined;
  const app = `nl-${randomBytes(3).toString('hex')}`;
  let target: { host: string; port: number; caFile: string };

  const webTasks = () => webTasksOn(swarm, app);
  const nodesOf = async () => (await webTasks()).map((t) => t.node).sort();
  const underLoad = (o: Partial<LoadOptions>, fn: () => Promise<void>): Promise<LoadReport> => underLoadOf({ ...target, ...o }, fn);
  const cli = (...args: string[]) => runHiy(args, { HIY_URL: hiy.url, HIY_TOKEN: hiy.token }, 400_000);
  const nodes = async (): Promise<NodesAnswer> => {
    const r = await cli('nodes', '--json');
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as NodesAnswer;
  };

  before(async () => {
    await ensureDocker();
    await ensureBusyboxImage();
    swarm = await startSwarm({ nodes: 3 });
    await swarm.loadImages([BUSYBOX_IMAGE], [0]);
    // A node down for 2 s is an incident (checked every second), so the test sees the alert path.
    ({ hiy } = await startHiyOnSwarm(swarm, { HIY_ALERT_HEALTH_AFTER: '2', HIY_ALERT_CHECK_INTERVAL: '1' }));
    api = apiClient(hiy);
    const site = await cgiApp(() => hiy, api, app);
    wc = site.wc;
    const pushed = await site.push('v1\n');
    assert.equal(pushed.code, 0, pushed.stderr);
    await deployEnded(api, app);
    const up = await api('POST', `/apps/${app}/ps/scale`, { formation: { web: 3 } });
    assert.equal(up.status, 200, JSON.stringify(up.body));
    target = { host: `${app}.localhost`, port: Number(hiy.env.HIY_HTTPS_PORT), caFile: findRootCert(hiy.dataDir)! };
  });
  after(async () => {
    await hiy?.stop();
    if (hiy) rmSync(hiy.dataDir, { recursive: true, force: true });
    wc?.remove();
    await swarm?.teardown();
  });

  test('hiy nodes:remove drains node 3 under load: its replica moves, no request fails, the node is gone', async () => {
    assert.deepEqual(await nodesOf(), [0, 1, 2], 'one web replica on each node');
    const n3 = swarm.nodes[2]!.hostname;
    let took = 0;
    const r = await underLoad({ path: '/cgi-bin/host' }, async () => {
      await sleep(1000);
      const t0 = Date.now();
      const removed = await cli('nodes:remove', n3, '--confirm', n3);
      took = Date.now() - t0;
      assert.equal(removed.code, 0, removed.stderr + removed.stdout);
      await sleep(2000);
    });
    console.log(`nodes:remove of node 3 under load: ${(took / 1000).toFixed(1)} s; ${r.sent} requests, ${r.errors} errors, ${r.non2xx} non-2xx, ${r.bodies.size} tasks answered, longest ${r.longestMs} ms`);
    assert.ok(r.sent > 100, `enough requests were sent (${r.sent})`);
    assert.equal(r.errors, 0, `connection errors: ${r.errorSamples.join('; ')}`);
    assert.equal(r.non2xx, 0, `non-2xx answers: ${r.errorSamples.join('; ')}`);
    const placed = await nodesOf();
    assert.equal(placed.length, 3, `still three web replicas: ${placed.join()}`);
    assert.ok(placed.every((n) => n !== 2), `none on node 3: ${placed.join()}`);
    const left = await nodes();
    assert.deepEqual(left.nodes.map((n) => n.name).sort(), [swarm.nodes[0]!.hostname, swarm.nodes[1]!.hostname].sort(), 'node 3 is gone from hiy nodes');
    assert.equal((await curlApp(hiy, app)).body, 'v1\n');
  });

  test('node 2 dies whole under load: its replica is rescheduled, hiy nodes shows it down, an incident opens', async () => {
    const before = await nodesOf();
    assert.ok(before.includes(1), `a replica on node 2: ${before.join()}`);
    const n2 = swarm.nodes[1]!.hostname;
    let killedAt = 0;
    let moved = 0;
    const r = await underLoad({ path: '/cgi-bin/host' }, async () => {
      await sleep(1000);
      killedAt = Date.now();
      await swarm.killNode(1);
      while (Date.now() - killedAt < 120_000) {
        const placed = await nodesOf();
        if (placed.length === 3 && placed.every((n) => n === 0)) { moved = Date.now(); break; }
        await sleep(500);
      }
      await sleep(2000);
    });
    const tail = r.lastFailureAt ? `; failures from +${((r.firstFailureAt - killedAt) / 1000).toFixed(1)} s to +${((r.lastFailureAt - killedAt) / 1000).toFixed(1)} s` : '';
    console.log(`node 2 killed: its replica ran on node 1 after ${((moved - killedAt) / 1000).toFixed(1)} s; ${r.sent} requests, ${r.errors} errors, ${r.non2xx} non-2xx, longest ${r.longestMs} ms${tail}`);
    assert.ok(moved > 0, 'every web replica runs on node 1 within 120 s');
    assert.equal(r.errors, 0, `connection errors: ${r.errorSamples.join('; ')}`);
    assert.equal(r.non2xx, 0, `non-2xx answers: ${r.errorSamples.join('; ')}`);

    const down = (await nodes()).nodes.find((n) => n.name === n2);
    assert.equal(down?.state, 'down', `hiy nodes shows node 2 down: ${JSON.stringify(down)}`);
    let incident: { kind: string; message: string } | undefined;
    for (let i = 0; i < 60 && !incident; i++) {
      const alerts = await api('GET', '/alerts?open=1');
      assert.equal(alerts.status, 200, JSON.stringify(alerts.body));
      incident = (alerts.body as { alerts: { kind: string; message: string }[] }).alerts.find((a) => a.kind === 'node' && a.message.includes(n2));
      if (!incident) await sleep(500);
    }
    assert.ok(incident, 'node 2 down is an open incident');
    assert.match(incident.message, /is down/);
  });
});
