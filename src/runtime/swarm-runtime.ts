/**
 * The Runtime on a Docker Swarm (decision 45): hiy talks to one manager's engine, and the app
 * processes of releases (web replicas, workers, the release command) become services whose tasks
 * Swarm places on any node and moves when a node dies. Everything that belongs to this box stays
 * the container runtime's: images and builds, volumes, add-ons (pinned here with their volume),
 * attached one-offs (hiy run, consoles: the engine API attaches to containers, not to tasks; they
 * run here on the app's overlay network), exec into add-ons.
 */
import type { Logger } from '../log.js';
import { engineError, statusOf, type Docker } from './docker-client.js';
import { networkName } from './container-config.js';
import { hiyLabels, LABEL_APP, LABEL_INSTANCE, LABEL_MANAGED, LABEL_SLOT } from './labels.js';
import { leastLoadedNode } from './swarm-spread.js';
import type { SwarmNode, SwarmTask } from './swarm-tasks.js';
import { assertPlaceable, eligibleNodes, placementCheck } from './swarm-placement.js';
import type { Readable } from 'node:stream';
import { dockerAttached } from './docker-attached.js';
import { jsonLines, track } from './docker-streams.js';
import { dockerAddons } from './docker-addons.js';
import { serviceSpec } from './swarm-spec.js';
import { swarmServices, type RegistryAuth } from './swarm-services.js';
import { swarmLogs } from './swarm-logs.js';
import { runServiceOnce } from './swarm-oneoff.js';
import type { ContainerEvent, ContainerInfo, ContainerSpec, Runtime } from './runtime.js';

/** Service events as the container events log capture knows (its log stream spans its tasks). */
const SERVICE_ACTIONS: Record<string, string> = { create: 'start', update: 'start', remove: 'destroy' };

export interface SwarmRuntimeOptions {
  instance?: string;
  labels?: Record<string, string>;
  /**
   * Makes an image of this engine available to every node and returns the reference they pull
   * it by (the nodes' registry on the primary box: Cluster.pushImage); tests may load it into
   * each node instead (swarm-images.ts).
   */
  publishImage(ref: string): Promise<PublishedImage>;
  /**
   * The login for an image reference of the nodes' registry (undefined for any other image, so
   * it never reaches another registry). Sent as X-Registry-Auth with every service create and
   * update: the manager hands it to the node that pulls.
   */
  registryAuth?(image: string): Promise<RegistryAuth | undefined>;
  /** Deletes the app's published images not in `keep` (image refs hiy/<app>:<tag>); answers how many. */
  prunePublished?(app: string, keep: Set<string>): Promise<number>;
  /** Apps' overlay networks encrypt what crosses between nodes (HIY_OVERLAY_ENCRYPTION; default on). */
  encrypted?: boolean;
}

export interface PublishedImage {
  ref: string;
}

/** What the engine said about itself when hiy chose this runtime (docker-engine.ts). */
export interface SwarmIdentity {
  apiVersion: string;
  nodeId: string;
}

