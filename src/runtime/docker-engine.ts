/**
 * The Docker engine as hiy uses it: the Runtime (containers, volumes, images) and the Builder,
 * sharing one engine client. main.ts imports this module lazily: dockerode (~27 MB of RSS) is
 * loaded only once something needs the engine (decision 13). On a Swarm of more than one node
 * (or with HIY_RUNTIME=swarm) the app processes become services (swarm-runtime.ts, decision 45).
 */
import type { RuntimeMode } from '../config.js';
import { HiyError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Builder } from './builder.js';
import type { Cluster } from './cluster.js';
import { createDockerCluster } from './docker-cluster.js';
import { connectDocker, engineError, engineMessage, statusOf, type Docker } from './docker-client.js';
import { createDockerBuilder } from './docker-builder.js';
import { createDockerRuntime, type DockerRuntimeOptions } from './docker-runtime.js';
import { copyImagesToEngines } from './swarm-images.js';
import { LABEL_NODE_STATS } from './labels.js';
import { apiAtLeast, NO_NEW_PRIVILEGES_API } from './swarm-spec.js';
import { createSwarmRuntime, type PublishedImage, type SwarmIdentity, type SwarmRuntimeOptions } from './swarm-runtime.js';
import type { Runtime } from './runtime.js';

export interface Engine {
  runtime: Runtime;
  builder: Builder;
  /** The engine's nodes (Swarm's node API; one node when the engine is no Swarm manager). */
  cluster: Cluster;
  /** Which runtime was chosen (HIY_RUNTIME=auto decides from the engine's Swarm state). */
  kind: 'docker' | 'swarm';
}

export interface EngineOptions extends DockerRuntimeOptions {
  mode?: RuntimeMode;
  /** HIY_SWARM_NODE_ENGINES: engines images are copied into (swarm-images.ts); else images must reach nodes another way. */
  nodeEngines?: string[];
  /** Makes an image available to every node (the nodes' registry: Cluster.pushImage); wins over nodeEngines. */
  publishImage?: (ref: string) => Promise<PublishedImage>;
  /** The nodes' registry's login for its images (SwarmRuntimeOptions.registryAuth). */
  registryAuth?: SwarmRuntimeOptions['registryAuth'];
  /** Retention in the nodes' registry (SwarmRuntimeOptions.prunePublished). */
  prunePublished?: SwarmRuntimeOptions['prunePublished'];
  /** HIY_OVERLAY_ENCRYPTION. */
  overlayEncryption?: boolean;
}

interface SwarmInfo {
  Swarm?: { LocalNodeState?: string; ControlAvailable?: boolean; NodeID?: string };
}

/**
 * One GET /nodes when the mode is not fixed (auto) or must be checked (swarm); HIY_RUNTIME=docker
 * asks nothing. An engine that is no Swarm manager answers 503 at once (4-20 ms measured on a busy
 * engine, where GET /info took 45-240 ms). Auto picks services only for a manager of more than one
 * node: a box of its own keeps plain containers and pays nothing more.
 */
async function swarmIdentity(docker: Docker, mode: RuntimeMode, log: Logger, instance?: string): Promise<SwarmIdentity | undefined> {
  if (mode === 'docker') return undefined;
  let nodes: unknown[];
  try {
    nodes = await docker.listNodes();
  } catch (err) {
    if (statusOf(err) !== 503) throw engineError(err, 'asking the engine about its Swarm');
    if (mode === 'swarm') throw new HiyError('config', `HIY_RUNTIME=swarm, but the engine is not a Swarm manager (${engineMessage(err)})`);
    return undefined;
  }
  if (mode === 'auto' && nodes.length < 2) {
    // A Swarm that is back to one node: the node-stats agent of its Swarm days has nothing left to report.
    void removeNodeStatsAgent(docker, instance).catch((err: unknown) => log.warn({ err: engineMessage(err) }, 'could not remove the node-stats agent'));
    return undefined;
  }
  const [info, version] = await Promise.all([docker.info() as Promise<SwarmInfo>, docker.version() as Promise<{ ApiVersion?: string }>])
    .catch((err: unknown) => { throw engineError(err, 'asking the engine about itself'); });
  const nodeId = info.Swarm?.NodeID;
  if (!nodeId) throw new HiyError('config', 'the engine lists Swarm nodes but names no node of its own');
  return { apiVersion: version.ApiVersion ?? '1.41', nodeId };
}

async function removeNodeStatsAgent(docker: Docker, instance = 'default'): Promise<void> {
  const services = (await docker.listServices({ filters: { label: [`${LABEL_NODE_STATS}=${instance}`] } })) as { ID: string }[];
  for (const s of services) await docker.getService(s.ID).remove();
}

export async function openDockerEngine(log: Logger, opts: EngineOptions = {}): Promise<Engine> {
  const docker = connectDocker(opts.host);
  const builder = createDockerBuilder(log, opts.labels ? { labels: opts.labels } : {}, docker);
  const runtime = createDockerRuntime(log, opts, docker);
  const cluster = createDockerCluster(docker, opts.instance ? { instance: opts.instance } : {});
  const swarm = await swarmIdentity(docker, opts.mode ?? 'auto', log, opts.instance);
  if (!swarm) return { runtime, builder, cluster, kind: 'docker' };
  const publishImage = opts.publishImage
    ?? (opts.nodeEngines?.length ? copyImagesToEngines(log, docker, opts.nodeEngines) : async (ref: string) => ({ ref }));
  log.info({ node: swarm.nodeId, api: swarm.apiVersion }, 'the engine is a Swarm manager: app processes run as services on its nodes');
  if (!opts.publishImage && !opts.nodeEngines?.length) log.warn('no way to bring images to the other nodes is configured: their tasks start only where an image already is');
  if (!apiAtLeast(swarm.apiVersion, NO_NEW_PRIVILEGES_API)) log.warn({ api: swarm.apiVersion }, 'this engine\'s service API cannot set no-new-privileges: services run without it (docs/security.md says what stands in)');
  return { runtime: createSwarmRuntime(log, { ...opts, publishImage, encrypted: opts.overlayEncryption !== false }, docker, runtime, swarm), builder, cluster, kind: 'swarm' };
}

/** The container runtime on one engine, without asking it anything (tests and tools). */
export function createDockerEngine(log: Logger, opts: DockerRuntimeOptions = {}): Engine {
  const docker = connectDocker(opts.host);
  return {
    runtime: createDockerRuntime(log, opts, docker),
    builder: createDockerBuilder(log, opts.labels ? { labels: opts.labels } : {}, docker),
    cluster: createDockerCluster(docker, opts.instance ? { instance: opts.instance } : {}),
    kind: 'docker',
  };
}
