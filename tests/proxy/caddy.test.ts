/**
 * The Caddy adapter against the real /usr/bin/caddy (2.6): child process on free loopback
 * ports, plain HTTP for most cases, one HTTPS case with the local CA.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, Agent, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { HostPort } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { createCaddyAdmin } from '../../src/proxy/caddy-admin.js';
import { createCaddyProxy, type CaddyProxy, type CaddyProxyOptions } from '../../src/proxy/caddy.js';
import { allSlotPorts } from '../../src/slots.js';
import { get, getReused, startLoad, startSlotServer, switchReleases, type SlotServer } from '../../harness/caddy.js';
import { repoRoot } from '../../harness/paths.js';
import { freePorts, freeSlotPortBase } from '../../harness/ports.js';

const CADDY = '/usr/bin/caddy';
const log = createLogger('warn', process.stderr);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      lastErr = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${lastErr ? `: ${String(lastErr)}` : ''}`);
}

/** Options with a TCP admin address (the explicit opt-in; hiy's default socket is tested in tests/security/caddy-admin.test.ts). */
async function proxyOptions(dataDir: string, tls: CaddyProxyOptions['tls'], controlPlanePort: number): Promise<CaddyProxyOptions & { adminAddress: HostPort }> {
  const [admin, http, https] = await freePorts(3);
  return {
    adminAddress: { host: '127.0.0.1', port: admin! },
    httpPort: http!,
    httpsPort: https!,
    tls,
    domain: 'localhost',
    controlPlane: { host: '127.0.0.1', port: controlPlanePort },
    dataDir,
    liveDir: join(dataDir, 'live'),
    slotPortBase: await freeSlotPortBase(6),
    caddyBin: CADDY,
    log,
    pathEnv: '/usr/local/bin:/usr/bin:/bin',
    listenHost: '127.0.0.1',
    baseConfigFile: join(repoRoot(), 'proxy', 'base.json'),
    watchIntervalMs: 300,
  };
}