export function createSwarmRuntime(log: Logger, opts: SwarmRuntimeOptions, docker: Docker, base: Runtime, id: SwarmIdentity): Runtime {
  const extra = { ...opts.labels, ...(opts.instance ? { [LABEL_INSTANCE]: opts.instance } : {}) };
  const services = swarmServices(docker, log, opts.registryAuth);

  async function ensureNetwork(app: string): Promise<string> {
    const name = networkName(app);
    try {
      const net = (await docker.getNetwork(name).inspect()) as { Driver?: string };
      if (net.Driver === 'overlay') return name;
      // A bridge from the days of one node: nothing on other nodes could join it.
      await docker.getNetwork(name).remove().catch(() => undefined);
    } catch (err) {
      if (statusOf(err) !== 404) throw engineError(err, `inspecting network ${name}`);
    }
    try {
      // Encrypted (IPsec ESP between nodes) unless turned off. Attachable: add-ons and attached
      // one-offs are plain containers on this box that join it; only those with this engine's
      // socket can do so.
      const options: Record<string, string> = opts.encrypted === false ? {} : { encrypted: '' };
      await docker.createNetwork({ Name: name, Driver: 'overlay', Attachable: true, CheckDuplicate: true, Options: options, Labels: hiyLabels(app, extra) });
      log.info({ app, network: name }, 'created app overlay network');
    } catch (err) {
      if (statusOf(err) !== 409) throw engineError(err, `creating network ${name}`);
    }
    return name;
  }

  /** A plain container seen by this runtime: not a release's process here, unless a one-off run. */
  function containerOf(c: ContainerInfo | undefined): ContainerInfo | undefined {
    return c && c.run === null ? { ...c, deployId: null } : c;
  }

  /**
   * Refuses a process no ready node may run (its app's node labels, its volume's node) before
   * anything is made; answers the nodes it may start on.
   */
  async function eligible(spec: ContainerSpec): Promise<SwarmNode[]> {
    const nodes = await services.nodes();
    const labels = spec.placement?.nodeLabels ?? {};
    const onlyNode = spec.volumes?.length ? id.nodeId : undefined;
    if (Object.keys(labels).length) assertPlaceable(nodes, labels, { app: spec.app, process: spec.process ?? 'web', ...(onlyNode ? { onlyNode } : {}) });
    return eligibleNodes(nodes, labels, onlyNode);
  }

  /**
   * The node a new process of `app` starts on (swarm-spread.ts), among the eligible ones;
   * undefined: Swarm's choice (the app turned spread off, or no node is known to fit).
   */
  async function startNode(spec: ContainerSpec, nodes: SwarmNode[]): Promise<string | undefined> {
    if (spec.volumes?.length || spec.placement?.spread === false) return undefined;
    const tasks = await (docker.listTasks({ filters: { label: [`${LABEL_MANAGED}=1`], 'desired-state': ['running'] } }) as Promise<(SwarmTask & { Spec?: { ContainerSpec?: { Labels?: Record<string, string> } } })[]>)
      .catch((err: unknown) => { throw engineError(err, 'reading where the Swarm runs tasks'); });
    // Spread among the processes of the same release (its slot): while a deploy runs, the old
    // release's tasks are on their way out and must not push the new ones onto one node.
    const group = (app: string | undefined, slot: string | undefined) => `${app ?? ''}/${slot ?? ''}`;
    const grouped = tasks.map((t) => ({ ...t, app: group(t.Spec?.ContainerSpec?.Labels?.[LABEL_APP], t.Spec?.ContainerSpec?.Labels?.[LABEL_SLOT]) }));
    return leastLoadedNode(nodes, grouped, group(spec.app, spec.slot));
  }

  function specFor(spec: Parameters<Runtime['run']>[0], image: PublishedImage): Docker.CreateServiceOptions {
    return serviceSpec(spec, { image: image.ref, labels: extra, apiVersion: id.apiVersion, selfNodeId: id.nodeId });
  }

  return {
    ...base,
    ...dockerAttached(docker, ensureNetwork, extra),
    ...dockerAddons(docker, ensureNetwork, extra),
    ...swarmLogs(docker),
    async inspect(id) {
      return (await services.inspect(id)) ?? containerOf(await base.inspect(id));
    },

    async list(filter) {
      const [tasks, containers] = await Promise.all([services.list(filter), base.list(filter)]);
      // Plain containers of apps are what a box ran before it had nodes (or hiy run's): listed,
      // so start-up reconciliation removes the leftovers and nothing keeps the slot ports or the
      // app's old bridge network. Swarm's task containers on this node are not (Swarm's names
      // have dots, hiy's never do).
      return [...tasks, ...containers.filter((c) => !c.name.includes('.')).map((c) => containerOf(c)!)];
    },

    async start(id) {
      if (await services.inspect(id)) return services.start(id);
      return base.start(id);
    },

    async stop(id, timeoutSec) {
      await services.stop(id, timeoutSec);
      await base.stop(id, timeoutSec);
    },

    async remove(id) {
      await services.remove(id);
      await base.remove(id);
    },
    updateLimits: services.updateLimits,
    ensureNetwork,

    async upstreamHosts() {
      const nodes = await services.nodes();
      // A drained node runs nothing; a down one answers nothing (dials to it would only time out).
      return [...new Set(nodes.flatMap((n) => (n.Status?.Addr && n.Spec?.Availability !== 'drain' && n.Status.State !== 'down' ? [n.Status.Addr] : [])))].sort();
    },

    async placementNodes(nodeLabels) {
      return placementCheck(await services.nodes(), nodeLabels);
    },

    async removeNetwork(app) {
      await base.removeNetwork(app);
    },

    async run(spec) {
      const nodes = await eligible(spec);
      await ensureNetwork(spec.app);
      const image = await opts.publishImage(spec.image);
      return services.create(specFor(spec, image), await startNode(spec, nodes));
    },

    async runOnce(spec, o) {
      await eligible(spec);
      await ensureNetwork(spec.app);
      const image = await opts.publishImage(spec.image);
      return runServiceOnce(docker, services, log, specFor({ ...spec, oneOff: true, hostPort: undefined }, image), o);
    },

    // Imported on first use: the engine module (and this one) loads on a box of one engine too.
    followNodeStats: async (intervalSec, onReading) => (await import('./swarm-node-stats.js')).followNodeStats(docker, log, {
      ...(opts.instance ? { instance: opts.instance } : {}), publishImage: opts.publishImage, ...(opts.registryAuth ? { registryAuth: opts.registryAuth } : {}),
    }, intervalSec, onReading),

    async prunePublishedImages(app, keep) {
      return (await opts.prunePublished?.(app, keep)) ?? 0;
    },

    async writableSizes() {
      // Only this engine's containers can be measured (tasks elsewhere are not): attached
      // one-offs and the tasks that run here.
      return base.writableSizes();
    },

    async containerEvents(onEvent) {
      // Service changes (created, updated, removed) stand for container events: a task that
      // restarts on another node changes the service's task list, not anything this engine sees.
      const stream = (await docker.getEvents({ filters: { type: ['service'] } }).catch((err: unknown) => { throw engineError(err, 'watching service events'); })) as unknown as Readable;
      stream.on('data', jsonLines((o) => {
        const e = o as { Action?: string; Actor?: { ID?: string } };
        const action = e.Action ? SERVICE_ACTIONS[e.Action] : undefined;
        if (action && e.Actor?.ID) onEvent({ action, id: e.Actor.ID } satisfies ContainerEvent);
      }));
      return track(stream);
    },
  };
}
