/**
 * Upgrading from a hiy whose Caddy config had one host-matched route per app (before decision 31):
 * the upgraded hiy keeps that config running (no reload while the upgrade happens), steers it with
 * live markers where the old routes look for them, and loads its route slots at the first app
 * change, which the older hiy would have reloaded for too. Upgrading from route slots without
 * notice routes (before decision 41) likewise reloads nothing until the first notice, which then
 * shows. Real /usr/bin/caddy, plain HTTP.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/log.js';
import { createCaddyAdmin } from '../../src/proxy/caddy-admin.js';
import { appProxyHandler, SERVER_NAME } from '../../src/proxy/caddy-config.js';
import type { JsonObject } from '../../src/proxy/caddy-json.js';
import { createCaddyProxy, type CaddyProxy, type CaddyProxyOptions } from '../../src/proxy/caddy.js';
import { withoutNoticeRoutes } from '../../src/proxy/pre-notice.js';
import { liveMarkerName } from '../../src/proxy/live.js';
import { allSlotPorts, portsOfSlot } from '../../src/slots.js';
import { getReused, startSlotServer, type SlotServer } from '../../harness/caddy.js';
import { repoRoot } from '../../harness/paths.js';
import { freePorts, freeSlotPortBase } from '../../harness/ports.js';

/** The route an older hiy made for an app (its appRoute), to stand in for its running config. */
function oldAppRoute(app: string, ports: number[], hosts: string[], liveDir: string): JsonObject {
  const inner: JsonObject[] = [];
  for (const slot of ['a', 'b'] as const) {
    for (let n = 1; n <= ports.length / 2; n++) {
      inner.push({ match: [{ file: { root: `${liveDir}/${app}`, try_files: [`/${liveMarkerName({ slot, replicas: n })}`] } }], handle: [appProxyHandler(portsOfSlot(ports, slot, n))], terminal: true });
    }
  }
  inner.push({ handle: [appProxyHandler(ports)], terminal: true });
  return { '@id': `hiy-app-${app}`, match: [{ host: hosts }], handle: [{ handler: 'subroute', routes: inner }], terminal: true };
}

/** Options for a proxy with a child Caddy on free loopback ports, its files in `dataDir`. */
async function proxyOptions(dataDir: string): Promise<CaddyProxyOptions & { adminAddress: { host: string; port: number } }> {
  const [admin, http, https, cp] = await freePorts(4);
  return {
    adminAddress: { host: '127.0.0.1', port: admin! }, httpPort: http!, httpsPort: https!, tls: 'off', domain: 'localhost',
    controlPlane: { host: '127.0.0.1', port: cp! }, dataDir, liveDir: join(dataDir, 'live'), slotPortBase: await freeSlotPortBase(3),
    caddyBin: '/usr/bin/caddy', log: createLogger('warn', process.stderr), pathEnv: '/usr/bin:/bin', listenHost: '127.0.0.1',
    baseConfigFile: join(repoRoot(), 'proxy', 'base.json'), watchIntervalMs: 0,
  };
}

/** Stops the proxies (the child Caddy with its owner) and slot servers, removes the data dir. */
async function cleanUp(proxies: (CaddyProxy | undefined)[], slots: SlotServer[], dataDir: string): Promise<void> {
  for (const p of proxies) await p?.stop().catch(() => undefined);
  for (const s of slots) await s.close('abrupt').catch(() => undefined);
  await rm(dataDir, { recursive: true, force: true });
}

