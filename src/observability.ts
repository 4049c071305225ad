import type { Kysely } from 'kysely';
import { AlertMonitor } from './alerts/monitor.js';
import { webhookNotifier } from './alerts/notifier.js';
import type { Config } from './config.js';
import type { Database } from './db/database.js';
import { probe } from './deploy/health-check.js';
import type { DeployOutput } from './deploy/output.js';
import type { DeployQueue, DeployResult } from './deploy/queue.js';
import type { Logger } from './log.js';
import { LogCapture } from './logs/capture.js';
import { LogStore } from './logs/store.js';
import { MetricsSampler } from './metrics/sampler.js';
import { probeAddons, type AddonHealth } from './addons/health.js';
import { managedSecrets } from './addons/env.js';
import { createRedactor } from './build/redact.js';
import type { SecretBox } from './env/secret-box.js';
import type { Cluster } from './runtime/cluster.js';
import type { EngineStream, Runtime } from './runtime/runtime.js';
import type { ClusterUsage, NodeUsage } from './metrics/cluster-usage.js';

export interface ObservabilityDeps {
  config: Config;
  log: Logger;
  db: Kysely<Database>;
  runtime(): Promise<Runtime>;
  /** The engine's nodes: a node of the Swarm that is not ready is an incident. */
  cluster?(): Promise<Cluster>;
  instanceId: string;
  /** Decrypts add-ons' passwords, to hide them in app output. */
  secrets: SecretBox;
  /** Live build output of waiting and running deploys. */
  queue: Pick<DeployQueue, 'outputOf' | 'on' | 'off'>;
}

/** A deploy still in the queue: its output so far and to come, and its end. */
export interface LiveBuild {
  output: DeployOutput;
  finished: Promise<DeployResult>;
  cancel(): void;
}

const GATE_POLL_MS = 2000;
const NODE_STATS_RETRY_MS = 5000;

/**
 * Logs, metrics and alerts of the running apps. Host sampling and alert checks start at once (they
 * only read /proc and probe ports); log capture and per-app sampling need the Docker client
 * (~27 MB of RSS), so they start only once some app has a release, checked with one small query
 * every 2 s until then.
 */
export class Observability {
  readonly logs: LogStore;
  readonly metrics: MetricsSampler;
  readonly alerts: AlertMonitor;
  private capture: LogCapture | undefined;
  private runtime: Runtime | undefined;
  private gate: NodeJS.Timeout | undefined;
  private starting: Promise<void> | undefined;
  private stopped = false;
  /** What the last add-on check found (the sampler reads the containers' memory from it). */
  private addonHealth: AddonHealth[] = [];
  /** On a Swarm: every node's figures from the node-stats agent (decision 50); never on one engine. */
  private cluster: ClusterUsage | undefined;
  private nodeStats: EngineStream | undefined;

  constructor(private readonly d: ObservabilityDeps) {
    const { config, log, db } = d;
    this.logs = new LogStore(db, log.child({ part: 'logs' }), { maxLines: config.logLines });
    this.alerts = new AlertMonitor({
      db,
      log: log.child({ part: 'alerts' }),
      config: config.alerts,
      slotPortBase: config.slotPortBase,
      notifier: config.alerts.webhook ? webhookNotifier(config.alerts.format, config.alerts.webhook) : undefined,
      // On a Swarm a slot port answers on the node that runs its task: the first that answers counts.
      probe: async (port, path) => {
        const hosts = this.runtime ? await this.runtime.upstreamHosts().catch(() => ['127.0.0.1']) : ['127.0.0.1'];
        for (const host of hosts) {
          const status = await probe(port, path, 2000, host);
          if (status !== undefined) return status;
        }
        return undefined;
      },
      containers: () => this.capture?.known() ?? [],
      addons: async () => (this.addonHealth = await probeAddons(db, () => this.d.runtime())),
      nodes: () => this.nodeHealth(),
    });
    this.metrics = new MetricsSampler({
      db,
      log: log.child({ part: 'metrics' }),
      dataDir: config.dataDir,
      intervalSec: config.metricsIntervalSec,
      containers: () => this.capture?.containers() ?? [],
      addonContainers: () => this.addonHealth.flatMap((a) => (a.containerId ? [{ id: a.containerId, addon: a.name }] : [])),
      runtime: () => this.runtime,
      onHostSample: (s) => this.alerts.onHostSample(s),
      clusterApps: (t) => this.cluster?.apps(t),
    });
  }

