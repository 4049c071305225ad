/**
 * The Docker engine as hiy uses it: the Runtime (containers, volumes, images) and the Builder,
 * sharing one engine client. main.ts imports this module lazily: dockerode (~27 MB of RSS) is
 * loaded only once something needs the engine (decision 13).
 */
import type { Logger } from '../log.js';
import type { Builder } from './builder.js';
import type { Cluster } from './cluster.js';
import { createDockerCluster } from './docker-cluster.js';
import { connectDocker } from './docker-client.js';
import { createDockerBuilder } from './docker-builder.js';
import { createDockerRuntime, type DockerRuntimeOptions } from './docker-runtime.js';
import type { Runtime } from './runtime.js';

export interface Engine {
  runtime: Runtime;
  builder: Builder;
  /** The engine's nodes (Swarm's node API; one node when the engine is no Swarm manager). */
  cluster: Cluster;
}

export function createDockerEngine(log: Logger, opts: DockerRuntimeOptions = {}): Engine {
  const docker = connectDocker(opts.host);
  return {
    runtime: createDockerRuntime(log, opts, docker),
    builder: createDockerBuilder(log, opts.labels ? { labels: opts.labels } : {}, docker),
    cluster: createDockerCluster(docker, opts.instance ? { instance: opts.instance } : {}),
  };
}
