import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { HiyError } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import { createDockerRuntime } from '../../src/runtime/docker-runtime.js';
import type { ContainerSpec, Runtime } from '../../src/runtime/runtime.js';
import { cleanupByLabel, docker, dockerInspect, ensureDocker, httpGet, testRun, waitForHttp } from '../../harness/docker.js';
import { BUSYBOX_IMAGE, ensureBusyboxImage } from '../../harness/images.js';
import { freePorts } from '../../harness/ports.js';

const run = testRun();
const APP = `rt-${randomBytes(3).toString('hex')}`;
const OTHER = `rt-${randomBytes(3).toString('hex')}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** busybox httpd on $PORT serving a page made at start (the base image has no web root). */
const HTTPD = ['sh', '-c', 'mkdir -p /tmp/w && echo "hello $APP_NAME" > /tmp/w/index.html && exec httpd -f -p "$PORT" -h /tmp/w'];

function spec(over: Partial<ContainerSpec> & { hostPort: number }): ContainerSpec {
  return {
    name: `hiy-${APP}-${randomBytes(4).toString('hex')}`,
    image: BUSYBOX_IMAGE,
    app: APP,
    env: { PORT: '8080', APP_NAME: APP },
    containerPort: 8080,
    memoryMb: 64,
    cpus: 0.5,
    cmd: HTTPD,
    ...over,
  };
}

const get = (port: number, host = '127.0.0.1') => httpGet(`http://${host}:${port}/`);
const waitFor = (port: number) => waitForHttp(`http://127.0.0.1:${port}/`);

const isHiy = (code: string) => (e: unknown) => e instanceof HiyError && e.code === code;

