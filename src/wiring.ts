/**
 * The wiring of one hiy server: every adapter, service, surface and the HTTP server, built once
 * and in dependency order, so each part gets what it needs when it is made (no singletons, no
 * module state, nothing filled in later). Nothing here starts, listens or touches Docker or
 * Caddy: boot (main.ts) does that, in its order.
 */
import type { Server } from 'node:http';
import type { Kysely } from 'kysely';
import { join } from 'node:path';
import { Hono } from 'hono';
import { NodeRegistry, registryImages } from './nodes/registry.js';
import { createApi } from './api/server.js';
import { IMAGE_UPLOAD_PATH } from './api/routes/images.js';
import { RESTORE_PATH_RE } from './api/routes/addons.js';
import { servedHosts } from './apps/domains.js';
import type { Config } from './config.js';
import type { Database } from './db/database.js';
import { deploy } from './deploy/pipeline.js';
import { DeployQueue } from './deploy/queue.js';
import { DeployService } from './deploy/service.js';
import type { SecretBox } from './env/secret-box.js';
import { createBareRepos } from './git/bare-repos.js';
import { createGitRemote } from './http/git-remote.js';
import { createPushEndpoint } from './http/push-endpoint.js';
import { createHttpServer } from './http/server.js';
import { acceptUpgrades, type Upgrades } from './http/upgrade.js';
import { cliDownloadRoutes } from './http/cli-download.js';
import type { Logger } from './log.js';
import { Observability } from './observability.js';
import { syncGatus } from './ops/gatus.js';
import { CronScheduler } from './runs/cron-scheduler.js';
import { OneOffRuns } from './runs/one-off.js';
import { AddonClients } from './runs/addon-client.js';
import { ContainerWatch } from './apps/container-watch.js';
import { createCaddyProxy } from './proxy/caddy.js';
import { TLS_ASK_PATH } from './proxy/caddy-config.js';
import { createTlsAsk } from './http/tls-ask.js';
import { trustedProxies } from './trusted-proxies.js';
import type { Engine } from './runtime/docker-engine.js';
import type { Runtime } from './runtime/runtime.js';
import type { Services } from './services.js';
import { Certificates } from './tls/certificates.js';
import { createWebhookHandler, HOOKS_PREFIX, WEBHOOK_BODY_LIMITS } from './webhooks/endpoint.js';
import { RepoMirror } from './webhooks/mirror.js';
import { createDashboard, withDashboard, type Dashboard } from '../ui/dashboard.js';
import { liveDeploys } from '../ui/sources.js';

/** What boot has opened and read before the server is wired. */
export interface Opened {
  config: Config;
  log: Logger;
  db: Kysely<Database>;
  secrets: SecretBox;
  /** This data dir's random id (instance-id): it marks the engine objects this hiy owns. */
  instanceId: string;
  /** The per-start token the pre-receive hook presents to the internal endpoint (0600 file). */
  hookTokenFile: string;
  /** The installed hiy: hooks/, proxy/, ui/assets, node_modules. */
  root: string;
}

export interface Wired {
  services: Services;
  queue: DeployQueue;
  dashboard: Dashboard;
  /** Not listening yet. */
  server: Server;
  /** The WebSocket upgrades on `server` (the run channel). */
  upgrades: Upgrades;
}

