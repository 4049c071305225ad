/**
 * The Proxy adapter: hiy owns one Caddy through its admin API.
 *
 * Caddy 2.6 reloads everything on any admin change, a path-level POST/PUT/DELETE of one route as
 * much as a POST /load (measured: bench/zero-downtime-proxy.ts), and a reload closes idle
 * keep-alive connections of ALL apps. So the config does not name apps at all: it holds route
 * slots (caddy-config.ts), and apps come and go as host files (host-files.ts), deploys and
 * scaling as live markers (live.ts), files Caddy stats per request. The config changes only when
 * the route slots run out (every ROUTE_SLOT_STEP apps), with the wildcard certificate (dns), or
 * when Caddy lost it; each change is one `POST /load` of the whole config, which cannot leave a
 * duplicate `@id` behind (Caddy accepts those silently) and is skipped by Caddy when unchanged.
 */
import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { CaddyAdminAddress, HostPort, TlsMode } from '../config.js';
import { HiyError } from '../errors.js';
import type { Logger } from '../log.js';
import { createCaddyAdmin } from './caddy-admin.js';
import { defaultBaseConfigFile, readBaseConfig } from './caddy-base-config.js';
import { legacyCaddyTrusted } from './caddy-legacy-admin.js';
import { adminLabel, appHost, buildCaddyConfig, hiyRoutesOf, routeSlotsFor, routeSlotsOf, slotDials, type CaddyConfigOptions } from './caddy-config.js';
import { oldLayoutRoutes, sameApartFromApps, sameRoutes } from './old-layout.js';
import { runsWithoutNoticeRoutes } from './pre-notice.js';
import type { JsonObject } from './caddy-json.js';
import type { LoadedCertificate } from './caddy-tls.js';
import { createHostFiles } from './host-files.js';
import { createNoticeFiles } from './notices.js';
import { createLiveMarkers, liveMarkerName } from './live.js';
import { startCaddyChild, type CaddyChild } from './caddy-process.js';
import type { AppRoute, Proxy } from './proxy.js';

export interface CaddyProxyOptions {
  adminAddress: CaddyAdminAddress;
  httpPort: number;
  httpsPort: number;
  tls: TlsMode;
  domain: string;
  /** Where hiy's own HTTP server listens (target of hiy.<domain>). */
  controlPlane: HostPort;
  /** hiy's data dir; a child Caddy keeps its storage in <dataDir>/caddy. */
  dataDir: string;
  /**
   * Where the upstream hosts (setUpstreamHosts) are kept across restarts, so a restarted hiy
   * loads the config Caddy runs and no reload happens; default <dataDir>/upstream-hosts.json.
   */
  upstreamHostsFile?: string;
  /** Where the live markers and host files go (live.ts, host-files.ts); Caddy must be able to stat files there. */
  liveDir: string;
  /** HIY_SLOT_PORT_BASE: the ports of each route slot (slots.ts). */
  slotPortBase: number;
  caddyBin: string;
  log: Logger;
  /** PATH for a child Caddy. */
  pathEnv: string;
  /** Interface Caddy's HTTP(S) listeners bind to: '' (default) = all, tests use 127.0.0.1. */
  listenHost?: string;
  /** The static part of the config; default <hiy root>/proxy/base.json. */
  baseConfigFile?: string;
  /** How long a child Caddy may take until its admin API answers (default 10 s). */
  startTimeoutMs?: number;
  /** How often to check that Caddy still runs hiy's config (default 10 s; 0 = never). */
  watchIntervalMs?: number;
  /** Caddy's own ACME issuer (HIY_ACME_CA / HIY_ACME_CA_ROOT); undefined = Caddy's defaults. */
  acmeIssuer?: CaddyConfigOptions['acmeIssuer'];
  /** HIY_TRUSTED_PROXIES as CIDRs. */
  trustedProxies?: readonly string[];
  /**
   * Where a Caddy started before the admin API moved to a socket may still listen (upgrades of a
   * root hiy with default settings; caddy-legacy-admin.ts). Undefined: never looked at.
   */
  legacyAdminAddress?: HostPort;
}

export interface CaddyProxy extends Proxy {
  /** pid of the child Caddy hiy started, undefined when an existing Caddy is used. */
  childPid(): number | undefined;
}

