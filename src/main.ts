import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { HiyError } from './errors.js';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Server } from 'node:http';
import { createApi } from './api/server.js';
import { countActiveTokens, createToken, hashToken } from './auth/tokens.js';
import { loadConfig, type Config, type Env, type HostPort } from './config.js';
import { openDatabase } from './db/open.js';
import type { Deployer } from './deploy/deployer.js';
import { openSecretBox } from './env/secret-box.js';
import { createBareRepos } from './git/bare-repos.js';
import { syncGatus } from './ops/gatus.js';
import { createHttpServer, listen } from './http-server.js';
import { createLogger, type Logger } from './log.js';
import { createCaddyProxy } from './proxy/caddy.js';
import { prepareRunDir } from './proxy/live.js';
import type { Engine } from './runtime/docker-engine.js';
import { listApps } from './apps/repo.js';
import { deploy } from './deploy/pipeline.js';
import { DeployQueue } from './deploy/queue.js';
import { DeployService } from './deploy/service.js';
import { recoverAtStart, settleInterruptedDeploys } from './deploy/reconcile.js';
import { createGitRemote } from './http/git-remote.js';
import { createPushEndpoint } from './http/push-endpoint.js';
import type { Services } from './services.js';
import { createWebhookHandler } from './webhooks/endpoint.js';
import { HOOK_PREFIX } from './webhooks/settings.js';
import { RepoMirror } from './webhooks/mirror.js';
import { createDashboard, withDashboard } from './ui/dashboard.js';
import { liveDeploys } from './ui/sources.js';
import { Observability } from './observability.js';
import { Certificates } from './tls/certificates.js';
import { trustedProxies } from './proxy/trusted-proxies.js';

/** Root of the installed hiy (the folder holding package.json, hooks/, proxy/, ui/). */
export const HIY_ROOT = fileURLToPath(new URL(existsSync(fileURLToPath(new URL('../../package.json', import.meta.url))) ? '../../' : '../', import.meta.url));

export interface RunningServer {
  services: Services;
  address: HostPort;
  stop(): Promise<void>;
}

export async function startServer(config: Config, log: Logger, out: NodeJS.WritableStream = process.stdout): Promise<RunningServer> {
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  mkdirSync(join(config.dataDir, 'tmp'), { recursive: true, mode: 0o700 });
  prepareRunDir(config.runDir);
  const { db, close: closeDb } = await openDatabase(join(config.dataDir, 'hiy.db'));
  const secrets = await openSecretBox(join(config.dataDir, 'secrets'));
  const instanceId = readOrCreateInstanceId(config.dataDir);
  await bootstrapToken(config, db, log, out);

  const hookTokenFile = join(config.dataDir, 'secrets', 'hook-token');
  writeFileSync(hookTokenFile, randomBytes(32).toString('base64url'), { mode: 0o600 });
  const reposRoot = join(config.dataDir, 'repos');
  const repos = createBareRepos(reposRoot, {
    hookScript: join(HIY_ROOT, 'hooks', 'pre-receive'),
    endpoint: `http://${config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host}:${config.listen.port}`,
    tokenFile: hookTokenFile,
  });

  // Every container, network and volume carries this hiy's instance id: reconciliation only ever
  // touches its own objects, even with several hiy data dirs (or test servers) on one engine.
  let engine: Promise<Engine> | undefined;
  const docker = () => (engine ??= import('./runtime/docker-engine.js').then((m) => m.createDockerEngine(log, { instance: instanceId })));
  const services: Services = {
    config,
    log,
    db,
    secrets,
    repos,
    proxy: createCaddyProxy({
      adminAddress: config.caddyAdmin,
      httpPort: config.httpPort,
      httpsPort: config.httpsPort,
      tls: config.tls,
      domain: config.domain,
      controlPlane: config.listen,
      dataDir: config.dataDir,
      liveDir: join(config.runDir, 'live'),
      caddyBin: config.caddyBin,
      log,
      pathEnv: config.pathEnv,
      listenHost: config.proxyListenHost,
      baseConfigFile: join(HIY_ROOT, 'proxy', 'base.json'),
      acmeIssuer: config.acme.directoryGiven ? { ca: config.acme.directory, trustedRootsPemFile: config.acme.caRootFile } : undefined,
      trustedProxies: config.trustedProxies,
    }),
    runtime: () => docker().then((e) => e.runtime),
    builder: () => docker().then((e) => e.builder),
    deployer: undefined as unknown as Deployer,
    appsChanged: () => syncGatus({ db, config, log }),
    state: { ready: false },
    instanceId,
    observability: undefined as unknown as Observability,
    certificates: undefined as unknown as Certificates,
    trustedProxies: trustedProxies(config.trustedProxies),
  };
  const queue = new DeployQueue(db, log, async (job) => {
    const release = await deploy({ db, config, log, secrets, proxy: services.proxy, runtime: await services.runtime(), builder: await services.builder() }, job);
    return { version: release.version };
  });
  const mirror = new RepoMirror({ db, secrets, repos, log });
  const deployService = new DeployService(services, queue, mirror);
  services.deployer = deployService;
  services.observability = new Observability({ config, log, db, runtime: services.runtime, instanceId, queue });
  const alerts = services.observability.alerts;
  services.certificates = new Certificates({
    config,
    log,
    hosts: () => routedHosts(db, config.domain),
    install: (cert) => services.proxy.setCertificates([cert]),
    alerts: {
      raise: (key, message) => alerts.raise(key, 'certificate', message),
      settle: (key, message) => alerts.settle(key, message),
      openKeys: () => alerts.openKeys(),
    },
  });

  const api = createApi(services);
  const dashboard = createDashboard(services, { root: HIY_ROOT, live: liveDeploys(queue), logs: services.observability.logs, sampler: services.observability.metrics });
  const gitRemote = createGitRemote(services);
  const server = createHttpServer(withDashboard(api, dashboard.app), [
    { prefix: '/git/', handler: (req, res) => void gitRemote(req, res), streams: true },
    { prefix: '/internal/', handler: createPushEndpoint(services, deployService, hookTokenFile), streams: true },
    { prefix: HOOK_PREFIX, handler: createWebhookHandler({ db, secrets, log, mirror, repos, enqueueBuild: (...a) => deployService.enqueueBuild(...a) }) },
  ]);
  const interrupted = await settleInterruptedDeploys(services);
  const address = await listen(server, config.listen);
  log.info({ listen: `${address.host}:${address.port}`, domain: config.domain, dataDir: config.dataDir }, 'hiy server listening');

  for (const app of await listApps(db)) await repos.create(app.name);
  await syncGatus(services);
  // Apps keep serving while hiy is down (Caddy and the containers run on their own); a proxy
  // that cannot start is logged loudly and the API stays up so the operator can see why.
  // A stored wildcard certificate goes into Caddy's first config: a restart orders nothing.
  await services.certificates.load();
  await services.proxy.start().catch((err: unknown) => log.error({ err }, 'the proxy (Caddy) could not be started: apps are not routed'));
  services.certificates.start();
  const recovered = recoverAtStart(services, interrupted).catch((err: unknown) => log.error({ err }, 'start-up reconciliation failed (is Docker running?)'));
  queue.holdUntil(recovered);
  await recovered;
  services.state.ready = true;
  services.observability.start();

  return {
    services,
    address,
    async stop() {
      await queue.stop();
      await services.certificates.stop();
      await services.observability.stop();
      await dashboard.stop();
      await closeServer(server);
      await services.proxy.stop();
      await closeDb();
    },
  };
}

