/**
 * bench/upgrade-notices: what the first start of a hiy with notice routes (decision 41) costs
 * keep-alive clients when Caddy still runs the older hiy's route slots without them.
 *
 * A real Caddy (child process, plain HTTP, loopback only), one app on slot index 1 served by a
 * node server, 4 keep-alive loops of GETs. Each cycle loads the older config (outside the measured
 * window), then while the load runs, either:
 * - loads hiy's full config (what every start did before src/proxy/pre-notice.ts), or
 * - starts a hiy proxy against the running Caddy and reconciles the app, as main.ts does.
 * Usage: node dist/bench/upgrade-notices.js [--cycles N]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../src/log.js';
import { createCaddyAdmin } from '../src/proxy/caddy-admin.js';
import type { JsonObject } from '../src/proxy/caddy-json.js';
import { createCaddyProxy, type CaddyProxyOptions } from '../src/proxy/caddy.js';
import { withoutNoticeRoutes } from '../src/proxy/pre-notice.js';
import { allSlotPorts } from '../src/slots.js';
import { startLoad, startSlotServer, type LoadStats } from '../harness/caddy.js';
import { repoRoot } from '../harness/paths.js';
import { freePorts, freeSlotPortBase } from '../harness/ports.js';

const args = process.argv.slice(2);
const at = args.indexOf('--cycles');
const CYCLES = at >= 0 && args[at + 1] ? Number(args[at + 1]) : 20;
const shop = { app: 'shop', slotIndex: 1 };

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'hiy-bench-upgrade-notices-'));
  const [admin, http, https, cp] = await freePorts(4);
  const opts: CaddyProxyOptions = {
    adminAddress: { host: '127.0.0.1', port: admin! }, httpPort: http!, httpsPort: https!, tls: 'off', domain: 'localhost',
    controlPlane: { host: '127.0.0.1', port: cp! }, dataDir, liveDir: join(dataDir, 'live'), slotPortBase: await freeSlotPortBase(3),
    caddyBin: process.env.HIY_CADDY_BIN ?? '/usr/bin/caddy', log: createLogger('fatal', process.stderr),
    pathEnv: process.env.PATH ?? '/usr/bin:/bin', listenHost: '127.0.0.1', baseConfigFile: join(repoRoot(), 'proxy', 'base.json'), watchIntervalMs: 0,
  };
  // The child Caddy's owner; the proxies of the cycles find it running and leave it alone.
  const first = createCaddyProxy(opts);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void first.stop().finally(() => process.exit(130)));
  await first.start();
  await first.syncRoutes([shop]);
  await first.setLive('shop', { slot: 'a', replicas: 1 });
  const api = createCaddyAdmin(opts.adminAddress);
  const full = (await api.get('/config/')) as JsonObject;
  const older = withoutNoticeRoutes(full);
  const server = await startSlotServer(allSlotPorts({ slot_index: shop.slotIndex }, opts.slotPortBase)[0]!, 'shop on a');
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

  async function scenario(start: () => Promise<void>): Promise<{ stats: LoadStats; loads: number }> {
    const total: LoadStats = { requests: 0, ok: 0, badStatus: 0, connErrors: 0, errorSamples: [], statusSamples: [], longestMs: 0, over50ms: 0, slow: [], bodies: new Map() };
    let loads = 0;
    for (let i = 0; i < CYCLES; i++) {
      await api.load(older);
      await pause(300);
      const before = JSON.stringify(await api.get('/config/'));
      const load = startLoad({ port: http!, host: 'shop.localhost', keepAlive: 4, fresh: 0 });
      await pause(200);
      await start();
      await pause(300);
      const s = await load.stop();
      if (JSON.stringify(await api.get('/config/')) !== before) loads++;
      total.requests += s.requests;
      total.ok += s.ok;
      total.badStatus += s.badStatus;
      total.connErrors += s.connErrors;
      for (const e of s.errorSamples) if (!total.errorSamples.includes(e)) total.errorSamples.push(e);
      total.longestMs = Math.max(total.longestMs, s.longestMs);
    }
    return { stats: total, loads };
  }

  try {
    const rows = [
      { scenario: 'full config loaded at start (before pre-notice.ts)', ...await scenario(() => api.load(full)) },
      {
        scenario: 'hiy starts and reconciles', ...await scenario(async () => {
          const upgraded = createCaddyProxy(opts);
          await upgraded.start();
          await upgraded.syncRoutes([shop]);
          await upgraded.setLive('shop', { slot: 'a', replicas: 1 });
          await upgraded.stop();
        }),
      },
    ];
    console.log(`${CYCLES} starts each, 4 keep-alive loops`);
    console.log('scenario'.padEnd(52), 'config loads', 'requests', 'conn errors', 'bad status', 'longest ms', 'errors');
    for (const r of rows) {
      console.log(r.scenario.padEnd(52), String(r.loads).padStart(12), String(r.stats.requests).padStart(8), String(r.stats.connErrors).padStart(11),
        String(r.stats.badStatus).padStart(10), r.stats.longestMs.toFixed(0).padStart(10), r.stats.errorSamples.join(',') || '-');
    }
  } finally {
    await server.close('abrupt').catch(() => undefined);
    await first.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
