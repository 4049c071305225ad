/**
 * bench/zero-downtime-proxy: does switching an app between its two fixed slots cost any request?
 *
 * A real Caddy (hiy's proxy adapter, child process, plain HTTP, loopback only), node servers
 * playing the releases on the slot ports (each answer's body 20 ms after its headers, like a
 * busy app), 20 keep-alive + 2 fresh-connection loops of GETs, N switches: start the idle slot,
 * wait until it answers, then close the old one (graceful and abrupt in turn). Compared:
 * - the old release closed while Caddy may still pick it (hiy before the live markers: only
 *   health checks kept Caddy away from a dying slot), and
 * - hiy's switch: the live marker moves to the new slot, the old one drains (Caddy proxies
 *   nothing to it any more), then closes.
 * Then what other apps coming and going cost keep-alive clients of this app: hiy's way (3 apps
 * created, a custom domain added and removed, the 3 apps destroyed: host files, no config change)
 * next to one path-level admin API change (PUT of one route, what any config change costs in
 * Caddy 2.6: a reload), and how fast an app without any running release answers.
 * Usage: node dist/bench/zero-downtime-proxy.js [--switches N] [--pause-ms N]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../src/log.js';
import { createCaddyProxy, type CaddyProxy } from '../src/proxy/caddy.js';
import { repoRoot } from '../harness/paths.js';
import { get, startLoad, startSlotServer, switchReleases, type LoadStats } from '../harness/caddy.js';
import { freePorts, freeSlotPortBase } from '../harness/ports.js';
import { allSlotPorts } from '../src/slots.js';

const args = process.argv.slice(2);
const arg = (name: string, def: number): number => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? Number(args[i + 1]) : def;
};
const SWITCHES = arg('--switches', 6);
const PAUSE_MS = arg('--pause-ms', 1_500);
const VERBOSE = args.includes('--verbose');
const BODY_DELAY_MS = 20;

interface Row {
  scenario: string;
  stats: LoadStats;
  note: string;
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'hiy-bench-proxy-'));
  const [adminPort, httpPort, httpsPort, cpPort] = await freePorts(4);
  const slotPortBase = await freeSlotPortBase(9);
  ports = (i) => allSlotPorts({ slot_index: i }, slotPortBase).slice(0, 2) as [number, number];
  const proxy = createCaddyProxy({
    adminAddress: { host: '127.0.0.1', port: adminPort! },
    listenHost: '127.0.0.1',
    httpPort: httpPort!,
    httpsPort: httpsPort!,
    tls: 'off',
    domain: 'localhost',
    controlPlane: { host: '127.0.0.1', port: cpPort! },
    dataDir,
    liveDir: join(dataDir, 'run', 'live'),
    slotPortBase,
    caddyBin: process.env.HIY_CADDY_BIN ?? '/usr/bin/caddy',
    // Caddy logs every cut-off answer of the first scenario as an error: the table counts them.
    log: createLogger('fatal', process.stderr),
    pathEnv: process.env.PATH ?? '/usr/bin:/bin',
    baseConfigFile: join(repoRoot(), 'proxy', 'base.json'),
    watchIntervalMs: 0,
  });
  await proxy.start();
  const rows: Row[] = [];
  // Ctrl-C or a timeout must not leave the child Caddy behind.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void proxy.stop().finally(() => process.exit(130)));
  }
  try {
    rows.push(await switchScenario(proxy, httpPort!, 'old release closed while still routed', false, 200, 0));
    rows.push(await switchScenario(proxy, httpPort!, 'live marker moved, old release drained, then closed', true, 200, 1));
    rows.push(await switchScenario(proxy, httpPort!, 'same, app answering 404', true, 404, 2));
    rows.push(await appsScenario(proxy, httpPort!));
    rows.push(await pathLevelScenario(proxy, httpPort!, adminPort!));
    rows.push(await noServerScenario(proxy, httpPort!));
  } finally {
    await proxy.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
  printTable(rows);
}

/** Slot a and b of web replica 0 of slot index i. */
let ports: (i: number) => [number, number];

async function switchScenario(proxy: CaddyProxy, httpPort: number, scenario: string, marker: boolean, status: number, slotIndex: number): Promise<Row> {
  const [a, b] = ports(slotIndex);
  const app = `bench${marker ? 'm' : 'n'}${status}`;
  await proxy.setRoute({ app, slotIndex });
  const first = await startSlotServer(a, 'v1', status, { bodyDelayMs: BODY_DELAY_MS });
  if (marker) await proxy.setLive(app, { slot: 'a', replicas: 1 });
  const load = startLoad({ port: httpPort, host: `${app}.localhost`, keepAlive: 20, fresh: 2, expectStatus: status });
  await sleep(1_000);
  const run = await switchReleases({
    app, first, slotPorts: [a, b], switches: SWITCHES, pauseMs: PAUSE_MS, drainSec: 10, status, bodyDelayMs: BODY_DELAY_MS,
    ...(marker ? { proxy } : {}),
    ...(VERBOSE ? { log: (l: string) => console.error(l) } : {}),
  });
  const stats = await load.stop();
  if (VERBOSE) for (const s of stats.slow) console.error(`${s.at.toFixed(0)} slow ${s.ms.toFixed(0)} ms: ${s.result}`);
  await run.current.close('abrupt');
  const last = load.lastBodies();
  const lastOk = last.length === 22 && last.every((body) => body === run.current.body);
  return { scenario, stats, note: `${SWITCHES} switches, app answers ${status}; last answers from ${run.current.body}: ${lastOk ? 'all loops' : 'NOT all loops'}` };
}