export function wireServer(o: Opened): Wired {
  const { config, log, db, secrets, instanceId } = o;
  const repos = createBareRepos(join(config.dataDir, 'repos'), {
    hookScript: join(o.root, 'hooks', 'pre-receive'),
    endpoint: `http://${config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host}:${config.listen.port}`,
    tokenFile: o.hookTokenFile,
  });
  const proxy = createCaddyProxy({
    adminAddress: config.caddyAdmin,
    legacyAdminAddress: config.caddyAdminLegacy,
    httpPort: config.httpPort,
    httpsPort: config.httpsPort,
    tls: config.tls,
    domain: config.domain,
    controlPlane: config.listen,
    dataDir: config.dataDir,
    liveDir: join(config.runDir, 'live'),
    slotPortBase: config.slotPortBase,
    caddyBin: config.caddyBin,
    log,
    pathEnv: config.pathEnv,
    listenHost: config.proxyListenHost,
    baseConfigFile: join(o.root, 'proxy', 'base.json'),
    acmeIssuer: config.acme.directoryGiven ? { ca: config.acme.directory, trustedRootsPemFile: config.acme.caRootFile } : undefined,
    trustedProxies: config.trustedProxies,
  });
  // The engine is loaded on first use: dockerode alone costs ~27 MB of RSS (decision 13). Every
  // container, network and volume carries this hiy's instance id: reconciliation only ever
  // touches its own objects, even with several hiy data dirs (or test servers) on one engine.
  // Which runtime (containers or Swarm services) is decided then, with one question to the engine
  // unless HIY_RUNTIME fixes it; an engine that does not answer yet is asked again next time.
  let engine: Promise<Engine> | undefined;
  const docker = () => (engine ??= import('./runtime/docker-engine.js').then(async (m) => {
    const e = await m.openDockerEngine(log, {
      instance: instanceId, mode: config.runtime, host: config.dockerHost, nodeEngines: config.swarmNodeEngines, overlayEncryption: config.overlayEncryption,
      // Once nodes were added, images reach them through the nodes' registry (HIY_SWARM_NODE_ENGINES, for tests, wins).
      ...(nodeRegistry.wanted() && config.swarmNodeEngines.length === 0 ? registryImages(nodeRegistry) : {}),
    });
    if (e.kind === 'swarm') await followNodes(e.runtime);
    return e;
  }).catch((err: unknown) => {
    engine = undefined;
    throw err;
  }));
  /** A Swarm's nodes are the app routes' upstream hosts: read when the engine opens and before each deploy. */
  const followNodes = async (rt: Runtime) => proxy.setUpstreamHosts(await rt.upstreamHosts())
    .catch((err: unknown) => log.error({ err }, 'could not give the proxy the Swarm nodes\' addresses'));
  const runtime = () => docker().then((e) => e.runtime);
  const builder = () => docker().then((e) => e.builder);
  const cluster = () => docker().then((e) => e.cluster);

  const runs = new OneOffRuns({ db, secrets, config, log, runtime });
  const cron = new CronScheduler({ db, secrets, config, log, runtime }, runs);
  const queue = new DeployQueue(db, log, async (job) => {
    try {
      const e = await docker();
      if (e.kind === 'swarm') await followNodes(e.runtime);
      const release = await deploy({ db, config, log, secrets, proxy, runtime: e.runtime, builder: e.builder }, job);
      return { version: release.version };
    } finally {
      // A new current release (or a rollback) may bring other cron jobs: the next time runs its image.
      void cron.sync(job.app);
    }
  });
  const mirror = new RepoMirror({ db, secrets, repos, log });
  const deployer = new DeployService({ db, config, log, secrets, repos, proxy, runtime }, queue, mirror);
  const observability = new Observability({ config, log, db, runtime, cluster, instanceId, queue, secrets });
  const { alerts } = observability;
  const certificates = new Certificates({
    config,
    log,
    hosts: () => servedHosts(db, config.domain),
    install: (cert) => proxy.setCertificates([cert]),
    alerts: {
      raise: (key, message) => alerts.raise(key, 'certificate', message),
      settle: (key, message) => alerts.settle(key, message),
      openKeys: () => alerts.openKeys(),
    },
  });
  const nodeRegistry = new NodeRegistry({ config, secrets, log, cluster });
  const services: Services = {
    config, log, db, secrets, repos, proxy, runtime, builder, cluster, nodeRegistry, deployer, observability, certificates, instanceId,
    trustedProxies: trustedProxies(config.trustedProxies),
    appsChanged: async () => {
      await syncGatus({ db, config, log });
      await cron.syncAll().catch((err: unknown) => log.error({ err }, 'could not bring the cron jobs in step with the apps'));
    },
    state: { ready: false },
    runs,
    cron,
    addonClients: new AddonClients({ db, log, runtime }),
    containers: new ContainerWatch(runtime),
  };

  const api = createApi(services);
  const dashboard = createDashboard(services, { root: o.root, live: liveDeploys(queue), logs: observability.logs, sampler: observability.metrics });
  const gitRemote = createGitRemote(services);
  const root = withCliDownload(cliDownloadRoutes(), withDashboard(api, dashboard.app));
  const server = createHttpServer(root, [
    { prefix: '/git/', handler: (req, res) => void gitRemote(req, res), streams: true },
    { prefix: TLS_ASK_PATH, handler: createTlsAsk(services) },
    { prefix: '/internal/', handler: createPushEndpoint(services, deployer, o.hookTokenFile), streams: true },
    {
      prefix: HOOKS_PREFIX,
      handler: createWebhookHandler({ db, secrets, log, mirror, repos, trusted: services.trustedProxies, enqueueBuild: (...a) => deployer.enqueueBuild(...a), enqueuePull: (...a) => deployer.enqueuePull(...a) }),
      bodyDeadlineMs: WEBHOOK_BODY_LIMITS.deadlineMs,
      bodyIdleMs: WEBHOOK_BODY_LIMITS.idleMs,
    },
  ], [IMAGE_UPLOAD_PATH, RESTORE_PATH_RE]);
  const upgrades = acceptUpgrades(server, root, log);
  return { services, queue, dashboard, server, upgrades };
}

/** /cli/* (the laptop CLI, public) before the API and the dashboard, whose auth it must not meet. */
function withCliDownload(cli: Hono, rest: Hono): Hono {
  const root = new Hono();
  root.all('*', (c) => (c.req.path.startsWith('/cli/') ? cli.fetch(c.req.raw, c.env) : rest.fetch(c.req.raw, c.env)));
  return root;
}