/** hiy.<domain>, every <app>.<domain> and every custom domain: the hosts Caddy serves for hiy. */
async function routedHosts(db: Services['db'], domain: string): Promise<string[]> {
  const apps = await db.selectFrom('apps').select('name').execute();
  const domains = await db.selectFrom('domains').select('host').execute();
  return [`hiy.${domain}`, ...apps.map((a) => `${a.name}.${domain}`), ...domains.map((d) => d.host)];
}

function readOrCreateInstanceId(dataDir: string): string {
  const file = join(dataDir, 'instance-id');
  if (!existsSync(file)) writeFileSync(file, `${randomBytes(8).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  const id = readFileSync(file, 'utf8').trim();
  if (!/^[0-9a-f]{16}$/.test(id)) throw new HiyError('config', `${file} does not hold an instance id (16 hex digits)`);
  return id;
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
    // Long-lived streams (live logs) would hold the close forever.
    setTimeout(() => server.closeAllConnections(), 5_000).unref();
  });
}

/** HIY_ADMIN_TOKEN is accepted as a token; without it and without any token, one is made and printed once. */
async function bootstrapToken(config: Config, db: Services['db'], log: Logger, out: NodeJS.WritableStream): Promise<void> {
  if (config.adminToken) {
    const exists = await db.selectFrom('api_tokens').select('id').where('token_hash', '=', hashToken(config.adminToken)).executeTakeFirst();
    if (!exists) await createToken(db, 'admin (HIY_ADMIN_TOKEN)', config.adminToken);
    return;
  }
  if ((await countActiveTokens(db)) > 0) return;
  const { token } = await createToken(db, 'initial');
  out.write(`\nhiy: first start; your API token (shown once, store it now):\n\n  ${token}\n\n`);
  log.info('created the initial API token (printed on stdout, not logged)');
}



/** `hiy server`: read config once, start, stop gracefully on SIGTERM/SIGINT. */
export async function runServer(env: Env): Promise<number> {
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (err) {
    process.stderr.write(`hiy: ${(err as Error).message}\n`);
    return 2;
  }
  const log = createLogger(config.logLevel);
  // Handlers go in before start: the API answers before start-up finishes (reconciliation), and a
  // SIGTERM in that window would otherwise kill the process without a clean shutdown.
  const signalled = new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  const running = await startServer(config, log);
  const signal = await signalled;
  log.info({ signal }, 'shutting down');
  await running.stop().catch((err: unknown) => log.error({ err }, 'error during shutdown'));
  return 0;
}
