/**
 * Metrics of every node on a real two-node Swarm (harness/swarm.ts; images reach node 2 through
 * hiy's registry): the node-stats agent (decision 50) runs on both nodes, an app placed only on
 * node 2 that burns a core and holds 40 MB shows both in its metrics through the API, node 2's
 * CPU and memory in use appear in GET /nodes and `hiy nodes`, and the dashboard's System page
 * shows them in Chromium.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { ensureDocker } from '../../harness/docker.js';
import { BUSYBOX_IMAGE, ensureBusyboxImage } from '../../harness/images.js';
import { apiClient, deployEnded, type HiyProcess } from '../../harness/server.js';
import { startSwarm, type TestSwarm } from '../../harness/swarm.js';
import { cgiApp, startHiyOnSwarm, webTasks, type CgiApp } from '../../harness/swarm-apps.js';
import { runHiy } from '../helpers/processes.js';
import { launchChromium } from '../helpers/browser.js';
import { setPassword } from '../ui/dashboard-app.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MB = 1024 * 1024;
// Holds 40 MB in /dev/shm (tmpfs: charged to the container's memory) and keeps one core busy.
const BURN_DOCKERFILE = 'FROM hiy-test/busybox:1\nCOPY www /www\nENV PORT=8080\n'
  + 'CMD ["sh", "-c", "head -c 41943040 /dev/zero > /dev/shm/hold; (while :; do :; done) & exec busybox httpd -f -p \\"$PORT\\" -h /www"]\n';

interface NodeRow { name: string; usage: { cpu_pct: number; memory_used_bytes: number; memory_pct: number; sampled_at: string } | null }

describe('metrics of every node on a two-node Swarm', { timeout: 600_000 }, () => {
  let swarm: TestSwarm;
  let hiy: HiyProcess;
  let api: ReturnType<typeof apiClient>;
  let site: CgiApp;
  let browser: Browser | undefined;
  const app = `nm-${randomBytes(3).toString('hex')}`;
  const password = `pw-${randomBytes(9).toString('base64url')}`;

  /** Polls `read` until `ok` holds or `ms` passed; answers the last value. */
  async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, ms: number): Promise<T> {
    const t0 = Date.now();
    let v = await read();
    while (!ok(v) && Date.now() - t0 < ms) {
      await sleep(1000);
      v = await read();
    }
    return v;
  }

  before(async () => {
    await ensureDocker();
    await ensureBusyboxImage();
    swarm = await startSwarm({ nodes: 2 });
    await swarm.loadImages([BUSYBOX_IMAGE], [0]);
    ({ hiy } = await startHiyOnSwarm(swarm, { HIY_METRICS_INTERVAL: '2' }));
    api = apiClient(hiy);
    const labelled = await api('PATCH', `/nodes/${swarm.nodes[1]!.hostname}/labels`, { labels: { role: 'burn' } });
    assert.equal(labelled.status, 200, JSON.stringify(labelled.body));
    site = await cgiApp(() => hiy, api, app);
    const placed = await api('PATCH', `/apps/${app}`, { node_labels: { role: 'burn' } });
    assert.equal(placed.status, 200, JSON.stringify(placed.body));
    site.wc.write('Dockerfile', BURN_DOCKERFILE);
    const pushed = await site.push('burn\n');
    assert.equal(pushed.code, 0, pushed.stderr);
    await deployEnded(api, app);
  });
  after(async () => {
    await browser?.close();
    await hiy?.stop();
    if (hiy) rmSync(hiy.dataDir, { recursive: true, force: true });
    site?.wc.remove();
    await swarm?.teardown();
  });

  test('the node-stats agent runs on each node, hardened', async () => {
    for (const node of [0, 1]) {
      const ps = await until(() => swarm.docker(node, ['ps', '--filter', 'label=hiy.node-stats', '--format', '{{.ID}}']), (r) => r.stdout.trim() !== '', 60_000);
      const id = ps.stdout.trim();
      assert.ok(id, `an agent task on node ${node + 1}`);
      const r = await swarm.docker(node, ['inspect', '--format', '{{.Config.User}} {{.HostConfig.ReadonlyRootfs}} {{.HostConfig.CapDrop}} {{.HostConfig.Memory}} {{range .Mounts}}{{.Source}}:{{.RW}}{{end}}', id]);
      assert.equal(r.stdout.trim(), `65534:65534 true [ALL] ${16 * MB} /sys/fs/cgroup:false`);
    }
  });

  test('an app whose only replica runs on node 2 shows its CPU and memory through the API', async () => {
    const tasks = await webTasks(swarm, app);
    assert.deepEqual(tasks.map((t) => t.node), [1], 'the web replica runs on node 2 only');
    const t0 = Date.now();
    // The busy loop runs into the app's CPU limit (cpus × 100); half of it allows for a busy machine.
    const busy = (r: { body: { limits: { cpu_pct: number } } }) => r.body.limits.cpu_pct / 2;
    const m = await until(() => api('GET', `/apps/${app}/metrics`), (r) => (r.body.current?.memory_bytes ?? 0) >= 40 * MB && (r.body.current?.cpu_pct ?? 0) >= busy(r), 90_000);
    assert.equal(m.status, 200);
    assert.ok(m.body.current, `current figures: ${JSON.stringify(m.body)}`);
    assert.ok(m.body.current.memory_bytes >= 40 * MB, `memory ${m.body.current.memory_bytes}`);
    assert.ok(m.body.current.cpu_pct >= busy(m), `cpu ${m.body.current.cpu_pct} of a limit of ${m.body.limits.cpu_pct}`);
    assert.equal(m.body.current.containers, 1);
    assert.ok(m.body.series.memory_bytes.some((b: number) => b >= 40 * MB), 'stored in the series');
    console.log(`node 2's task in the app's metrics ${((Date.now() - t0) / 1000).toFixed(1)} s after the deploy: cpu ${m.body.current.cpu_pct} % (limit ${m.body.limits.cpu_pct}), memory ${(m.body.current.memory_bytes / MB).toFixed(1)} MB`);
  });

  test('node 2\'s CPU and memory in use are in GET /nodes and hiy nodes', async () => {
    const r = await until(() => api('GET', '/nodes'), (x) => (x.body.nodes as NodeRow[]).every((n) => n.usage !== null && n.usage.cpu_pct > 0), 30_000);
    const nodes = r.body.nodes as NodeRow[];
    const n2 = nodes.find((n) => n.name === swarm.nodes[1]!.hostname);
    assert.ok(n2?.usage, JSON.stringify(nodes));
    // The nodes share this machine's kernel: node 2's figures are the machine's, with the app's busy core in them.
    assert.ok(n2.usage.cpu_pct > 0 && n2.usage.cpu_pct <= 100, `cpu ${n2.usage.cpu_pct}`);
    assert.ok(n2.usage.memory_used_bytes > 40 * MB, `memory ${n2.usage.memory_used_bytes}`);
    assert.ok(Date.now() - Date.parse(n2.usage.sampled_at) < 30_000, n2.usage.sampled_at);
    const cli = await runHiy(['nodes'], { HIY_URL: hiy.url, HIY_TOKEN: hiy.token }, 60_000);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /CPU USE/);
    assert.match(cli.stdout, new RegExp(`${swarm.nodes[1]!.hostname}\\s.*\\s\\d+%\\s.*GB \\(\\d+%\\)`), cli.stdout);
  });

  test('the dashboard\'s System page shows each node\'s use', async () => {
    const set = await setPassword(hiy, password);
    assert.equal(set.code, 0, set.out);
    browser = await launchChromium();
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${hiy.url}/system`);
    await page.fill('#password', password);
    await page.click('form[action="/login"] button[type=submit]');
    await page.waitForURL(`${hiy.url}/system`);
    const row = page.locator('#nodes tbody tr', { hasText: swarm.nodes[1]!.hostname });
    await row.waitFor({ timeout: 30_000 });
    assert.match(await row.locator('.node-cpu').innerText(), /^\d+%$/);
    assert.match(await row.locator('.node-memory').innerText(), /^[\d.]+ [KMG]i?B \(\d+%\)$/);
  });
});