/** This app under load while three other apps are created, one gets a custom domain and loses it, all three are destroyed. */
async function appsScenario(proxy: CaddyProxy, httpPort: number): Promise<Row> {
  return underLoad(proxy, httpPort, 'benchr', 3, async (step) => {
    for (let i = 0; i < 3; i++) await step(() => proxy.setRoute({ app: `other${i}`, slotIndex: 4 + i }));
    await step(() => proxy.setRoute({ app: 'other0', slotIndex: 4, extraHosts: ['shop.example.com'] }));
    await step(() => proxy.setRoute({ app: 'other0', slotIndex: 4 }));
    for (let i = 0; i < 3; i++) await step(() => proxy.removeRoute(`other${i}`));
  }).then((stats) => ({ scenario: '3 other apps created, a domain added + removed, 3 apps destroyed', stats, note: '8 changes through hiy\'s proxy adapter (host files)' }));
}

/** The same load while one route is added and deleted by path through the admin API (what the issue asked to try). */
async function pathLevelScenario(proxy: CaddyProxy, httpPort: number, adminPort: number): Promise<Row> {
  // Straight to the admin API: hiy's adapter never changes the config by path.
  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`http://127.0.0.1:${adminPort}${path}`, { method, headers: { 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  };
  const stats = await underLoad(proxy, httpPort, 'benchp', 7, async (step) => {
    for (let i = 0; i < 3; i++) {
      const route = { '@id': `bench-path-${i}`, match: [{ host: [`path${i}.localhost`] }], handle: [{ handler: 'static_response', body: 'x' }] };
      await step(() => admin('PUT', '/config/apps/http/servers/hiy/routes/0', route));
      await step(() => admin('DELETE', `/id/bench-path-${i}`));
    }
  });
  return { scenario: 'path-level admin API: PUT .../routes/0, DELETE /id/<id> (3 each)', stats, note: 'Caddy 2.6 reloads on every config change, also by path' };
}

async function underLoad(proxy: CaddyProxy, httpPort: number, app: string, slotIndex: number, act: (step: (fn: () => Promise<unknown>) => Promise<void>) => Promise<void>): Promise<LoadStats> {
  await proxy.setRoute({ app, slotIndex });
  await proxy.setLive(app, { slot: 'a', replicas: 1 });
  const server = await startSlotServer(ports(slotIndex)[0], 'v1');
  const load = startLoad({ port: httpPort, host: `${app}.localhost`, keepAlive: 20, fresh: 2 });
  await sleep(1_000);
  await act(async (fn) => {
    await fn();
    await sleep(700);
  });
  const stats = await load.stop();
  await server.close('abrupt');
  return stats;
}

/** An app that was created but never deployed: nothing listens on either slot. */
async function noServerScenario(proxy: CaddyProxy, httpPort: number): Promise<Row> {
  await proxy.setRoute({ app: 'empty', slotIndex: 8 });
  const t0 = performance.now();
  const res = await get(httpPort, 'empty.localhost', { timeoutMs: 30_000 });
  const ms = performance.now() - t0;
  const stats: LoadStats = { requests: 1, ok: 0, badStatus: 1, connErrors: 0, errorSamples: [], statusSamples: [res.status], longestMs: ms, over50ms: 1, slow: [], bodies: new Map() };
  return { scenario: 'no release running (both slots empty)', stats, note: `answered ${res.status} "${res.body.trim()}"` };
}

function printTable(rows: Row[]): void {
  const head = ['scenario', 'requests', 'ok', 'non-app status', 'conn errors', '>=50 ms', 'longest ms', 'note'];
  const lines = rows.map((r) => [
    r.scenario,
    String(r.stats.requests),
    String(r.stats.ok),
    r.stats.badStatus + (r.stats.statusSamples.length ? ` (${[...new Set(r.stats.statusSamples)].join(',')})` : ''),
    r.stats.connErrors + (r.stats.errorSamples.length ? ` (${[...new Set(r.stats.errorSamples)].join(',')})` : ''),
    String(r.stats.over50ms),
    r.stats.longestMs.toFixed(0),
    r.note,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ');
  console.log(fmt(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
  for (const l of lines) console.log(fmt(l));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
