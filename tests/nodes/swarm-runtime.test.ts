/**
 * hiy on a real two-node Swarm (harness/swarm.ts): hiy drives node 1's engine (HIY_DOCKER_HOST),
 * HIY_RUNTIME=auto sees a manager of two nodes and runs app processes as services; Caddy on this
 * host reaches the slot ports on both nodes over the nodes' network. Images built on node 1 reach
 * node 2 through hiy's registry (harness/swarm-apps.ts startHiyOnSwarm; registry-deploy.test.ts
 * proves that path in detail).
 * The tests run in order on one Swarm and one hiy: each builds on the state the previous left.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { curlApp, findRootCert } from '../../harness/app-http.js';
import { ensureDocker } from '../../harness/docker.js';
import type { WorkingCopy } from '../../harness/git.js';
import { BUSYBOX_IMAGE, ensureBusyboxImage } from '../../harness/images.js';
import type { LoadOptions, LoadReport } from '../../harness/load.js';
import { apiClient, deployEnded, startHiy, type HiyProcess } from '../../harness/server.js';
import { startSwarm, type TestSwarm } from '../../harness/swarm.js';
import { cgiApp, startHiyOnSwarm, underLoad as underLoadOf, webTasks as webTasksOn, type TaskContainer } from '../../harness/swarm-apps.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('hiy on a two-node Swarm', { timeout: 900_000 }, () => {
  let swarm: TestSwarm;
  let hiy: HiyProcess;
  let api: ReturnType<typeof apiClient>;
  const wcs: WorkingCopy[] = [];
  const app = `sw-${randomBytes(3).toString('hex')}`;
  const other = `so-${randomBytes(3).toString('hex')}`;
  let push: (body: string) => Promise<string>;
  let target: { host: string; port: number; caFile: string };

  const webTasks = (name: string) => webTasksOn(swarm, name);

  /** What hiy was started with (harness/swarm-apps.ts: its images reach node 2 through its registry). */
  let hiyEnv: Record<string, string>;

  /** Creates the app; the push goes to the hiy of the moment (the restart test replaces it). */
  async function appWithCgi(name: string): Promise<(body: string) => Promise<string>> {
    const site = await cgiApp(() => hiy, api, name);
    wcs.push(site.wc);
    return async (body) => {
      const r = await site.push(body);
      assert.equal(r.code, 0, r.stderr);
      return r.stderr;
    };
  }

  /** Load through Caddy while `fn` runs (harness/swarm-apps.ts). */
  const underLoad = (o: Partial<LoadOptions>, fn: () => Promise<void>): Promise<LoadReport> => underLoadOf({ ...target, ...o }, fn);

  before(async () => {
    await ensureDocker();
    await ensureBusyboxImage();
    swarm = await startSwarm({ nodes: 2 });
    // The base image of the app's Dockerfile, where hiy builds (node 1).
    await swarm.loadImages([BUSYBOX_IMAGE], [0]);
    ({ hiy, env: hiyEnv } = await startHiyOnSwarm(swarm));
    api = apiClient(hiy);
    push = await appWithCgi(app);
  });
  after(async () => {
    await hiy?.stop();
    if (hiy) rmSync(hiy.dataDir, { recursive: true, force: true });
    for (const wc of wcs) wc.remove();
    await swarm?.teardown();
  });

  test('push → live: web replicas run as services on both nodes, Caddy routes to both', async () => {
    const t0 = Date.now();
    await push('v0\n');
    console.log(`push to live (one replica, first build): ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    await deployEnded(api, app);
    assert.equal((await curlApp(hiy, app)).body, 'v0\n');
    assert.match(hiy.output(), /Swarm manager: app processes run as services/);

    const up = await api('POST', `/apps/${app}/ps/scale`, { formation: { web: 2 } });
    assert.equal(up.status, 200, JSON.stringify(up.body));
    const tasks = await webTasks(app);
    const placed = tasks.map((t) => t.node).sort();
    if (placed.join() !== '0,1') console.log((await swarm.docker(0, ['service', 'ps', '--no-trunc', ...tasks.map((t) => t.service)])).stdout, hiy.output().split('\n').filter((l) => /service|image/.test(l)).slice(-20).join('\n'));
    assert.deepEqual(placed, [0, 1], `one web replica on each node: ${JSON.stringify(tasks)}`);
    const answered = new Set<string>();
    for (let i = 0; i < 12; i++) answered.add((await curlApp(hiy, app, '/cgi-bin/host')).body.trim());
    assert.equal(answered.size, 2, `both replicas answered through Caddy: ${[...answered].join(', ')}`);
    target = { host: `${app}.localhost`, port: Number(hiy.env.HIY_HTTPS_PORT), caFile: findRootCert(hiy.dataDir)! };
  });

  test('at a restart, a plain container left from before the Swarm is removed; the services keep serving', async () => {
    const { dataDir } = hiy;
    await hiy.stop();
    const instance = readFileSync(join(dataDir, 'instance-id'), 'utf8').trim();
    const deploy = (await swarm.docker(0, ['service', 'inspect', '--format', '{{index .Spec.Labels "hiy.deploy"}}', (await webTasks(app))[0]!.service])).stdout.trim();
    const leftover = await swarm.docker(0, ['run', '-d', '--name', `hiy-${app}-web-left0ver`, '--label', 'hiy.managed=1', '--label', `hiy.app=${app}`, '--label', `hiy.instance=${instance}`,
      '--label', 'hiy.process=web', '--label', `hiy.deploy=${deploy}`, '--label', 'hiy.replica=0', '--label', 'hiy.slot=a', BUSYBOX_IMAGE, 'sleep', '600']);
    assert.equal(leftover.code, 0, leftover.stderr);
    const before = (await webTasks(app)).map((t) => t.service).sort();
    hiy = await startHiy({ dataDir, keepDataDir: true, env: hiyEnv });
    api = apiClient(hiy);
    target = { host: `${app}.localhost`, port: Number(hiy.env.HIY_HTTPS_PORT), caFile: findRootCert(hiy.dataDir)! };
    let gone = false;
    for (let i = 0; i < 100 && !gone; i++) {
      gone = (await swarm.docker(0, ['ps', '-aq', '--filter', `name=hiy-${app}-web-left0ver`])).stdout.trim() === '';
      if (!gone) await sleep(200);
    }
    assert.ok(gone, 'reconciliation removed the leftover container');
    assert.deepEqual((await webTasks(app)).map((t) => t.service).sort(), before, 'the services were left as they were');
    assert.equal((await curlApp(hiy, app)).body, 'v0\n');
  });

  test('hardening, inspected on a task on each node', async () => {
    const tasks = await webTasks(app);
    assert.deepEqual([...new Set(tasks.map((t) => t.node))].sort(), [0, 1]);
    for (const t of tasks) {
      const r = await swarm.docker(t.node, ['inspect', '--format', '{{json .HostConfig}}', t.id]);
      const hc = JSON.parse(r.stdout) as Record<string, any>;
      assert.deepEqual(hc.CapDrop, ['ALL'], `node ${t.node + 1}: no capabilities`);
      assert.ok(!hc.CapAdd?.length, `node ${t.node + 1}: none given back`);
      assert.equal(hc.Privileged, false);
      assert.ok(hc.PidsLimit > 0 && hc.PidsLimit <= 256, `node ${t.node + 1}: pids limit ${hc.PidsLimit}`);
      assert.ok(hc.Memory > 0, `node ${t.node + 1}: a memory limit`);
      assert.ok(hc.NanoCpus > 0, `node ${t.node + 1}: a CPU limit`);
      assert.equal(hc.Init, true);
      assert.deepEqual(hc.LogConfig, { Type: 'json-file', Config: { 'max-file': '3', 'max-size': '10m' } });
      assert.ok(!(hc.Binds?.length), 'no host mounts');
      // Engine 20.10's service API cannot carry no-new-privileges (docs/security.md): what stands
      // in is an empty bounding set, so a setuid binary gains no capability.
      const status = await swarm.docker(t.node, ['exec', t.id, 'cat', '/proc/1/status']);
      assert.match(status.stdout, /CapBnd:\s+0000000000000000/, `node ${t.node + 1}: empty bounding set`);
      assert.match(status.stdout, /CapEff:\s+0000000000000000/);
      const nets = await swarm.docker(t.node, ['inspect', '--format', '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}', t.id]);
      assert.deepEqual(nets.stdout.trim().split(' '), [`hiy-${app}`], `node ${t.node + 1}: only the app's own network`);
    }
    const net = await swarm.docker(0, ['network', 'inspect', '--format', '{{.Driver}} {{.Scope}}', `hiy-${app}`]);
    assert.equal(net.stdout.trim(), 'overlay swarm', 'the app\'s own overlay network');
    const svc = await swarm.docker(0, ['service', 'inspect', '--format', '{{json .Spec.EndpointSpec}}', tasks[0]!.service]);
    const endpoint = JSON.parse(svc.stdout || '{}') as { Mode?: string; Ports?: { PublishMode?: string }[] };
    assert.equal(endpoint.Mode, 'dnsrr', `no VIP (${svc.stderr})`);
    assert.equal(endpoint.Ports?.[0]?.PublishMode, 'host', 'no routing mesh');
  });

  test('five deploys under load (keep-alive and fresh connections through Caddy): no failed request', async () => {
    const r = await underLoad({}, async () => {
      await sleep(1000);
      for (let i = 1; i <= 5; i++) await push(`v${i}\n`);
      await deployEnded(api, app);
      await sleep(1000);
    });
    console.log(`5 deploys on two nodes: ${r.sent} requests, ${r.errors} errors, ${r.non2xx} non-2xx, longest ${r.longestMs} ms`);
    assert.ok(r.sent > 300, `enough requests were sent (${r.sent})`);
    assert.equal(r.errors, 0, `connection errors: ${r.errorSamples.join('; ')}`);
    assert.equal(r.non2xx, 0, `non-2xx answers: ${r.errorSamples.join('; ')}`);
    assert.ok(r.bodies.has('v5\n'), 'the last release serves');
    assert.equal((await webTasks(app)).length, 2, 'still two replicas, no leftover of older releases');
  });

  test('scale web 1 → 3 → 1 under load: no failed request', async () => {
    const down = await api('POST', `/apps/${app}/ps/scale`, { formation: { web: 1 } });
    assert.equal(down.status, 200, JSON.stringify(down.body));
    const r = await underLoad({ path: '/cgi-bin/host' }, async () => {
      await sleep(500);
      const up = await api('POST', `/apps/${app}/ps/scale`, { formation: { web: 3 } });
      assert.equal(up.status, 200, JSON.stringify(up.body));
      assert.equal((await webTasks(app)).length, 3);
      await sleep(1500);
      const back = await api('POST', `/apps/${app}/ps/scale`, { formation: { web: 1 } });
      assert.equal(back.status, 200, JSON.stringify(back.body));
      await sleep(500);
    });
    console.log(`scale 1→3→1 on two nodes: ${r.sent} requests, ${r.errors} errors, ${r.non2xx} non-2xx, ${r.bodies.size} tasks answered`);
    assert.ok(r.bodies.size >= 3, `three tasks answered: ${[...r.bodies.keys()].join(', ')}`);
    assert.equal(r.errors, 0, `connection errors: ${r.errorSamples.join('; ')}`);
    assert.equal(r.non2xx, 0, `non-2xx answers: ${r.errorSamples.join('; ')}`);
    assert.equal((await webTasks(app)).length, 1);
  });

  test('an app\'s tasks cannot reach another app\'s; its own, on the other node, it can', async () => {
    const pushOther = await appWithCgi(other);
    await pushOther('other\n');
    await deployEnded(api, other);
    const scaled = await api('POST', `/apps/${app}/ps/scale`, { formation: { web: 2 } });
    assert.equal(scaled.status, 200, JSON.stringify(scaled.body));
    const mine = await webTasks(app);
    const theirs = await webTasks(other);
    const ipOf = async (t: TaskContainer, net: string) => (await swarm.docker(t.node, ['inspect', '--format', `{{(index .NetworkSettings.Networks "${net}").IPAddress}}`, t.id])).stdout.trim();
    const from = mine.find((t) => t.node === 0) ?? mine[0]!;
    const sibling = mine.find((t) => t !== from)!;
    const get = (ip: string) => swarm.docker(from.node, ['exec', from.id, 'sh', '-c', 'printf "GET /cgi-bin/host HTTP/1.0\\r\\n\\r\\n" | nc -w 3 "$0" 8080', ip], 20_000);
    const own = await get(await ipOf(sibling, `hiy-${app}`));
    assert.equal(own.code, 0, `the app reaches its own replica on node ${sibling.node + 1} over its overlay: ${own.stderr}`);
    assert.match(own.stdout, /200 OK/);
    for (const t of theirs) {
      const r = await get(await ipOf(t, `hiy-${other}`));
      assert.doesNotMatch(r.stdout, /200 OK/, `${other}'s task on node ${t.node + 1} is out of reach`);
    }
    // By name neither: dnsrr names resolve only on the networks a task is on (its own do).
    const lookup = async (service: string) => (await swarm.docker(from.node, ['exec', from.id, 'nslookup', service])).stdout;
    assert.match(await lookup(sibling.service), /Address: 10\./, 'its own replica\'s name resolves');
    assert.doesNotMatch(await lookup(theirs[0]!.service), /Address: 10\./, 'the other app\'s does not');
  });

  test('the release command runs once as a task (output streamed into the push), and leaves nothing behind', async () => {
    const wc = wcs[0]!;
    wc.write('Procfile', 'release: echo "release ran as $(id -u) in $(hostname)"\nweb: busybox httpd -f -v -p $PORT -h /www\n');
    const out = await push('v6\n');
    assert.match(out, /release ran as \d+ in [0-9a-f]{12}/, out);
    await deployEnded(api, app);
    assert.equal((await curlApp(hiy, app)).body, 'v6\n');
    const left = await swarm.docker(0, ['service', 'ls', '--filter', `label=hiy.app=${app}`, '--filter', 'label=hiy.process=release', '-q']);
    assert.equal(left.stdout.trim(), '', 'the release service is removed');
    const ps = await api('GET', `/apps/${app}/ps`);
    assert.equal(ps.status, 200, JSON.stringify(ps.body));
    assert.match(JSON.stringify(ps.body), /running/);
  });

  test('kill -9 of a node\'s dockerd under load: its tasks are rescheduled, no request fails', async () => {
    const before = await webTasks(app);
    assert.deepEqual(before.map((t) => t.node).sort(), [0, 1], 'a web replica on each node');
    let killedAt = 0;
    let moved = 0;
    const r = await underLoad({ path: '/cgi-bin/host' }, async () => {
      await sleep(1000);
      killedAt = Date.now();
      await swarm.killDockerd(1);
      // The manager marks node 2 down after missed heartbeats, then starts its task on node 1.
      while (Date.now() - killedAt < 90_000) {
        const onNode1 = (await webTasks(app)).filter((t) => t.node === 0).length;
        if (onNode1 === 2) { moved = Date.now(); break; }
        await sleep(500);
      }
      await sleep(2000);
    });
    console.log(`node 2's dockerd killed: its task ran on node 1 after ${((moved - killedAt) / 1000).toFixed(1)} s; ${r.sent} requests, ${r.errors} errors, ${r.non2xx} non-2xx`);
    assert.ok(moved > 0, 'both web replicas run on node 1 within 90 s');
    assert.equal(r.errors, 0, `connection errors: ${r.errorSamples.join('; ')}`);
    assert.equal(r.non2xx, 0, `non-2xx answers: ${r.errorSamples.join('; ')}`);
    const ps = await api('GET', `/apps/${app}/ps`);
    assert.equal(ps.status, 200, JSON.stringify(ps.body));
  });
});