describe('Docker runtime against the real engine', { timeout: 180_000 }, () => {
  let rt: Runtime;

  before(async () => {
    await ensureDocker();
    await ensureBusyboxImage();
    rt = createDockerRuntime(createLogger('silent'), { labels: run.labels });
  });
  after(() => cleanupByLabel(run.label));

  test('ensureNetwork makes one labelled bridge per app, idempotently', async () => {
    assert.equal(await rt.ensureNetwork(APP), `hiy-${APP}`);
    assert.equal(await rt.ensureNetwork(APP), `hiy-${APP}`);
    const net = await dockerInspect(`hiy-${APP}`);
    assert.equal(net.Driver, 'bridge');
    assert.equal(net.Labels['hiy.managed'], '1');
    assert.equal(net.Labels['hiy.app'], APP);
    assert.equal(net.Labels['hiy.test.run'], run.labels['hiy.test.run']);
  });

  test('run: hardened, published on 127.0.0.1 only, serves, survives restarts on the same port, stops fast', async () => {
    const [port] = await freePorts(1);
    const s = spec({ hostPort: port! });
    const info = await rt.run(s);
    assert.equal(info.running, true);
    assert.equal(info.name, s.name);
    assert.equal(info.hostPort, port);
    assert.equal(info.app, APP);
    assert.deepEqual(await waitFor(port!), { status: 200, body: `hello ${APP}\n` });

    const c = await dockerInspect(s.name);
    assert.equal(c.Config.Labels['hiy.app'], APP, 'the engine keeps the app in a label');
    const hc = c.HostConfig;
    assert.deepEqual(hc.CapDrop, ['ALL']);
    assert.deepEqual(hc.SecurityOpt, ['no-new-privileges']);
    assert.equal(hc.Privileged, false);
    assert.equal(hc.PidsLimit, 256);
    assert.equal(hc.Memory, 64 * 1024 * 1024);
    assert.equal(hc.NanoCpus, 500_000_000);
    assert.equal(hc.RestartPolicy.Name, 'unless-stopped');
    assert.deepEqual(hc.LogConfig, { Type: 'json-file', Config: { 'max-file': '3', 'max-size': '10m' } });
    assert.equal(hc.NetworkMode, `hiy-${APP}`);
    assert.equal(hc.Init, true);
    assert.deepEqual(hc.Binds, null);
    assert.deepEqual(hc.PortBindings, { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: String(port) }] });
    assert.deepEqual(Object.keys(c.NetworkSettings.Networks), [`hiy-${APP}`]);
    assert.deepEqual(c.NetworkSettings.Ports['8080/tcp'], [{ HostIp: '127.0.0.1', HostPort: String(port) }]);
    assert.ok(c.Config.Env.includes('PORT=8080'));
    // The pids limit is real: the kernel refuses the 257th task. (Memory.swap is kernel-dependent.)
    const pids = await docker(['exec', s.name, 'cat', '/sys/fs/cgroup/pids/pids.max']);
    if (pids.code === 0) assert.equal(pids.stdout.trim(), '256');

    // Not reachable on the host's other addresses.
    const others = Object.values(networkInterfaces()).flat().filter((a) => a && a.family === 'IPv4' && !a.internal).map((a) => a!.address);
    assert.ok(others.length > 0, 'this host has a non-loopback address to check');
    for (const ip of others) await assert.rejects(get(port!, ip), `port answers on ${ip}`);

    // docker restart: same host port, still served.
    assert.equal((await docker(['restart', '-t', '5', s.name])).code, 0);
    assert.equal((await waitFor(port!)).status, 200);
    // The process dies: the restart policy brings it back, on the same port.
    assert.equal((await docker(['exec', s.name, 'killall', 'httpd'])).code, 0);
    const deadline = Date.now() + 20_000;
    let now = await rt.inspect(s.name);
    while ((now?.restartCount ?? 0) < 1 && Date.now() < deadline) {
      await sleep(100);
      now = await rt.inspect(s.name);
    }
    assert.ok((now?.restartCount ?? 0) >= 1, 'the restart policy restarted it');
    assert.equal(now?.hostPort, port);
    assert.equal((await waitFor(port!)).body, `hello ${APP}\n`);

    // docker-init as PID 1 passes SIGTERM on: busybox httpd alone would ignore it for 10 s.
    const t0 = Date.now();
    await rt.stop(s.name, 10);
    assert.ok(Date.now() - t0 < 5000, `stop took ${Date.now() - t0} ms`);
    const stopped = await rt.inspect(s.name);
    assert.equal(stopped?.running, false);
    assert.equal(stopped?.state, 'exited');
    assert.equal(stopped?.hostPort, port, 'the configured port is known while stopped');
    await rt.stop(s.name, 1); // stopping a stopped container is fine
    await rt.start(s.name);
    await rt.start(s.name); // starting a running one too
    assert.equal((await waitFor(port!)).status, 200);
    await rt.remove(s.name);
    assert.equal(await rt.inspect(s.name), undefined);
    await rt.remove(s.name); // missing is fine
    await rt.stop(s.name, 1);
  });

  test('a name conflict and a taken port are clear errors; the failed container is removed', async () => {
    const [port, port2] = await freePorts(2);
    const s = spec({ hostPort: port! });
    await rt.run(s);
    await assert.rejects(rt.run({ ...s, hostPort: port2! }), (e: unknown) => isHiy('conflict')(e) && /already exists/.test((e as Error).message));

    const clash = spec({ hostPort: port! });
    await assert.rejects(rt.run(clash), (e: unknown) => isHiy('deploy_failed')(e) && /port is already allocated|address already in use/.test((e as Error).message));
    assert.equal(await dockerInspect(clash.name), undefined, 'the container that could not start is gone');
    await assert.rejects(rt.run(spec({ hostPort: port2!, image: 'hiy-test/does-not-exist:1' })), isHiy('deploy_failed'));
    await rt.remove(s.name);
  });

  test('logs: stdout and stderr, demultiplexed, with tail', async () => {
    const s = spec({ hostPort: (await freePorts(1))[0]!, cmd: ['sh', '-c', 'for i in 1 2 3; do echo "out $i"; echo "err $i" >&2; done; exec sleep 600'] });
    await rt.run(s);
    let text = '';
    for (let i = 0; i < 50 && !text.includes('err 3'); i++) {
      await sleep(100);
      text = await rt.logs(s.name);
    }
    assert.deepEqual(text.trim().split('\n').sort(), ['err 1', 'err 2', 'err 3', 'out 1', 'out 2', 'out 3']);
    assert.doesNotMatch(text, /[\x00-\x08]/, 'no frame headers in the text');
    assert.equal((await rt.logs(s.name, { tail: 2 })).trim().split('\n').length, 2);
    await assert.rejects(rt.logs('hiy-no-such-container'), isHiy('not_found'));
    await rt.remove(s.name);
  });

  test('list finds containers by app, running or not, with the role they were started with', async () => {
    const [p1, p2] = await freePorts(2);
    const a = spec({ hostPort: p1!, process: 'worker', replica: 1, deployId: 5, slot: 'b' });
    const b = spec({ hostPort: p2!, app: OTHER, name: `hiy-${OTHER}-${randomBytes(4).toString('hex')}` });
    await rt.run(a);
    await rt.run(b);
    await rt.stop(a.name, 5);
    const mine = await rt.list({ app: APP });
    assert.deepEqual(mine.map((c) => [c.name, c.running]), [[a.name, false]]);
    assert.deepEqual(mine.map((c) => [c.app, c.process, c.replica, c.deployId, c.slot, c.instance]), [[APP, 'worker', 1, 5, 'b', null]]);
    const other = await rt.inspect(b.name);
    assert.deepEqual([other?.process, other?.replica, other?.deployId, other?.slot], ['web', 0, null, null], 'a container started without a role is web replica 0 of no deploy');
    assert.deepEqual((await rt.list({ app: OTHER })).map((c) => c.name), [b.name]);
    const all = (await rt.list()).map((c) => c.name);
    assert.ok(all.includes(a.name) && all.includes(b.name));
    await rt.remove(a.name);
    await rt.remove(b.name);
  });

  test("apps cannot reach each other's networks", async () => {
    const [port] = await freePorts(1);
    const s = spec({ hostPort: port! });
    await rt.run(s);
    await waitFor(port!);
    await rt.ensureNetwork(OTHER);
    const ip = (await dockerInspect(s.name)).NetworkSettings.Networks[`hiy-${APP}`].IPAddress as string;
    // busybox wget -T segfaults (Debian's build): bound it with timeout instead.
    const probe = (net: string) => docker(['run', '--rm', '--init', '--network', net, ...Object.entries(run.labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]),
      BUSYBOX_IMAGE, 'sh', '-c', `timeout 3 wget -q -O - http://${ip}:8080/; echo "rc=$?"`], { timeoutMs: 30_000 });
    const same = await probe(`hiy-${APP}`);
    assert.match(same.stdout, new RegExp(`hello ${APP}\\nrc=0`), same.stderr);
    const other = await probe(`hiy-${OTHER}`);
    assert.doesNotMatch(other.stdout, /hello/);
    assert.doesNotMatch(other.stdout, /rc=0/);
    await rt.remove(s.name);
    await rt.removeNetwork(OTHER);
    await rt.removeNetwork(OTHER);
    assert.equal(await dockerInspect(`hiy-${OTHER}`), undefined);
  });

  test('images: list by app name, exists, in-use removal refused, removal; pruning spares a fresh untagged image', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hiy-rt-img-'));
    const tag = `hiy/${APP}:img1`;
    const labels = ['hiy.managed=1', `hiy.app=${APP}`, ...Object.entries(run.labels).map(([k, v]) => `${k}=${v}`)].flatMap((l) => ['--label', l]);
    const build = async (content: string) => {
      writeFileSync(join(dir, 'Dockerfile'), `FROM ${BUSYBOX_IMAGE}\nRUN echo ${content} > /x\n`);
      const r = await docker(['build', '-q', ...labels, '-t', tag, dir], { env: { DOCKER_BUILDKIT: '0' } });
      assert.equal(r.code, 0, r.stderr);
      return r.stdout.trim();
    };
    try {
      const first = await build('one');
      assert.equal(await rt.imageExists(tag), true);
      const imgs = await rt.listImages({ app: APP });
      assert.deepEqual(imgs.map((i) => i.tags), [[tag]]);
      assert.equal(imgs[0]?.labels['hiy.app'], APP);
      assert.ok((imgs[0]?.size ?? 0) > 0 && (imgs[0]?.created ?? 0) > 0);
      assert.deepEqual(await rt.listImages({ app: OTHER }), []);

      // Rebuilding the tag leaves the first image dangling. An untagged leaf may equally be the
      // dependency stage of a multi-stage build (the cache a code-only push reuses): pruning
      // only takes those a week old, so a fresh one stays.
      await build('two');
      assert.equal((await docker(['image', 'inspect', first])).code, 0);
      await rt.pruneBuildLeftovers();
      assert.equal((await docker(['image', 'inspect', first])).code, 0, 'a fresh untagged image is kept');
      assert.equal(await rt.imageExists(tag), true, 'the tagged one stays');
      await docker(['rmi', first]);

      const s = spec({ hostPort: (await freePorts(1))[0]!, image: tag });
      await rt.run(s);
      await assert.rejects(rt.removeImage(tag), isHiy('conflict'));
      await rt.remove(s.name);
      await rt.removeImage(tag);
      assert.equal(await rt.imageExists(tag), false);
      await rt.removeImage(tag); // missing is fine
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('an engine that does not answer is "unavailable"', async () => {
    const dead = createDockerRuntime(createLogger('silent'), { host: 'unix:///nonexistent/docker.sock' });
    await assert.rejects(dead.list(), isHiy('unavailable'));
  });
});
