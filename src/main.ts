import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listApps } from './apps/repo.js';
import { bootstrapToken } from './auth/bootstrap.js';
import { loadConfig, parseEnvFile, type Config, type Env, type HostPort } from './config.js';
import { openDatabase } from './db/open.js';
import { DiskGuard } from './deploy/disk-guard.js';
import { recoverAtStart, settleInterruptedDeploys } from './deploy/reconcile.js';
import { settleInterruptedRuns } from './runs/repo.js';
import { openSecretBox } from './env/secret-box.js';
import { HiyError } from './errors.js';
import { listen } from './http/server.js';
import { createLogger, type Logger } from './log.js';
import { prepareRunDir } from './proxy/live.js';
import type { Services } from './services.js';
import { wireServer, type Wired } from './wiring.js';

/** Root of the installed hiy (the folder holding package.json, hooks/, proxy/, ui/). */
export const HIY_ROOT = fileURLToPath(new URL(existsSync(fileURLToPath(new URL('../../package.json', import.meta.url))) ? '../../' : '../', import.meta.url));

export interface RunningServer {
  services: Services;
  address: HostPort;
  stop(): Promise<void>;
}

/** Opens the data dir, wires the server (wiring.ts) and boots it. */
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
  const wired = wireServer({ config, log, db, secrets, instanceId, hookTokenFile, root: HIY_ROOT });
  return boot(wired, closeDb);
}

/**
 * The start-up order: interrupted deploys settled before anything answers; then the listener
 * (the API answers, /health says not ready); repos' hooks reinstalled, Gatus's config written,
 * the proxy started with the stored certificate, containers reconciled with the database while the deploy queue holds; then
 * ready, and logs, metrics and alerts start.
 */
async function boot(w: Wired, closeDb: () => Promise<void>): Promise<RunningServer> {
  const { services: s, queue, dashboard, server, upgrades } = w;
  const { config, log } = s;
  const interrupted = await settleInterruptedDeploys(s);
  // One-off containers do not outlive the hiy that started them (reconciliation removes them).
  const runsCut = await settleInterruptedRuns(s.db);
  if (runsCut > 0) log.warn({ count: runsCut }, 'marked one-off runs the previous hiy left running as interrupted');
  const address = await listen(server, config.listen);
  log.info({ listen: `${address.host}:${address.port}`, domain: config.domain, dataDir: config.dataDir }, 'hiy server listening');

  for (const app of await listApps(s.db)) await s.repos.create(app.name);
  await s.appsChanged();
  // Apps keep serving while hiy is down (Caddy and the containers run on their own); a proxy
  // that cannot start is logged loudly and the API stays up so the operator can see why.
  // A stored wildcard certificate goes into Caddy's first config: a restart orders nothing.
  await s.certificates.load();
  await s.proxy.start().catch((err: unknown) => log.error({ err }, 'the proxy (Caddy) could not be started: apps are not routed'));
  s.certificates.start();
  const recovered = recoverAtStart(s, interrupted).catch((err: unknown) => log.error({ err }, 'start-up reconciliation failed (is Docker running?)'));
  queue.holdUntil(recovered);
  await recovered;
  s.state.ready = true;
  s.observability.start();
  // Nodes were added on this box: the registry they pull from comes back with hiy.
  if (s.nodeRegistry.wanted()) void s.nodeRegistry.ensure().catch((err: unknown) => log.error({ err }, 'the nodes\' registry could not be started: other nodes cannot pull new releases'));
  const diskGuard = new DiskGuard({ db: s.db, config, log, runtime: s.runtime, deployer: s.deployer, endRun: (run, reason) => s.runs.end(run, reason) });
  diskGuard.start();
  // Missed cron times are recorded, then every app's jobs are scheduled (src/runs/cron-scheduler.ts).
  await s.cron.start().catch((err: unknown) => log.error({ err }, 'could not start the cron scheduler'));

  return {
    services: s,
    address,
    async stop() {
      diskGuard.stop();
      await s.cron.stop();
      // Every one-off container is killed and recorded; the channels get their exit message.
      await s.runs.stop();
      await s.addonClients.stop();
      upgrades.close();
      await queue.stop();
      await s.certificates.stop();
      await s.observability.stop();
      await s.nodeRegistry.stop();
      await dashboard.stop();
      await closeServer(server);
      await s.proxy.stop();
      await closeDb();
    },
  };
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

function serverEnv(env: Env, args: string[]): Env {
  if (args.length === 0) return env;
  const file = args[0] === '--env-file' && args.length === 2 ? args[1] : undefined;
  if (!file) throw new HiyError('config', `usage: hiy server [--env-file FILE] (got ${JSON.stringify(args.join(' ').slice(0, 80))})`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new HiyError('config', `--env-file ${file}: ${(err as Error).message}`);
  }
  return { ...env, ...parseEnvFile(text) };
}

/**
 * `hiy server [--env-file FILE]`: read config once, start, stop gracefully on SIGTERM/SIGINT.
 * With --env-file, hiy reads the HIY_* settings from that file itself (they win over the
 * environment's): install.sh starts it so without systemd, so the admin token never sits on a
 * command line that `ps` shows to every local user.
 */
export async function runServer(env: Env, args: string[] = []): Promise<number> {
  let config: Config;
  try {
    config = loadConfig(serverEnv(env, args));
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
