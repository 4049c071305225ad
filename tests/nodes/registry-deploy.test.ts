/**
 * Images reach the other node only through hiy's registry, end to end (issue #23): hiy drives
 * node 1 of a real two-node Swarm (harness/swarm.ts) with no HIY_SWARM_NODE_ENGINES, so nothing
 * is ever copied by `docker save | load`. Node 2 starts without the app's image (and without its
 * base image), trusts the registry's CA as the join command makes it, and pulls every release by
 * digest with the login Swarm hands it. Then: a redeploy, a task replaced by a service update, a
 * rollback to an image the registry still keeps, retention (old tags deleted and
 * garbage-collected, the running release intact), and deploys that fail with the old release serving: a node that cannot pull (its trust of the
 * registry gone) and a registry that refuses hiy's login. The registry's password never appears
 * in hiy's log, a deploy log or an error.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { curlApp } from '../../harness/app-http.js';
import { ensureDocker } from '../../harness/docker.js';
import type { WorkingCopy } from '../../harness/git.js';
import { BUSYBOX_IMAGE, ensureBusyboxImage } from '../../harness/images.js';
import { apiClient, deployEnded, type HiyProcess } from '../../harness/server.js';
import { startSwarm, type TestSwarm } from '../../harness/swarm.js';
import { cgiApp, startHiyOnSwarm, webTasks } from '../../harness/swarm-apps.js';
import { openSecretBox } from '../../src/env/secret-box.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('app images reach the other node through hiy\'s registry', { timeout: 600_000 }, () => {
  let swarm: TestSwarm;
  let hiy: HiyProcess;
  let api: ReturnType<typeof apiClient>;
  let registry: string;
  let password: string;
  let caPem: string;
  const app = `rg-${randomBytes(3).toString('hex')}`;
  let wc: WorkingCopy;
  let push: (body: string) => Promise<{ code: number; stderr: string }>;
  /** Every deploy log and error seen, checked for the password at the end. */
  const seen: string[] = [];

  const regDir = () => join(hiy.dataDir, 'registry');
  /** The image references node 2's engine holds for the app (RepoDigests: only a pull makes them). */
  async function node2Digests(node = 1): Promise<string[]> {
    const r = await swarm.docker(node, ['images', '--digests', '--format', '{{.Repository}}@{{.Digest}}', '--filter', `reference=${registry}/hiy/${app}`]);
    return r.stdout.trim().split('\n').filter((l) => l && !l.endsWith('@<none>'));
  }
  /** The digest the web services of the current release run. */
  async function serviceImages(): Promise<string[]> {
    const out = new Set<string>();
    for (const t of await webTasks(swarm, app)) {
      out.add((await swarm.docker(0, ['service', 'inspect', '--format', '{{.Spec.TaskTemplate.ContainerSpec.Image}}', t.service])).stdout.trim());
    }
    return [...out];
  }
  /** The tags in the registry's storage for the app, and whether a manifest blob is still on disk. */
  const storage = () => join(regDir(), 'data', 'docker', 'registry', 'v2');
  const registryTags = () => {
    const dir = join(storage(), 'repositories', 'hiy', app, '_manifests', 'tags');
    return existsSync(dir) ? readdirSync(dir).sort() : [];
  };
  const blobStored = (digest: string) => existsSync(join(storage(), 'blobs', 'sha256', digest.slice(7, 9), digest.slice(7)));
  async function lastDeploy(): Promise<{ status: string; error: string | null; log: string }> {
    const d = await deployEnded(api, app, undefined, 120_000);
    const full = (await api('GET', `/apps/${app}/deploys/${d.id}`)).body.deploy as { status: string; error: string | null; log: string };
    seen.push(full.log, full.error ?? '');
    return full;
  }
  /** The registry child of the hiy under test, found by its own config path (unique to this data dir). */
  function registryPid(): number | undefined {
    const config = join(regDir(), 'config.yml');
    for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      try {
        const argv = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
        if (argv.includes('serve') && argv.includes(config)) return Number(p);
      } catch { /* gone meanwhile */ }
    }
    return undefined;
  }
  async function killRegistry(): Promise<void> {
    const pid = registryPid();
    assert.ok(pid, 'the registry runs');
    process.kill(pid, 'SIGKILL');
    while (registryPid() === pid) await sleep(50);
  }
  const htpasswdLine = (pw: string) => new Promise<string>((resolve, reject) => {
    const c = execFile('htpasswd', ['-niB', 'hiy'], (err, out) => (err ? reject(err) : resolve(String(out))));
    c.stdin?.end(`${pw}\n`);
  });
  const body = async () => (await curlApp(hiy, app)).body;

  before(async () => {
    await ensureDocker();
    await ensureBusyboxImage();
    swarm = await startSwarm({ nodes: 2 });
    // hiy builds on node 1: only it has the base image. Node 2 has nothing of the app.
    await swarm.loadImages([BUSYBOX_IMAGE], [0]);
    // nodes:add starts the registry; node 2 trusts its CA as the join command makes it; hiy restarts.
    ({ hiy, registry, caPem } = await startHiyOnSwarm(swarm, { HIY_KEEP_RELEASES: '1' }));
    api = apiClient(hiy);
    assert.ok(existsSync(join(swarm.nodes[1]!.etcDocker, 'certs.d', registry, 'ca.crt')));
    password = await (await openSecretBox(join(hiy.dataDir, 'secrets'))).decrypt(readFileSync(join(regDir(), 'password.age')));
    const site = await cgiApp(() => hiy, api, app);
    wc = site.wc;
    push = site.push;
  });
  after(async () => {
    await hiy?.stop();
    if (hiy) rmSync(hiy.dataDir, { recursive: true, force: true });
    wc?.remove();
    await swarm?.teardown();
  });

  test('a deploy: node 2 pulls the image from the registry (nothing copied), with hiy\'s login', async () => {
    assert.notEqual((await swarm.docker(1, ['image', 'inspect', BUSYBOX_IMAGE])).code, 0, 'node 2 lacks the base image');
    assert.deepEqual(await node2Digests(), [], 'node 2 lacks the app\'s image');
    const t0 = Date.now();
    const r = await push('v1\n');
    assert.equal(r.code, 0, r.stderr);
    seen.push(r.stderr);
    const up = await api('POST', `/apps/${app}/ps/scale`, { formation: { web: 2 } });
    assert.equal(up.status, 200, JSON.stringify(up.body));
    console.log(`push + scale to 2 replicas through the registry: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    assert.equal((await lastDeploy()).status, 'success');
    assert.deepEqual((await webTasks(swarm, app)).map((t) => t.node).sort(), [0, 1], 'a replica on each node');
    const [image] = await serviceImages();
    assert.match(image ?? '', new RegExp(`^${registry.replace(/\./g, '\\.')}/hiy/${app}@sha256:[0-9a-f]{64}$`), 'services run the registry\'s digest reference');
    assert.deepEqual(await node2Digests(), [image], 'node 2 holds the image by the registry digest: it pulled it');
    assert.doesNotMatch(hiy.output(), /copied image to a node/, 'no save | load');
    const answered = new Set<string>();
    for (let i = 0; i < 12; i++) answered.add((await curlApp(hiy, app, '/cgi-bin/host')).body.trim());
    assert.equal(answered.size, 2, 'both replicas answer');
    assert.equal(await body(), 'v1\n');
  });

  test('a redeploy pulls the new image on node 2 with the login', async () => {
    const before = await serviceImages();
    const r = await push('v2\n');
    assert.equal(r.code, 0, r.stderr);
    seen.push(r.stderr);
    assert.equal((await lastDeploy()).status, 'success');
    const now = await serviceImages();
    assert.equal(now.length, 1);
    assert.notDeepEqual(now, before, 'a new image');
    assert.ok((await node2Digests()).includes(now[0]!), 'node 2 pulled the new one');
    assert.deepEqual((await webTasks(swarm, app)).map((t) => t.node).sort(), [0, 1]);
    assert.equal(await body(), 'v2\n');
  });

  test('a service update that replaces a task (scale 2 → 1: new limits) pulls with the login where it lands', async () => {
    const [image] = await serviceImages();
    // No node keeps the registry's name for the image: wherever the replacement starts, it pulls.
    for (const node of [0, 1]) {
      await swarm.docker(node, ['rmi', '-f', image!]);
      assert.ok(!(await node2Digests(node)).includes(image!), `node ${node + 1} forgot ${image}`);
    }
    const before = await webTasks(swarm, app);
    const down = await api('POST', `/apps/${app}/ps/scale`, { formation: { web: 1 } });
    assert.equal(down.status, 200, JSON.stringify(down.body));
    const after = await webTasks(swarm, app);
    assert.equal(after.length, 1);
    assert.ok(before.some((t) => t.service === after[0]!.service) && !before.some((t) => t.id === after[0]!.id), 'a service that was there got a new task (an update)');
    assert.ok((await node2Digests(after[0]!.node)).includes(image!), `node ${after[0]!.node + 1} pulled the image again`);
    assert.equal(await body(), 'v2\n');
    const up = await api('POST', `/apps/${app}/ps/scale`, { formation: { web: 2 } });
    assert.equal(up.status, 200, JSON.stringify(up.body));
    assert.deepEqual((await webTasks(swarm, app)).map((t) => t.node).sort(), [0, 1]);
  });

  test('retention: the oldest tag is deleted and garbage-collected; the running release serves on', async () => {
    const v1 = (await node2Digests()).map((d) => d.split('@')[1]!);
    const r = await push('v3\n');
    assert.equal(r.code, 0, r.stderr);
    seen.push(r.stderr);
    const d = await lastDeploy();
    assert.equal(d.status, 'success');
    assert.match(d.log, /removed 1 old image\(s\) from the nodes' registry/);
    // HIY_KEEP_RELEASES=1: the current release (v3) and one before it (v2) stay.
    assert.equal(registryTags().length, 2, `tags left: ${registryTags().join(', ')}`);
    const current = (await serviceImages())[0]!.split('@')[1]!;
    assert.ok(blobStored(current), 'the running release\'s manifest is kept');
    const gone = v1.filter((x) => x !== current && !blobStored(x));
    assert.ok(gone.length >= 1, `v1's manifest was garbage-collected (${v1.join(', ')})`);
    assert.equal(await body(), 'v3\n');
    assert.deepEqual((await webTasks(swarm, app)).map((t) => t.node).sort(), [0, 1]);
  });

  test('a rollback to v2 pulls it again from the registry on node 2', async () => {
    const v2 = (await api('GET', `/apps/${app}/releases`)).body as { releases: { version: number }[] };
    assert.ok(v2.releases.some((x) => x.version === 2));
    // Node 2 forgets v2 (its task containers of v2 are gone; -f also untags one still listed), so
    // only the registry can bring it back.
    for (const ref of await node2Digests()) await swarm.docker(1, ['rmi', '-f', ref]);
    const rb = await api('POST', `/apps/${app}/rollback`, { version: 2 });
    assert.ok(rb.status === 200 || rb.status === 202, JSON.stringify(rb.body));
    assert.equal((await lastDeploy()).status, 'success');
    assert.equal(await body(), 'v2\n');
    const now = await serviceImages();
    assert.equal(now.length, 1);
    assert.ok((await node2Digests()).includes(now[0]!), 'node 2 pulled v2 again');
    assert.deepEqual((await webTasks(swarm, app)).map((t) => t.node).sort(), [0, 1]);
  });

  test('a node that cannot pull (it no longer trusts the registry) fails the deploy clearly; the old release serves', async () => {
    const ca = join(swarm.nodes[1]!.etcDocker, 'certs.d', registry, 'ca.crt');
    rmSync(ca);
    try {
      const t0 = Date.now();
      const r = await push('v4-untrusted\n');
      seen.push(r.stderr);
      assert.notEqual(r.code, 0, 'the push reports the failed deploy');
      const d = await lastDeploy();
      console.log(`a node that cannot pull: the deploy failed after ${((Date.now() - t0) / 1000).toFixed(1)} s: ${d.error}`);
      assert.equal(d.status, 'failed');
      assert.match(d.error ?? '', new RegExp(`node ${swarm.nodes[1]!.hostname} could not get the app's image`));
      assert.equal(await body(), 'v2\n', 'the old release serves');
    } finally {
      writeFileSync(ca, caPem);
    }
  });

  test('a registry that refuses hiy\'s login fails the deploy clearly; once it accepts it again, deploys work', async () => {
    const file = join(regDir(), 'htpasswd');
    const good = readFileSync(file, 'utf8');
    writeFileSync(file, await htpasswdLine(randomBytes(16).toString('hex')));
    // A registry that was killed is started again by hiy at the next push, reading the file anew.
    await killRegistry();
    try {
      const r = await push('v5-refused\n');
      seen.push(r.stderr);
      assert.notEqual(r.code, 0);
      const d = await lastDeploy();
      assert.equal(d.status, 'failed');
      console.log(`a registry that refuses hiy's login: ${d.error}`);
      assert.match(d.error ?? '', /unauthorized|authentication required/i, d.error ?? '');
      assert.equal(await body(), 'v2\n', 'the old release serves');
    } finally {
      writeFileSync(file, good);
    }
    await killRegistry();
    const r = await push('v6\n');
    assert.equal(r.code, 0, r.stderr);
    seen.push(r.stderr);
    assert.equal((await lastDeploy()).status, 'success');
    assert.equal(await body(), 'v6\n');
    assert.deepEqual((await webTasks(swarm, app)).map((t) => t.node).sort(), [0, 1]);
  });

  test('the registry\'s password is in no log, deploy log or error', async () => {
    assert.equal(password.length, 43);
    const deploys = (await api('GET', `/apps/${app}/deploys?limit=50`)).body as { deploys: { id: number }[] };
    for (const { id } of deploys.deploys) {
      const full = (await api('GET', `/apps/${app}/deploys/${id}`)).body.deploy as { log: string; error: string | null };
      seen.push(full.log, full.error ?? '');
    }
    const b64 = Buffer.from(`hiy:${password}`).toString('base64');
    for (const text of [hiy.output(), readFileSync(join(regDir(), 'registry.log'), 'utf8'), ...seen]) {
      assert.ok(!text.includes(password), 'no password');
      assert.ok(!text.includes(b64), 'no basic-auth form of it');
    }
  });
});
