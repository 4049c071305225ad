import type { Kysely } from 'kysely';
import type { Config } from './config.js';
import type { Database } from './db/database.js';
import type { Deployer } from './deploy/deployer.js';
import type { SecretBox } from './env/secret-box.js';
import type { Repos } from './git/repos.js';
import type { Logger } from './log.js';
import type { Proxy } from './proxy/proxy.js';
import type { Runtime } from './runtime/runtime.js';
import type { Builder } from './runtime/builder.js';
import type { Cluster } from './runtime/cluster.js';
import type { NodeRegistry } from './nodes/registry.js';
import type { Observability } from './observability.js';
import type { TrustedProxies } from './trusted-proxies.js';
import type { Certificates } from './tls/certificates.js';
import type { OneOffRuns } from './runs/one-off.js';
import type { CronScheduler } from './runs/cron-scheduler.js';
import type { AddonClients } from './runs/addon-client.js';
import type { ContainerWatch } from './apps/container-watch.js';

/** Everything main.ts builds and hands to the API and the deploy pipeline. No singletons. */
export interface Services {
  config: Config;
  log: Logger;
  db: Kysely<Database>;
  secrets: SecretBox;
  repos: Repos;
  proxy: Proxy;
  /** The Docker adapter is loaded on first use: dockerode alone costs ~27 MB of RSS. */
  runtime(): Promise<Runtime>;
  /** Loaded on the first build, for the same reason. */
  builder(): Promise<Builder>;
  /** The engine's nodes (`hiy nodes`, the system page), loaded with the engine. */
  cluster(): Promise<Cluster>;
  /** The registry other nodes pull app images from (src/nodes/registry.ts). */
  nodeRegistry: NodeRegistry;
  deployer: Deployer;
  /**
   * Told after an app was created, destroyed or changed, so what watches the apps keeps in step
   * (main.ts: the Gatus configuration, ops/gatus.ts). Never throws.
   */
  appsChanged(): Promise<void>;
  /** ready: start-up reconciliation finished (routes rebuilt, current releases running). */
  state: { ready: boolean };
  /** Random id of this data dir; labels its Docker objects (hiy.instance). */
  instanceId: string;
  /** App logs, metrics and alerts (src/logs, src/metrics, src/alerts). */
  observability: Observability;
  /** TLS certificates: what Caddy serves, and hiy's own wildcard with HIY_TLS=dns (src/tls). */
  certificates: Certificates;
  /** HIY_TRUSTED_PROXIES: whose forwarded client addresses are believed (trusted-proxies.ts). */
  trustedProxies: TrustedProxies;
  /** One-off containers: hiy run, console sessions, cron runs (src/runs). */
  runs: OneOffRuns;
  /** app.json's scheduled jobs of every app's current release (src/runs). */
  cron: CronScheduler;
  /** hiy pg:psql / redis:cli sessions in add-ons' containers (src/runs/addon-client.ts). */
  addonClients: AddonClients;
  /** Every app container, kept current by Docker's events: app statuses at no engine cost (API, dashboard). */
  containers: ContainerWatch;
}