describe('upgrading from the per-app route layout reloads nothing until the first app change', { timeout: 60_000 }, () => {
  let dataDir: string;
  let opts: CaddyProxyOptions & { adminAddress: { host: string; port: number } };
  let first: CaddyProxy;
  let upgraded: CaddyProxy | undefined;
  const slots: SlotServer[] = [];

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'hiy-test-upgrade-layout-'));
    opts = await proxyOptions(dataDir);
    // A child Caddy, then the older hiy's config in it: shop (slot index 1) with a custom domain, marker on b1.
    first = createCaddyProxy(opts);
    await first.start();
    const admin_ = createCaddyAdmin(opts.adminAddress);
    const config = (await admin_.get('/config/')) as JsonObject;
    const server = ((config.apps as JsonObject).http as JsonObject).servers as JsonObject;
    const routes = (server[SERVER_NAME] as JsonObject).routes as JsonObject[];
    const shopPorts = allSlotPorts({ slot_index: 1 }, opts.slotPortBase);
    (server[SERVER_NAME] as JsonObject).routes = [routes[0]!, oldAppRoute('shop', shopPorts, ['shop.localhost', 'shop.example.com'], opts.liveDir), routes.at(-1)!];
    await admin_.load(config);
    slots.push(await startSlotServer(shopPorts[0]!, 'shop on a'), await startSlotServer(shopPorts[1]!, 'shop on b'));
  });

  after(() => cleanUp([upgraded, first], slots, dataDir));

  it('keeps the older config and its connections through start, sync and deploys, then loads route slots at the first app change', async () => {
    const admin = createCaddyAdmin(opts.adminAddress);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const before = JSON.stringify(await admin.get('/config/'));
    upgraded = createCaddyProxy(opts);
    await upgraded.start();
    await upgraded.syncRoutes([{ app: 'shop', slotIndex: 1, extraHosts: ['shop.example.com'] }]);
    await upgraded.setLive('shop', { slot: 'a', replicas: 1 });
    assert.deepEqual(await getReused(opts.httpPort, 'shop.localhost', agent).then((r) => [r.status, r.body]), [200, 'shop on a']);
    await upgraded.setLive('shop', { slot: 'b', replicas: 1 }); // a deploy
    const onB = await getReused(opts.httpPort, 'shop.localhost', agent);
    assert.deepEqual([onB.body, onB.reused], ['shop on b', true], 'the marker steers the older routes');
    assert.equal(JSON.stringify(await admin.get('/config/')), before, 'no config change so far');
    assert.ok(existsSync(join(opts.liveDir, 'shop', 'b1')) && existsSync(join(opts.liveDir, '1', 'b1')), 'markers in both layouts');

    // The first app created: the older hiy would have reloaded too. Now route slots serve.
    await upgraded.setRoute({ app: 'blog', slotIndex: 0 });
    const ids = ((await admin.get('/config/apps/http/servers/hiy/routes')) as JsonObject[]).map((r) => String(r['@id']));
    assert.ok(ids.includes('hiy-slot-1') && !ids.some((id) => id.startsWith('hiy-app-')), ids.join(', '));
    assert.equal((await getReused(opts.httpPort, 'shop.localhost', new Agent())).body, 'shop on b');
    assert.equal((await getReused(opts.httpPort, 'shop.example.com', new Agent())).body, 'shop on b');
    assert.equal(existsSync(join(opts.liveDir, 'shop')), false, 'the older marker folder is gone');
    agent.destroy();
  });
});

describe('upgrading from route slots without notice routes reloads nothing until the first notice', { timeout: 60_000 }, () => {
  let dataDir: string;
  let opts: CaddyProxyOptions & { adminAddress: { host: string; port: number } };
  let first: CaddyProxy;
  let upgraded: CaddyProxy | undefined;
  const slots: SlotServer[] = [];
  const shop = { app: 'shop', slotIndex: 1 };

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'hiy-test-upgrade-notices-'));
    opts = await proxyOptions(dataDir);
    // The older hiy: a child Caddy running route slots without the notice routes, shop live on a1.
    first = createCaddyProxy(opts);
    await first.start();
    await first.syncRoutes([shop]);
    await first.setLive('shop', { slot: 'a', replicas: 1 });
    const admin = createCaddyAdmin(opts.adminAddress);
    await admin.load(withoutNoticeRoutes((await admin.get('/config/')) as JsonObject));
    slots.push(await startSlotServer(allSlotPorts({ slot_index: shop.slotIndex }, opts.slotPortBase)[0]!, 'shop on a'));
  });

  after(() => cleanUp([upgraded, first], slots, dataDir));

  it('keeps the running config and an idle connection through start and sync, then loads the notice routes before maintenance shows', async () => {
    const admin = createCaddyAdmin(opts.adminAddress);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    assert.deepEqual(await getReused(opts.httpPort, 'shop.localhost', agent).then((r) => [r.status, r.body]), [200, 'shop on a']);
    const before = JSON.stringify(await admin.get('/config/'));
    assert.equal(before.includes('notice-'), false, 'the older config has no notice routes');

    // The upgraded hiy starts and reconciles as main.ts does: the connection above is idle meanwhile.
    upgraded = createCaddyProxy(opts);
    await upgraded.start();
    await upgraded.syncRoutes([shop]);
    await upgraded.setLive('shop', { slot: 'a', replicas: 1 });
    const kept = await getReused(opts.httpPort, 'shop.localhost', agent);
    assert.deepEqual([kept.status, kept.body, kept.reused], [200, 'shop on a', true], 'the idle keep-alive connection survived the start');
    assert.ok(JSON.stringify(await admin.get('/config/')) === before, 'no config loaded at start');

    // maintenance:on: the notice routes are loaded first, so the page shows at once.
    await upgraded.setRoute({ ...shop, notice: 'maintenance' });
    const page = await getReused(opts.httpPort, 'shop.localhost', new Agent());
    assert.equal(page.status, 503);
    assert.match(page.body, /Down for maintenance/);
    assert.ok(JSON.stringify(await admin.get('/config/')).includes('/notice-maintenance'), 'the full config is loaded');
    assert.ok(existsSync(join(opts.liveDir, '1', 'notice-maintenance')));

    // From now on a notice is a file only: off and on again load nothing.
    const full = JSON.stringify(await admin.get('/config/'));
    await upgraded.setRoute(shop);
    assert.equal((await getReused(opts.httpPort, 'shop.localhost', agent)).body, 'shop on a');
    await upgraded.setRoute({ ...shop, notice: 'stopped' });
    const stopped = await getReused(opts.httpPort, 'shop.localhost', agent);
    assert.deepEqual([stopped.status, stopped.reused], [503, true], 'no reload for the second notice');
    assert.ok(JSON.stringify(await admin.get('/config/')) === full, 'no config loaded for notices since');
    agent.destroy();
  });
});