export function createCaddyProxy(opts: CaddyProxyOptions): CaddyProxy {
  const log = opts.log.child({ component: 'proxy' });
  const socketAdmin = createCaddyAdmin(opts.adminAddress);
  let admin = socketAdmin;
  const configOpts: CaddyConfigOptions = {
    adminAddress: opts.adminAddress,
    listenHost: opts.listenHost ?? '',
    httpPort: opts.httpPort,
    httpsPort: opts.httpsPort,
    tls: opts.tls,
    domain: opts.domain,
    controlPlane: opts.controlPlane,
    liveDir: opts.liveDir,
    slotPortBase: opts.slotPortBase,
    acmeIssuer: opts.acmeIssuer,
    trustedProxies: opts.trustedProxies ?? [],
    certificates: [],
  };
  const upstreamHostsFile = opts.upstreamHostsFile ?? join(opts.dataDir, 'upstream-hosts.json');
  const live = createLiveMarkers(opts.liveDir);
  const hostFiles = createHostFiles(opts.liveDir);
  const notices = createNoticeFiles(opts.liveDir);
  const routes = new Map<string, AppRoute>();
  /** Route slots in the config Caddy runs (0 = none loaded yet). */
  let routeSlots = 0;
  /** The per-app routes of an older hiy's config while Caddy still runs it (old-layout.ts). */
  let oldLayout: AppRoute[] | undefined;
  /** Caddy runs a config without the notice routes (an older hiy's, pre-notice.ts, or the old layout). */
  let noticeRoutesMissing = false;
  let child: CaddyChild | undefined;
  let base: JsonObject | undefined;
  let started = false;
  let watchTimer: NodeJS.Timeout | undefined;

  // One admin change at a time, in call order: two loads racing could apply an older route set last.
  let queue: Promise<unknown> = Promise.resolve();
  function serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = queue.then(fn, fn);
    queue = next.catch(() => undefined);
    return next;
  }

  async function ensureCaddy(): Promise<void> {
    let who = await admin.probe();
    if (who === 'none' && await adoptLegacy()) who = 'caddy';
    if (who === 'caddy') {
      if (!child) {
        log.info({ admin: admin.baseUrl }, 'using the Caddy that answers on the admin address');
        await warnIfOpen(opts.adminAddress, log);
      }
      return;
    }
    if (who === 'other') {
      throw new HiyError('unavailable', `something that is not Caddy answers on the Caddy admin address ${admin.baseUrl} (HIY_CADDY_ADMIN)`);
    }
    child = await startCaddyChild({
      caddyBin: opts.caddyBin,
      dataDir: opts.dataDir,
      adminAddress: opts.adminAddress,
      pathEnv: opts.pathEnv,
      log,
      readyTimeoutMs: opts.startTimeoutMs,
      isReady: async () => (await admin.probe()) === 'caddy',
    });
  }

  /** A caddy.service still on its old TCP admin address (caddy-legacy-admin.ts): used where it is. */
  async function adoptLegacy(): Promise<boolean> {
    const legacy = opts.legacyAdminAddress;
    if (!legacy || !legacyCaddyTrusted(legacy.port)) return false;
    const client = createCaddyAdmin(legacy);
    if ((await client.probe()) !== 'caddy') return false;
    admin = client;
    configOpts.adminAddress = legacy;
    log.warn({ admin: client.baseUrl }, 'caddy.service still has its admin API on TCP (started before the upgrade): used as it is so the apps keep serving; it moves to the socket at its next restart (systemctl restart caddy, or a reboot)');
    return true;
  }

  /** The legacy Caddy restarted with the drop-in: back to the socket, and hiy's config into it. */
  async function leaveLegacy(): Promise<boolean> {
    if (admin === socketAdmin || (await socketAdmin.probe()) !== 'caddy') return false;
    admin = socketAdmin;
    configOpts.adminAddress = opts.adminAddress;
    log.info({ admin: socketAdmin.baseUrl }, 'Caddy\'s admin API is on the socket now');
    await push();
    return true;
  }

  /** The certificates of the last config Caddy accepted (JSON), so an equal set is not loaded twice. */
  let loadedCertificates: string | undefined;

  /** Route slots enough for every app, never fewer than Caddy runs (shrinking would be a reload for nothing). */
  function wantedRouteSlots(): number {
    return Math.max(routeSlots, routeSlotsFor(Math.max(-1, ...[...routes.values()].map((r) => r.slotIndex))));
  }

  async function generated(): Promise<JsonObject> {
    base ??= await readBaseConfig(opts.baseConfigFile ?? defaultBaseConfigFile());
    return buildCaddyConfig(base, configOpts, wantedRouteSlots());
  }

  async function push(): Promise<void> {
    const certificates = JSON.stringify(configOpts.certificates ?? []);
    const slots = wantedRouteSlots();
    await admin.load(await generated());
    loadedCertificates = certificates;
    routeSlots = slots;
    if (noticeRoutesMissing) log.info('Caddy runs the notice routes now (maintenance and stopped pages)');
    noticeRoutesMissing = false;
    if (oldLayout) {
      log.info('Caddy runs hiy\'s route slots now (the older hiy\'s per-app routes are gone)');
      oldLayout = undefined;
      await live.prune(keptKeys());
    }
  }

  /** Route slot folders in use, and while the old layout runs its per-app marker folders (old-layout.ts). */
  function keptKeys(): Set<string> {
    return new Set([...[...routes.values()].map((r) => String(r.slotIndex)), ...(oldLayout ?? []).map((r) => r.app)]);
  }

  /** A route change: the old layout (old-layout.ts) is replaced now, else only new route slots cost a load. */
  async function routesChanged(): Promise<void> {
    if (!started) return;
    if (!oldLayout) await growIfNeeded();
    else if (!sameRoutes(oldLayout, [...routes.values()])) await push();
  }

  /** A new app's slot index past the route slots Caddy has: the one case where an app costs a reload. */
  async function growIfNeeded(): Promise<void> {
    if (!started || wantedRouteSlots() <= routeSlots) return;
    log.warn({ routeSlots, wanted: wantedRouteSlots() }, 'more apps than route slots: Caddy reloads once to add route slots (idle keep-alive connections are closed)');
    await push();
  }

  async function writeHosts(route: AppRoute): Promise<void> {
    await hostFiles.set(String(route.slotIndex), [appHost(route.app, opts.domain), ...(route.extraHosts ?? [])]);
    // A config without notice routes would ignore the file: load hiy's first, or fail before writing it.
    if (route.notice && noticeRoutesMissing) await push();
    await notices.set(String(route.slotIndex), route.notice);
  }

  /**
   * hiy restarted against a running Caddy: its route slots are kept (an equal config is no reload).
   * Route slots without notice routes (pre-notice.ts) keep running until the first notice or load.
   * The per-app routes of an older hiy's config become host files, and that config keeps running
   * until the first change if it serves what hiy would (old-layout.ts): an upgrade reloads nothing.
   */
  async function adoptRunningConfig(): Promise<boolean> {
    // The whole config, not a sub-path: a missing path makes Caddy log an error for nothing.
    const running = await admin.get('/config/');
    routeSlots = routeSlotsOf(hiyRoutesOf(running));
    // A notice set before start is on disk already: it needs the notice routes now.
    if ([...routes.values()].some((r) => r.notice)) return false;
    if (runsWithoutNoticeRoutes(running, await generated())) {
      noticeRoutesMissing = true;
      loadedCertificates = JSON.stringify(configOpts.certificates ?? []);
      log.info({ routeSlots }, 'Caddy keeps the older hiy\'s route slots (no notice routes) until the first notice or config change (no reload during the upgrade)');
      return true;
    }
    const old = oldLayoutRoutes(running, opts.slotPortBase);
    if (!old) return false;
    if (routes.size === 0) for (const r of old) routes.set(r.app, r);
    for (const r of routes.values()) await writeHosts(r);
    if (!sameRoutes(old, [...routes.values()]) || !sameApartFromApps(running, await generated())) return false;
    oldLayout = old;
    noticeRoutesMissing = true;
    loadedCertificates = JSON.stringify(configOpts.certificates ?? []);
    log.info({ apps: old.map((r) => r.app) }, 'Caddy keeps the older hiy\'s per-app routes until the first app or domain change (no reload during the upgrade)');
    return true;
  }

  function indexOf(app: string): number {
    const route = routes.get(app);
    if (!route) throw new HiyError('internal', `the proxy has no route for app ${app}`);
    return route.slotIndex;
  }

  function watch(): void {
    const interval = opts.watchIntervalMs ?? 10_000;
    if (interval <= 0) return;
    watchTimer = setTimeout(() => {
      void serial(checkCaddy).catch((err) => log.warn({ err }, 'Caddy check failed')).finally(() => {
        if (started) watch();
      });
    }, interval);
    watchTimer.unref();
  }

  /** A crashed child is restarted; a Caddy that lost hiy's config (restarted by systemd) gets it back. */
  async function checkCaddy(): Promise<void> {
    if (!started) return;
    if (child?.exited()) {
      log.error({ output: child.outputTail(10) }, 'the child Caddy exited; starting it again');
      child = undefined;
      await ensureCaddy();
      await push();
      return;
    }
    if (await leaveLegacy()) return;
    if ((await admin.probe()) !== 'caddy') {
      log.warn({ admin: admin.baseUrl }, 'Caddy does not answer on its admin address');
      return;
    }
    if (hiyRoutesOf(await admin.get('/config/')) === undefined) {
      log.warn('Caddy runs without hiy\'s routes (restarted?); loading them again');
      await push();
    }
  }

  return {
    childPid: () => (child && !child.exited() ? child.pid : undefined),

    start: () => serial(async () => {
      if (started) return;
      const hosts = await readUpstreamHosts(upstreamHostsFile);
      if (hosts) configOpts.upstreamHosts = hosts;
      await ensureCaddy();
      if (!(await adoptRunningConfig())) await push();
      started = true;
      log.info({ tls: opts.tls, domain: opts.domain, http: opts.httpPort, https: opts.httpsPort, apps: routes.size }, 'Caddy serves hiy\'s config');
      watch();
    }),

    syncRoutes: (list) => serial(async () => {
      const next = new Map<string, AppRoute>();
      const indexes = new Set<number>();
      for (const r of list) {
        if (next.has(r.app)) throw new HiyError('internal', `two routes for app ${r.app}`);
        if (indexes.has(r.slotIndex)) throw new HiyError('internal', `two apps on slot index ${r.slotIndex}`);
        next.set(r.app, copyRoute(r));
        indexes.add(r.slotIndex);
      }
      routes.clear();
      for (const [app, r] of next) routes.set(app, r);
      await live.prune(keptKeys());
      for (const r of next.values()) await writeHosts(r);
      await routesChanged();
    }),

    setRoute: (route) => serial(async () => {
      const prev = routes.get(route.app);
      if (prev && sameRoute(prev, route)) return;
      const taken = [...routes.values()].find((r) => r.slotIndex === route.slotIndex && r.app !== route.app);
      if (taken) throw new HiyError('internal', `slot index ${route.slotIndex} is routed to ${taken.app} already`);
      routes.set(route.app, copyRoute(route));
      try {
        if (prev && prev.slotIndex !== route.slotIndex) await live.remove(String(prev.slotIndex));
        // Hosts first: a config loaded next (new route slots, the old layout replaced) finds them.
        await writeHosts(route);
        await routesChanged();
      } catch (err) {
        if (prev) routes.set(route.app, prev);
        else routes.delete(route.app);
        await (prev ? writeHosts(prev) : live.remove(String(route.slotIndex))).catch(() => undefined);
        throw err;
      }
    }),

    removeRoute: (app) => serial(async () => {
      const route = routes.get(app);
      if (!route) return;
      routes.delete(app);
      // The old layout routes the app by its host until the new one is loaded.
      if (oldLayout) await routesChanged();
      await live.remove(String(route.slotIndex));
    }),

    setCertificates: (certs) => serial(async () => {
      const next: LoadedCertificate[] = certs.map((c) => ({ certificate: c.certificate, key: c.key }));
      // Kept even when this load fails: a certificate is the state Caddy should reach, and the
      // next load (this call again, any change, the watch after a Caddy restart) carries it.
      configOpts.certificates = next;
      if (started && loadedCertificates !== JSON.stringify(next)) await push();
    }),

    setUpstreamHosts: (hosts) => serial(async () => {
      const next = [...new Set(hosts)].sort();
      if (next.length === 0 || next.some((h) => !/^[0-9a-fA-F.:]+$/.test(h))) throw new HiyError('internal', `invalid upstream hosts: ${JSON.stringify(hosts).slice(0, 200)}`);
      const now = configOpts.upstreamHosts ?? ['127.0.0.1'];
      if (now.join(',') === next.join(',')) return;
      configOpts.upstreamHosts = next;
      const tmp = `${upstreamHostsFile}.tmp`;
      await writeFile(tmp, `${JSON.stringify(next)}\n`, { mode: 0o600 });
      await rename(tmp, upstreamHostsFile);
      log.info({ hosts: next }, 'app upstreams are on these hosts now (Caddy reloads once)');
      if (started) await push();
    }),

    // Not serialised with config loads: a marker is independent of them and must never wait for one.
    setLive: async (app, state) => {
      const keys = [String(indexOf(app)), ...(oldLayout?.some((r) => r.app === app) ? [app] : [])];
      for (const key of keys) {
        if (state) await live.set(key, state);
        else await live.clear(key);
      }
      log.debug({ app, live: state ? liveMarkerName(state) : null }, 'live slot');
    },

    async inFlight(ports) {
      try {
        const upstreams = await admin.get('/reverse_proxy/upstreams');
        if (!Array.isArray(upstreams)) return undefined;
        const wanted = new Set(slotDials(ports, configOpts.upstreamHosts));
        let n = 0;
        for (const u of upstreams) {
          if (typeof u === 'object' && u !== null && !Array.isArray(u) && typeof u.address === 'string' && wanted.has(u.address)) {
            n += typeof u.num_requests === 'number' ? u.num_requests : 0;
          }
        }
        return n;
      } catch (err) {
        log.debug({ err }, 'Caddy did not tell its upstreams\' in-flight requests');
        return undefined;
      }
    },

    async localRoot() {
      // Caddy's own CA (`tls internal`), made the first time Caddy needs it; its admin API hands
      // out the root, so hiy need not know where a child Caddy or caddy.service keeps its files.
      const ca = await admin.get('/pki/ca/local');
      const pem = typeof ca === 'object' && ca !== null && !Array.isArray(ca) ? ca.root_certificate : undefined;
      return typeof pem === 'string' && pem.includes('BEGIN CERTIFICATE') ? pem : undefined;
    },

    stop: () => serial(async () => {
      started = false;
      if (watchTimer) clearTimeout(watchTimer);
      watchTimer = undefined;
      if (child) {
        // A system Caddy keeps serving; only the child hiy started goes away with hiy.
        await child.stop(5_000);
        log.info({ pid: child.pid }, 'stopped the child Caddy');
        child = undefined;
      }
    }),
  };
}