function startControlPlane(port: number): Promise<Server> {
  const server = createServer((req, res) => res.end(`control-plane ${req.headers['x-forwarded-proto'] ?? ''}`));
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

describe('Caddy proxy adapter (plain HTTP)', { timeout: 120_000 }, () => {
  let dataDir: string;
  let opts: CaddyProxyOptions & { adminAddress: HostPort };
  let proxy: CaddyProxy;
  let controlPlane: Server;
  const slots: SlotServer[] = [];
  const pids = new Set<number>();

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'hiy-test-caddy-'));
    const [cp] = await freePorts(1);
    controlPlane = await startControlPlane(cp!);
    opts = await proxyOptions(dataDir, 'off', cp!);
    proxy = createCaddyProxy(opts);
  });

  after(async () => {
    await proxy.stop().catch(() => undefined);
    for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
    for (const s of slots) await s.close('abrupt').catch(() => undefined);
    controlPlane.closeAllConnections();
    await new Promise((r) => controlPlane.close(r));
    await rm(dataDir, { recursive: true, force: true });
  });

  it('starts a child Caddy and routes hiy.<domain> to the control plane', async () => {
    await proxy.start();
    const pid = proxy.childPid();
    assert.ok(pid && alive(pid), 'a child Caddy runs');
    pids.add(pid);
    const res = await get(opts.httpPort, 'hiy.localhost');
    assert.equal(res.status, 200);
    assert.equal(res.body, 'control-plane http');
    const unknown = await get(opts.httpPort, 'nobody.localhost');
    assert.equal(unknown.status, 404);
    assert.match(unknown.body, /no app is served at nobody\.localhost/);
  });

  /** Slot a and b of web replica 0 of the app with slot index `i`. */
  const ports = (i: number) => allSlotPorts({ slot_index: i }, opts.slotPortBase).slice(0, 2) as [number, number];

  it('routes an app to whichever slot runs, including an app whose answers are 404', async () => {
    const [a, b] = ports(0);
    await proxy.setRoute({ app: 'myapp', slotIndex: 0 });
    const onB = await startSlotServer(b, 'v1 on B', 404);
    slots.push(onB);
    let res = await get(opts.httpPort, 'myapp.localhost');
    assert.equal(res.status, 404, 'the app\'s own 404 passes through');
    assert.equal(res.body, 'v1 on B');
    const onA = await startSlotServer(a, 'v2 on A');
    slots.push(onA);
    await onB.close('abrupt');
    res = await get(opts.httpPort, 'myapp.localhost');
    assert.deepEqual([res.status, res.body], [200, 'v2 on A']);
  });

  it('adds and removes apps and custom domains without a reload: an idle keep-alive connection of another app survives', async () => {
    const admin = createCaddyAdmin(opts.adminAddress);
    const before = JSON.stringify(await admin.get('/config/'));
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    assert.equal((await getReused(opts.httpPort, 'myapp.localhost', agent)).body, 'v2 on A');
    await proxy.setRoute({ app: 'myapp', slotIndex: 0, extraHosts: ['shop.example.com'] });
    await proxy.setRoute({ app: 'myapp', slotIndex: 0, extraHosts: ['shop.example.com'] }); // unchanged
    assert.equal((await get(opts.httpPort, 'shop.example.com')).body, 'v2 on A');
    await proxy.setRoute({ app: 'newapp', slotIndex: 5 });
    const s = await startSlotServer(ports(5)[0], 'new app');
    slots.push(s);
    assert.equal((await get(opts.httpPort, 'newapp.localhost')).body, 'new app');
    await proxy.removeRoute('newapp');
    await proxy.setRoute({ app: 'myapp', slotIndex: 0 });
    assert.equal((await get(opts.httpPort, 'shop.example.com')).status, 404);
    assert.equal((await get(opts.httpPort, 'newapp.localhost')).status, 404);
    const again = await getReused(opts.httpPort, 'myapp.localhost', agent);
    assert.deepEqual([again.body, again.reused], ['v2 on A', true], 'a reload would have closed this connection');
    assert.equal(JSON.stringify(await admin.get('/config/')), before, 'Caddy\'s config did not change');
    await assert.rejects(proxy.setRoute({ app: 'thief', slotIndex: 0 }), /slot index 0 is routed to myapp/);
    agent.destroy();
  });

  it('hosts are looked up as names only: nothing outside a route slot\'s host files matches', async () => {
    for (const host of ['..', '.', 'hosts', '%2e%2e', '*']) {
      const res = await get(opts.httpPort, host);
      assert.equal(res.status, 404, `${host}: ${res.body}`);
    }
  });

  it('answers 502 within the retry window when no release runs on either slot', async () => {
    await proxy.setRoute({ app: 'empty', slotIndex: 1 });
    const t0 = Date.now();
    const res = await get(opts.httpPort, 'empty.localhost', { timeoutMs: 20_000 });
    const ms = Date.now() - t0;
    assert.equal(res.status, 502);
    assert.match(res.body, /empty\.localhost is not available/);
    assert.ok(ms < 7_000, `answered after ${ms} ms`);
  });

  it('removing a route stops serving the app', async () => {
    await proxy.removeRoute('empty');
    await proxy.removeRoute('empty'); // idempotent
    const res = await get(opts.httpPort, 'empty.localhost');
    assert.equal(res.status, 404);
    assert.match(res.body, /no app is served/);
  });

  it('syncRoutes replaces every app route at once', async () => {
    const s = await startSlotServer(ports(2)[0], 'other app');
    slots.push(s);
    await proxy.syncRoutes([{ app: 'other', slotIndex: 2 }]);
    assert.equal((await get(opts.httpPort, 'other.localhost')).body, 'other app');
    assert.equal((await get(opts.httpPort, 'myapp.localhost')).status, 404);
  });

  it('a second start() against the running Caddy reuses it without a reload', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const first = await getReused(opts.httpPort, 'other.localhost', agent);
    assert.equal(first.reused, false);
    const second = createCaddyProxy({ ...opts, watchIntervalMs: 0 });
    await second.start();
    assert.equal(second.childPid(), undefined, 'no second child');
    await second.syncRoutes([{ app: 'other', slotIndex: 2 }]);
    // A reload would have closed this idle keep-alive connection.
    const again = await getReused(opts.httpPort, 'other.localhost', agent);
    assert.deepEqual([again.status, again.reused], [200, true]);
    await second.stop();
    assert.equal(await createCaddyAdmin(opts.adminAddress).probe(), 'caddy', 'stop() leaves a Caddy it did not start running');
    agent.destroy();
  });

  it('loads hiy\'s routes again when Caddy lost them, restarts a crashed child', async () => {
    const admin = createCaddyAdmin(opts.adminAddress);
    await admin.load({ admin: { listen: `127.0.0.1:${opts.adminAddress.port}` } });
    await until('routes reloaded', async () => ((await get(opts.httpPort, 'other.localhost')).body === 'other app' ? true : undefined));
    const oldPid = proxy.childPid()!;
    process.kill(oldPid, 'SIGKILL');
    const newPid = await until('a new child', async () => { const p = proxy.childPid(); return p && p !== oldPid ? p : undefined; });
    pids.add(newPid);
    await until('routes served again', async () => ((await get(opts.httpPort, 'other.localhost')).body === 'other app' ? true : undefined));
  });

  it('a live marker moves new requests between slots with no reload, and in-flight requests are counted', async () => {
    const [a, b] = ports(3);
    await proxy.setRoute({ app: 'live', slotIndex: 3 });
    const onA = await startSlotServer(a, 'on A', 200, { bodyDelayMs: 600 });
    const onB = await startSlotServer(b, 'on B');
    slots.push(onA, onB);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    await proxy.setLive('live', { slot: 'a', replicas: 1 });
    const first = await getReused(opts.httpPort, 'live.localhost', agent);
    assert.deepEqual([first.status, first.body], [200, 'on A']);
    // A slow request on A is in flight while the marker moves to B.
    const slow = getReused(opts.httpPort, 'live.localhost', new Agent({ keepAlive: false }));
    await until('Caddy counts the request on A', async () => ((await proxy.inFlight([a])) === 1 ? true : undefined));
    await proxy.setLive('live', { slot: 'b', replicas: 1 });
    for (let i = 0; i < 5; i++) {
      const r = await getReused(opts.httpPort, 'live.localhost', agent);
      assert.deepEqual([r.status, r.body, r.reused], [200, 'on B', true], 'every new request goes to B over the same connection');
    }
    assert.equal(await proxy.inFlight([a]), 1, 'the slow request on A is still being served');
    assert.deepEqual([(await slow).status, (await slow).body], [200, 'on A'], 'and it completes');
    assert.equal(await proxy.inFlight([a, b]), 0);
    assert.equal(await proxy.inFlight([65000]), 0, 'a port Caddy never proxied to has nothing in flight');
    await proxy.setLive('live', undefined);
    assert.deepEqual(readdirSync(join(opts.liveDir, '3')), ['hosts'], 'no marker left, the host files stay');
    agent.destroy();
  });

  it('switching releases between the slots fails no request (20 keep-alive + 2 fresh loops, 6 switches, old releases cut off mid-answer)', async () => {
    const [a, b] = ports(4);
    await proxy.setRoute({ app: 'zdt', slotIndex: 4 });
    // Every answer's body comes 20 ms after its headers: closing a release that still gets
    // requests would cut some in half, which Caddy cannot retry.
    const first = await startSlotServer(a, 'v1', 200, { bodyDelayMs: 20 });
    await proxy.setLive('zdt', { slot: 'a', replicas: 1 });
    const load = startLoad({ port: opts.httpPort, host: 'zdt.localhost', keepAlive: 20, fresh: 2 });
    await new Promise((r) => setTimeout(r, 500));
    const run = await switchReleases({ proxy, app: 'zdt', first, slotPorts: [a, b], switches: 6, pauseMs: 600, drainSec: 5, bodyDelayMs: 20 });
    slots.push(run.current);
    const stats = await load.stop();
    console.error(`zero-downtime: ${stats.requests} requests, ${stats.badStatus} bad status ${JSON.stringify(stats.statusSamples)}, ${stats.connErrors} connection errors ${JSON.stringify(stats.errorSamples)}, longest ${stats.longestMs.toFixed(0)} ms`);
    assert.ok(stats.requests > 1_000, `only ${stats.requests} requests`);
    assert.equal(stats.badStatus, 0);
    assert.equal(stats.connErrors, 0);
    assert.ok(stats.longestMs < 5_000);
    const last = load.lastBodies();
    assert.equal(last.length, 22);
    assert.ok(last.every((body) => body === 'v7'), `traffic ends on the newest release: ${last.join(',')}`);
  });

  it('an app past the route slots Caddy has adds a step of them (the one case of a reload)', async () => {
    const count = async () => ((await createCaddyAdmin(opts.adminAddress).get('/config/apps/http/servers/hiy/routes')) as unknown[]).length;
    assert.equal(await count(), 16 + 2);
    await proxy.setRoute({ app: 'many', slotIndex: 16 });
    assert.equal(await count(), 32 + 2);
    await proxy.removeRoute('many');
    assert.equal(await count(), 32 + 2, 'never shrinks: that would be a reload for nothing');
  });

  it('stop() ends the child Caddy', async () => {
    const pid = proxy.childPid()!;
    await proxy.stop();
    assert.equal(alive(pid), false);
    assert.equal(proxy.childPid(), undefined);
    assert.equal(await createCaddyAdmin(opts.adminAddress).probe(), 'none');
  });
});