  /** The live output of a waiting or running deploy, or undefined when it is not in the queue. */
  liveBuild(deployId: number): LiveBuild | undefined {
    const output = this.d.queue.outputOf(deployId);
    if (!output) return undefined;
    let listener: ((id: number, r: DeployResult) => void) | undefined;
    const finished = new Promise<DeployResult>((resolve) => {
      listener = (id, r) => { if (id === deployId) resolve(r); };
      this.d.queue.on('finished', listener);
    });
    const cancel = () => { if (listener) this.d.queue.off('finished', listener); };
    void finished.then(cancel);
    return { output, finished, cancel };
  }

  /**
   * Each Swarm node's readiness, asked only once the engine is loaded anyway (capture runs) and
   * only of a Swarm manager: a box with one engine pays nothing for it.
   */
  private async nodeHealth(): Promise<{ name: string; ok: boolean; detail: string }[] | undefined> {
    if (!this.runtime || !this.d.cluster) return undefined;
    const cluster = await this.d.cluster();
    const state = await cluster.state();
    if (state.swarm !== 'active' || !state.manager) return undefined;
    return (await cluster.nodes()).map((n) => ({ name: n.name, ok: n.state === 'ready', detail: n.state }));
  }

  /** Each Swarm node's CPU and memory in use, by node id; undefined on one engine (the host sample is the box's). */
  nodeUsage(): Map<string, NodeUsage> | undefined {
    return this.cluster?.nodes();
  }

  /** Whether app containers are being followed (the Docker client is loaded). */
  get capturing(): boolean {
    return this.capture !== undefined;
  }

  start(): void {
    this.metrics.start();
    this.alerts.start();
    void this.checkGate();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.gate) clearTimeout(this.gate);
    await this.starting?.catch(() => undefined);
    await this.capture?.stop();
    this.nodeStats?.stop();
    await Promise.all([this.metrics.stop(), this.alerts.stop()]);
    await this.logs.close();
  }

  private async checkGate(): Promise<void> {
    if (this.stopped || this.capture) return;
    try {
      const any = await this.d.db.selectFrom('apps').select('name').where('current_release_id', 'is not', null).limit(1).executeTakeFirst();
      if (any) return await this.startCapture();
    } catch (err) {
      this.d.log.warn({ err }, 'could not start log capture; trying again');
    }
    if (!this.stopped) this.gate = setTimeout(() => void this.checkGate(), GATE_POLL_MS);
  }

  /**
   * Only a Swarm runtime has the node-stats agent: the code is loaded here, so a box with one
   * engine loads nothing for it. A stream that ends (the manager restarted, the agent replaced) is
   * followed again.
   */
  private async followNodeStats(runtime: Runtime): Promise<void> {
    const interval = this.d.config.metricsIntervalSec;
    const { ClusterUsage } = await import('./metrics/cluster-usage.js');
    this.cluster ??= new ClusterUsage(3 * interval * 1000 + 5000);
    const cluster = this.cluster;
    while (!this.stopped) {
      try {
        this.nodeStats = await runtime.followNodeStats!(interval, (r) => cluster.add(r));
        if (this.stopped) this.nodeStats.stop();
        await this.nodeStats.done;
      } catch (err) {
        this.d.log.warn({ err }, 'could not follow the nodes\' figures; trying again');
      }
      if (!this.stopped) await new Promise((r) => setTimeout(r, NODE_STATS_RETRY_MS).unref());
    }
  }

  private startCapture(): Promise<void> {
    this.starting ??= (async () => {
      const runtime = await this.d.runtime();
      await this.logs.init();
      const capture = new LogCapture({
        runtime,
        store: this.logs,
        log: this.d.log.child({ part: 'logs' }),
        instanceId: this.d.instanceId,
        knownApps: async () => new Set((await this.d.db.selectFrom('apps').select('name').execute()).map((r) => r.name)),
        redactorFor: async (app) => createRedactor(await managedSecrets(this.d.db, this.d.secrets, app)),
      });
      try {
        await capture.start();
      } catch (err) {
        await capture.stop();
        throw err;
      }
      this.runtime = runtime;
      this.capture = capture;
      if (this.stopped) await capture.stop();
      else if (runtime.followNodeStats) void this.followNodeStats(runtime);
    })().catch((err: unknown) => {
      this.starting = undefined;
      throw err;
    });
    return this.starting;
  }
}
