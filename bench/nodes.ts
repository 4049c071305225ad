// Push-to-live of the same app on two Swarm nodes next to one node (the plain engine), in the same
// run on the same machine (issue #23, docs/nodes.md "Measured costs"). Both apps run two web
// replicas; on the Swarm one sits on each node and node 2 gets each image from hiy's registry.
// Rounds alternate between the two so both see the same load on the machine.
// The one node is this host's own engine (plain containers, as every one-box install); the two
// nodes are namespaced dockerds on this machine (harness/swarm.ts), so no network is crossed.
// Run: npm run build && node dist/bench/nodes.js [rounds, default 3]   (as root)
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { curlApp } from '../harness/app-http.js';
import { cleanupByLabel, ensureDocker, removeAppImages } from '../harness/docker.js';
import { remoteUrl, WorkingCopy } from '../harness/git.js';
import { BUSYBOX_IMAGE, ensureBusyboxImage } from '../harness/images.js';
import { repoRoot } from '../harness/paths.js';
import { apiClient, deployEnded, startHiy, type HiyProcess } from '../harness/server.js';
import { startSwarm } from '../harness/swarm.js';
import { startHiyOnSwarm } from '../harness/swarm-apps.js';

const rounds = Number(process.argv[2] ?? '3');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Side { hiy: HiyProcess; app: string; wc: WorkingCopy; url: string }

/** From `git push` until Caddy serves the new body (and the push returned). */
async function pushToLive(s: Side, body: string): Promise<number> {
  s.wc.write('www/index.html', body);
  await s.wc.commit(body);
  const t0 = performance.now();
  const pushed = s.wc.push(s.url);
  let live = NaN;
  while (Number.isNaN(live)) {
    if ((await curlApp(s.hiy, s.app)).body === body) live = performance.now() - t0;
    else await sleep(20);
  }
  const r = await pushed;
  if (r.code !== 0) throw new Error(`push to ${s.app} failed: ${r.stderr}`);
  await deployEnded(apiClient(s.hiy), s.app);
  return live;
}

async function side(hiy: HiyProcess, fixture: string): Promise<Side> {
  const app = `bn-${randomBytes(3).toString('hex')}`;
  const created = await apiClient(hiy)('POST', '/apps', { name: app, port: 8080 });
  if (created.status !== 201) throw new Error(JSON.stringify(created.body));
  return { hiy, app, wc: await WorkingCopy.fromFixture(fixture), url: remoteUrl(hiy.url, app, hiy.token) };
}

async function main(): Promise<void> {
  await ensureDocker();
  await ensureBusyboxImage();
  const fixture = join(repoRoot(), 'tests', 'fixtures', 'busybox-app');
  const t0 = Date.now();
  const swarm = await startSwarm({ nodes: 2 });
  const swarmUp = Date.now() - t0;
  const sides: Side[] = [];
  try {
    await swarm.loadImages([BUSYBOX_IMAGE], [0]);
    const one = await side(await startHiy(), fixture);
    sides.push(one);
    const two = await side((await startHiyOnSwarm(swarm)).hiy, fixture);
    sides.push(two);
    const first = [await pushToLive(one, 'first\n'), await pushToLive(two, 'first\n')];
    for (const s of sides) {
      const r = await apiClient(s.hiy)('POST', `/apps/${s.app}/ps/scale`, { formation: { web: 2 } });
      if (r.status !== 200) throw new Error(JSON.stringify(r.body));
    }
    const times: [number[], number[]] = [[], []];
    for (let i = 0; i < rounds; i++) {
      times[0].push(await pushToLive(one, `one ${i}\n`));
      times[1].push(await pushToLive(two, `two ${i}\n`));
    }
    const row = (k: string, a: number, b: number) => console.log(`${k.padEnd(48)} ${(a / 1000).toFixed(2).padStart(6)} s  ${(b / 1000).toFixed(2).padStart(6)} s  ${(b / a).toFixed(2)}x`);
    console.log(`busybox app (tests/fixtures/busybox-app); two namespaced nodes ready in ${(swarmUp / 1000).toFixed(1)} s`);
    console.log(`${''.padEnd(48)} ${'one node'.padStart(8)}  ${'two nodes'.padStart(8)}  ratio`);
    row('first push to live (one replica, cold build)', first[0]!, first[1]!);
    row(`push to live, 2 web replicas (median of ${rounds})`, median(times[0]), median(times[1]));
  } finally {
    for (const s of sides) {
      await s.hiy.stop();
      rmSync(s.hiy.dataDir, { recursive: true, force: true });
      s.wc.remove();
      await cleanupByLabel(`hiy.app=${s.app}`);
      await removeAppImages(s.app);
    }
    await swarm.teardown();
  }
}

await main();
