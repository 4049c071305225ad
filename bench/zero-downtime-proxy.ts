/**
 * bench/zero-downtime-proxy: does switching an app between its two fixed slots cost any request?
 *
 * A real Caddy (child process, plain HTTP, loopback only), two node servers playing the
 * releases on the slot ports, 20 keep-alive + 2 fresh-connection loops of GETs, 6 switches
 * (start the idle slot, wait until it answers, close the old one: graceful and abrupt in turn).
 * Compares passive-only health checks with active + passive ones, for an app answering 200 and
 * one answering 404 (hiy's health gate accepts any status < 500), and once with a drain pause
 * between "new answers" and "old closed" as hiy's deploy has. Then: what a config reload
 * (another app added) costs keep-alive clients, and how fast an app without any running release
 * answers. Usage: node dist/bench/zero-downtime-proxy.js [--switches N] [--pause-ms N]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../src/log.js';
import { createCaddyAdmin, type CaddyAdmin } from '../src/proxy/caddy-admin.js';
import { buildCaddyConfig, type CaddyConfigOptions, type HealthMode, type JsonObject } from '../src/proxy/caddy-config.js';
import { startCaddyChild } from '../src/proxy/caddy-process.js';
import type { AppRoute } from '../src/proxy/proxy.js';
import { get, startLoad, startSlotServer, switchReleases, type LoadStats } from '../tests/helpers/caddy.js';
import { freePorts } from '../tests/helpers/ports.js';

const args = process.argv.slice(2);
const arg = (name: string, def: number): number => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? Number(args[i + 1]) : def;
};
const SWITCHES = arg('--switches', 6);
const PAUSE_MS = arg('--pause-ms', 1_500);
const VERBOSE = args.includes('--verbose');
const BASE: JsonObject = { apps: { pki: { certificate_authorities: { local: { install_trust: false } } } } };

interface Row {
  scenario: string;
  stats: LoadStats;
  note: string;
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'hiy-bench-proxy-'));
  const [adminPort, httpPort, httpsPort, cpPort] = await freePorts(4);
  const opts: CaddyConfigOptions = {
    adminAddress: { host: '127.0.0.1', port: adminPort! },
    listenHost: '127.0.0.1',
    httpPort: httpPort!,
    httpsPort: httpsPort!,
    tls: 'off',
    domain: 'localhost',
    controlPlane: { host: '127.0.0.1', port: cpPort! },
  };
  const admin = createCaddyAdmin(opts.adminAddress);
  const log = createLogger('warn', process.stderr);
  const child = await startCaddyChild({
    caddyBin: process.env.HIY_CADDY_BIN ?? '/usr/bin/caddy',
    dataDir,
    adminAddress: opts.adminAddress,
    pathEnv: process.env.PATH ?? '/usr/bin:/bin',
    log,
    isReady: async () => (await admin.probe()) === 'caddy',
  });
  const rows: Row[] = [];
  // Ctrl-C or a timeout must not leave the child Caddy behind.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void child.stop(1_000).finally(() => process.exit(130)));
  }
  try {
    for (const [kind, status, drainMs] of [['passive', 200, 0], ['active', 200, 0], ['passive', 404, 0], ['active', 404, 0], ['passive', 200, 2_000]] as const) {
      const health: HealthMode = kind === 'active' ? { kind, uri: '/' } : { kind };
      rows.push(await switchScenario(admin, opts, health, status, drainMs));
    }
    rows.push(await steadyScenario(admin, opts));
    rows.push(await reloadScenario(admin, opts));
    rows.push(await noServerScenario(admin, opts));
  } finally {
    await child.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
  printTable(rows);
}

async function switchScenario(admin: CaddyAdmin, opts: CaddyConfigOptions, health: HealthMode, status: number, drainMs: number): Promise<Row> {
  const [a, b] = await freePorts(2) as [number, number];
  const route: AppRoute = { app: 'bench', slotPorts: [a, b] };
  await admin.load(buildCaddyConfig(BASE, opts, [route], () => health));
  const first = await startSlotServer(a, 'v1', status);
  await sleep(1_200); // let active checks see slot A once
  const load = startLoad({ port: opts.httpPort, host: 'bench.localhost', keepAlive: 20, fresh: 2, expectStatus: status });
  await sleep(1_000);
  const run = await switchReleases({ first, slotPorts: [a, b], switches: SWITCHES, pauseMs: PAUSE_MS, drainMs, status, log: VERBOSE ? (l) => console.error(l) : undefined });
  const stats = await load.stop();
  if (VERBOSE) for (const s of stats.slow) console.error(`${s.at.toFixed(0)} slow ${s.ms.toFixed(0)} ms: ${s.result}`);
  await run.current.close('abrupt');
  const last = load.lastBodies();
  const lastOk = last.length === 22 && last.every((body) => body === run.current.body);
  return { scenario: `${health.kind}, app answers ${status}${drainMs ? `, old closed ${drainMs} ms after new answers` : ''}`, stats, note: `${SWITCHES} switches; last answers from ${run.current.body}: ${lastOk ? 'all loops' : 'NOT all loops'}` };
}

/** No switch: the release runs on the second slot, the first is empty (half of all apps, between deploys). */
async function steadyScenario(admin: CaddyAdmin, opts: CaddyConfigOptions): Promise<Row> {
  const [a, b] = await freePorts(2) as [number, number];
  await admin.load(buildCaddyConfig(BASE, opts, [{ app: 'bench', slotPorts: [a, b] }]));
  const server = await startSlotServer(b, 'v1');
  const load = startLoad({ port: opts.httpPort, host: 'bench.localhost', keepAlive: 20, fresh: 2 });
  await sleep(10_000);
  const stats = await load.stop();
  await server.close('abrupt');
  return { scenario: 'passive, no switch, release on 2nd slot', stats, note: '10 s; the empty 1st slot is retried once per fail_duration' };
}

/** Another app's route added three times while keep-alive clients of this app keep going. */
async function reloadScenario(admin: CaddyAdmin, opts: CaddyConfigOptions): Promise<Row> {
  const [a, b, c, d] = await freePorts(4) as [number, number, number, number];
  const routes: AppRoute[] = [{ app: 'bench', slotPorts: [a, b] }];
  await admin.load(buildCaddyConfig(BASE, opts, routes));
  const server = await startSlotServer(a, 'v1');
  const load = startLoad({ port: opts.httpPort, host: 'bench.localhost', keepAlive: 20, fresh: 2 });
  await sleep(1_000);
  for (let i = 0; i < 3; i++) {
    routes.push({ app: `other${i}`, slotPorts: [c, d] });
    await admin.load(buildCaddyConfig(BASE, opts, routes));
    await sleep(1_000);
  }
  const stats = await load.stop();
  await server.close('abrupt');
  return { scenario: 'passive, 3 routes of other apps added', stats, note: 'each add = one config reload' };
}

/** An app that was created but never deployed: nothing listens on either slot. */
async function noServerScenario(admin: CaddyAdmin, opts: CaddyConfigOptions): Promise<Row> {
  const [a, b] = await freePorts(2) as [number, number];
  await admin.load(buildCaddyConfig(BASE, opts, [{ app: 'empty', slotPorts: [a, b] }]));
  const t0 = performance.now();
  const res = await get(opts.httpPort, 'empty.localhost', { timeoutMs: 30_000 });
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