/** A Caddy hiy did not start (caddy.service) should keep its admin socket in a folder only its user enters. */
async function warnIfOpen(address: CaddyAdminAddress, log: Logger): Promise<void> {
  if (!('socket' in address)) {
    log.warn({ admin: adminLabel(address) }, 'Caddy\'s admin API listens on TCP: every local user can reconfigure Caddy (set HIY_CADDY_ADMIN=unix:/path, see docs/security.md)');
    return;
  }
  const mode = await stat(dirname(address.socket)).then((s) => s.mode & 0o777, () => undefined);
  if (mode !== undefined && (mode & 0o077) !== 0) {
    log.error({ admin: adminLabel(address), mode: mode.toString(8) }, `the folder of Caddy's admin socket is open to other users (mode ${mode.toString(8)}, want 700): they can reconfigure Caddy`);
  }
}

function copyRoute(r: AppRoute): AppRoute {
  return { ...r, ...(r.extraHosts ? { extraHosts: [...r.extraHosts] } : {}) };
}

function sameRoute(a: AppRoute, b: AppRoute): boolean {
  const list = (x: readonly string[] | undefined) => (x ?? []).join(',');
  return a.app === b.app && a.slotIndex === b.slotIndex && list(a.extraHosts) === list(b.extraHosts) && a.notice === b.notice;
}

/** The hosts a previous setUpstreamHosts kept; undefined when there are none (one engine). */
async function readUpstreamHosts(file: string): Promise<string[] | undefined> {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const hosts: unknown = JSON.parse(text);
    if (Array.isArray(hosts) && hosts.length > 0 && hosts.every((h) => typeof h === 'string' && /^[0-9a-fA-F.:]+$/.test(h))) return hosts as string[];
  } catch { /* unreadable: the default */ }
  return undefined;
}