// localhost as in the brief; pi.test proves the internal-issuer policy itself (Caddy would pick its
// local CA for *.localhost even without one, and would try ACME for pi.test).
for (const domain of ['localhost', 'pi.test']) {
  describe(`Caddy proxy adapter (tls internal, ${domain})`, { timeout: 60_000 }, () => {
    let dataDir: string;
    let opts: CaddyProxyOptions;
    let proxy: CaddyProxy;
    let controlPlane: Server;
    let slot: SlotServer;

    before(async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'hiy-test-caddy-tls-'));
      const [cp] = await freePorts(1);
      controlPlane = await startControlPlane(cp!);
      opts = { ...(await proxyOptions(dataDir, 'internal', cp!)), domain };
      proxy = createCaddyProxy(opts);
      slot = await startSlotServer(allSlotPorts({ slot_index: 0 }, opts.slotPortBase)[1]!, 'secure app');
      await proxy.syncRoutes([{ app: 'app', slotIndex: 0 }]);
    });

    after(async () => {
      const pid = proxy.childPid();
      await proxy.stop().catch(() => undefined);
      if (pid && alive(pid)) process.kill(pid, 'SIGKILL');
      await slot.close('abrupt');
      controlPlane.closeAllConnections();
      await new Promise((r) => controlPlane.close(r));
      await rm(dataDir, { recursive: true, force: true });
    });

    it('serves apps and the control plane over HTTPS with certificates from the local CA', async () => {
      await proxy.start();
      const ca = await until('root.crt', async () => readFile(join(dataDir, 'caddy', 'pki', 'authorities', 'local', 'root.crt'), 'utf8'));
      const app = await until(`a certificate for app.${domain}`, () => httpsGet(opts.httpsPort, `app.${domain}`, ca));
      assert.deepEqual([app.status, app.body], [200, 'secure app']);
      const cp = await until(`a certificate for hiy.${domain}`, () => httpsGet(opts.httpsPort, `hiy.${domain}`, ca));
      assert.deepEqual([cp.status, cp.body], [200, 'control-plane https']);
      // Plain HTTP on the configured port redirects to HTTPS on the configured port.
      const plain = await get(opts.httpPort, `app.${domain}`, { path: '/x?y=1' });
      assert.equal(plain.status, 308);
      assert.equal(plain.headers.location, `https://app.${domain}:${opts.httpsPort}/x?y=1`);
    });
  });
}

function httpsGet(port: number, host: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, servername: host, headers: { Host: host }, ca, agent: false, timeout: 5_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

describe('Caddy proxy adapter start failures', { timeout: 30_000 }, () => {
  it('refuses an admin address where something else answers', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'hiy-test-caddy-other-'));
    const [cp] = await freePorts(1);
    const opts = await proxyOptions(dataDir, 'off', cp!);
    const impostor = createServer((_req, res) => res.end('<html>not caddy</html>'));
    await new Promise<void>((r) => impostor.listen(opts.adminAddress.port, '127.0.0.1', () => r()));
    try {
      await assert.rejects(createCaddyProxy(opts).start(), /something that is not Caddy answers/);
    } finally {
      impostor.closeAllConnections();
      await new Promise((r) => impostor.close(r));
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('reports what the binary said when it exits during start', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'hiy-test-caddy-bad-'));
    const [cp] = await freePorts(1);
    // `sleep run --config …` fails at once, like a Caddy that cannot read its config.
    const opts = { ...(await proxyOptions(dataDir, 'off', cp!)), caddyBin: '/bin/sleep' };
    try {
      await assert.rejects(createCaddyProxy(opts).start(), (err: Error) => {
        assert.match(err.message, /exited during start \(exit code 1\)/);
        assert.match(err.message, /sleep: unrecognized option '--config'/);
        return true;
      });
      await assert.rejects(createCaddyProxy({ ...opts, caddyBin: join(dataDir, 'no-such-caddy') }).start(), /could not start Caddy .*ENOENT/);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
