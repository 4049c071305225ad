import type { Logger } from '../log.js';
import { HiyError } from '../errors.js';
import { connectDocker, engineError, engineMessage, statusOf, type Docker } from './docker-client.js';
import { containerCreateOptions, networkName } from './container-config.js';
import { demuxToText } from './demux.js';
import { dockerStreams } from './docker-streams.js';
import { dockerOneOff } from './docker-oneoff.js';
import { dockerAddons } from './docker-addons.js';
import { dockerImages } from './docker-images.js';
import { pruneBuildCache } from './docker-caches.js';
import { dockerAttached } from './docker-attached.js';
import { hiyLabels, LABEL_ADDON, LABEL_APP, LABEL_INSTANCE, LABEL_MANAGED, roleOf } from './labels.js';
import type { ContainerInfo, ContainerSpec, ContainerState, ImageInfo, Runtime } from './runtime.js';

export interface DockerRuntimeOptions {
  /** Engine address as DOCKER_HOST spells it (`unix:///var/run/docker.sock`, `tcp://127.0.0.1:2375`). */
  host?: string;
  /**
   * The data dir's instance id, put on every container, network and volume this runtime makes:
   * reconciliation only ever touches its own objects, even with several hiy on one engine.
   */
  instance?: string;
  /** Labels added to every container and network this runtime creates (tests add `hiy.test=1`). */
  labels?: Record<string, string>;
}

const ok = (...statuses: number[]) => (err: unknown): void => {
  if (!statuses.includes(statusOf(err) ?? -1)) throw err;
};

function labelFilter(app?: string): { label: string[] } {
  return { label: [`${LABEL_MANAGED}=1`, ...(app ? [`${LABEL_APP}=${app}`] : [])] };
}

/** The configured binding (HostConfig), not the live one: it is known while stopped, and fixed. */
function boundHostPort(info: Docker.ContainerInspectInfo): number | null {
  const bindings = Object.values(info.HostConfig.PortBindings ?? {}) as ({ HostPort?: string }[] | null)[];
  for (const list of bindings) {
    const port = Number(list?.[0]?.HostPort);
    if (port > 0) return port;
  }
  return null;
}

export function toContainerInfo(info: Docker.ContainerInspectInfo): ContainerInfo {
  const s = info.State;
  return {
    id: info.Id,
    name: info.Name.replace(/^\//, ''),
    image: info.Config.Image,
    state: s.Status as ContainerState,
    running: s.Running,
    restartCount: info.RestartCount,
    exitCode: s.Running || s.Status === 'created' ? null : s.ExitCode,
    startedAt: s.StartedAt && !s.StartedAt.startsWith('0001-') ? s.StartedAt : null,
    hostPort: boundHostPort(info),
    attached: info.Config.OpenStdin === true,
    ...roleOf(info.Config.Labels ?? {}),
  };
}

/** Responses of non-streaming calls arrive parsed when they look like JSON; logs are bytes. */
export function asBuffer(data: unknown): Buffer {
  if (Buffer.isBuffer(data)) return data;
  return Buffer.from(typeof data === 'string' ? data : JSON.stringify(data ?? ''));
}

/** The Runtime on a Docker engine; `docker` is the client it shares with the builder (docker-engine.ts). */
export function createDockerRuntime(log: Logger, opts: DockerRuntimeOptions = {}, docker: Docker = connectDocker(opts.host)): Runtime {
  const extra = { ...opts.labels, ...(opts.instance ? { [LABEL_INSTANCE]: opts.instance } : {}) };

  async function inspect(idOrName: string): Promise<ContainerInfo | undefined> {
    try {
      return toContainerInfo(await docker.getContainer(idOrName).inspect());
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw engineError(err, `inspecting container ${idOrName}`);
    }
  }

  async function ensureNetwork(app: string): Promise<string> {
    const name = networkName(app);
    try {
      await docker.getNetwork(name).inspect();
      return name;
    } catch (err) {
      if (statusOf(err) !== 404) throw engineError(err, `inspecting network ${name}`);
    }
    try {
      await docker.createNetwork({ Name: name, Driver: 'bridge', CheckDuplicate: true, Labels: hiyLabels(app, extra) });
      log.info({ app, network: name }, 'created app network');
    } catch (err) {
      // Two deploys racing to create it: the loser's 409 means it exists now.
      if (statusOf(err) !== 409) throw engineError(err, `creating network ${name}`);
    }
    return name;
  }

  async function removeContainer(idOrName: string): Promise<void> {
    await docker.getContainer(idOrName).remove({ force: true, v: true }).catch((err: unknown) => {
      // 404: already gone; 409: "removal already in progress".
      if (statusOf(err) === 404 || statusOf(err) === 409) return;
      throw engineError(err, `removing container ${idOrName}`);
    });
  }

  async function run(spec: ContainerSpec): Promise<ContainerInfo> {
    const options = containerCreateOptions(spec, extra);
    await ensureNetwork(spec.app);
    let container: Docker.Container;
    try {
      container = await docker.createContainer(options);
    } catch (err) {
      if (statusOf(err) === 409) throw new HiyError('conflict', `a container named ${spec.name} already exists (${engineMessage(err)})`, { cause: err });
      if (statusOf(err) === 404) throw new HiyError('deploy_failed', `image ${spec.image} not found on this engine`, { cause: err });
      throw engineError(err, `creating container ${spec.name}`, 'deploy_failed');
    }
    try {
      await container.start();
    } catch (err) {
      // A created-but-not-started container would hold the name and, once started by the
      // restart policy of a daemon restart, the port: remove it.
      await removeContainer(container.id).catch((e: unknown) => log.warn({ err: e, container: container.id }, 'removing a container that failed to start failed'));
      throw engineError(err, `starting container ${spec.name}`, 'deploy_failed');
    }
    const info = await inspect(container.id);
    if (!info) throw new HiyError('deploy_failed', `container ${spec.name} vanished right after it started`);
    log.info({ app: spec.app, container: info.name, image: spec.image, hostPort: info.hostPort }, 'container started');
    return info;
  }

  return {
    async ping() {
      await docker.ping().catch((err: unknown) => { throw engineError(err, 'docker'); });
    },
    ...dockerStreams(docker),
    ...dockerOneOff(docker, ensureNetwork, extra),
    ...dockerImages(docker, extra),
    ...dockerAttached(docker, ensureNetwork, extra),
    ...dockerAddons(docker, ensureNetwork, extra),
    upstreamHosts: async () => ['127.0.0.1'],
    placementNodes: async () => null,
    ensureNetwork,
    inspect,
    run,
    remove: removeContainer,

    async removeNetwork(app) {
      await docker.getNetwork(networkName(app)).remove().catch((err: unknown) => {
        if (statusOf(err) === 404) return;
        throw engineError(err, `removing network ${networkName(app)}`, statusOf(err) === 403 || statusOf(err) === 409 ? 'conflict' : 'internal');
      });
    },

    async start(idOrName) {
      await docker.getContainer(idOrName).start().catch((err: unknown) => {
        if (statusOf(err) === 304) return; // already running
        if (statusOf(err) === 404) throw new HiyError('not_found', `container ${idOrName} not found`, { cause: err });
        throw engineError(err, `starting container ${idOrName}`, 'deploy_failed');
      });
    },

    async stop(idOrName, timeoutSec) {
      await docker.getContainer(idOrName).stop({ t: Math.max(0, Math.round(timeoutSec)) })
        .catch(ok(304, 404))
        .catch((err: unknown) => { throw engineError(err, `stopping container ${idOrName}`); });
    },

    async updateLimits(idOrName, limits) {
      const memory = Math.round(limits.memoryMb * 1024 * 1024);
      await docker.getContainer(idOrName).update({ Memory: memory, MemorySwap: memory, NanoCpus: Math.round(limits.cpus * 1e9), PidsLimit: limits.pidsLimit })
        .catch((err: unknown) => { throw engineError(err, `changing the limits of container ${idOrName} (a container using more memory than its new share cannot be shrunk)`, 'deploy_failed'); });
    },

    async writableSizes() {
      // size=1 makes the engine measure each container's writable layer: only this instance's.
      const label = [`${LABEL_MANAGED}=1`, ...(opts.instance ? [`${LABEL_INSTANCE}=${opts.instance}`] : [])];
      const list = await docker.listContainers({ all: true, size: true, filters: { label } }).catch((err: unknown) => { throw engineError(err, 'measuring container sizes'); });
      // Add-ons write to their volumes under a read-only root, and belong to no app's budget.
      return list.filter((c) => !c.Labels?.[LABEL_ADDON]).map((c) => ({ id: c.Id, app: c.Labels?.[LABEL_APP] ?? '', run: roleOf(c.Labels ?? {}).run, bytes: (c as { SizeRw?: number }).SizeRw ?? 0 }));
    },

    async engineDataRoot() {
      return docker.info().then((i: { DockerRootDir?: string }) => i.DockerRootDir, () => undefined);
    },

    async list(filter = {}) {
      let summaries: Docker.ContainerInfo[];
      try {
        summaries = await docker.listContainers({ all: true, filters: labelFilter(filter.app) });
      } catch (err) {
        throw engineError(err, 'listing containers');
      }
      // The summary lacks restart count and exit code: inspect each (a handful per app). Add-ons'
      // containers belong to no app: they are listed by listAddonContainers().
      const infos = await Promise.all(summaries.filter((s) => !s.Labels?.[LABEL_ADDON]).map((s) => inspect(s.Id)));
      return infos.filter((i): i is ContainerInfo => i !== undefined).sort((a, b) => a.name.localeCompare(b.name));
    },

    async logs(idOrName, opts = {}) {
      let tty: boolean;
      try {
        tty = (await docker.getContainer(idOrName).inspect()).Config.Tty;
      } catch (err) {
        if (statusOf(err) === 404) throw new HiyError('not_found', `container ${idOrName} not found`, { cause: err });
        throw engineError(err, `reading logs of ${idOrName}`);
      }
      try {
        const data: unknown = await docker.getContainer(idOrName).logs({ stdout: true, stderr: true, follow: false, tail: opts.tail ?? 200 });
        return tty ? asBuffer(data).toString('utf8') : demuxToText(asBuffer(data));
      } catch (err) {
        throw engineError(err, `reading logs of ${idOrName}`);
      }
    },

    async listImages(filter = {}) {
      // Images are hiy's by name (hiy/<app>:<sha>), not by label: see docker-builder.ts.
      const images = await docker.listImages({ filters: { reference: [filter.app ? `hiy/${filter.app}` : 'hiy/*'] } }).catch((err: unknown) => { throw engineError(err, 'listing images'); });
      return images.map((i): ImageInfo => ({
        id: i.Id,
        tags: (i.RepoTags ?? []).filter((t) => t !== '<none>:<none>'),
        labels: i.Labels ?? {},
        created: i.Created,
        size: i.Size,
      }));
    },

    async removeImage(ref) {
      await docker.getImage(ref).remove().catch((err: unknown) => {
        if (statusOf(err) === 404) return;
        if (statusOf(err) === 409) throw new HiyError('conflict', `image ${ref} is in use: ${engineMessage(err)}`, { cause: err });
        throw engineError(err, `removing image ${ref}`);
      });
    },

    async pruneBuildLeftovers() {
      let reclaimed = 0;
      try {
        // Untagged leaves: left when a tag moves or a build fails, but the build stages of a
        // multi-stage Dockerfile (the dependency layer a code-only push reuses) look the same.
        // Only those a week old go, so the cache of an app in use costs one reinstall a week.
        const res = await docker.pruneImages({ filters: { dangling: ['true'], until: ['168h'] } });
        reclaimed += res.SpaceReclaimed ?? 0;
      } catch (err) {
        throw engineError(err, 'pruning dangling images');
      }
      try {
        // BuildKit's cache (the classic builder's is its intermediate images), with the same week
        // as above: the apps' dependency caches are cache mounts in it, and pruning all of it after
        // every deploy emptied every app's cache each time. Older engines answer 404; a busy one
        // 409 ("a prune operation is already running").
        const res = await pruneBuildCache(docker, { until: ['168h'] });
        reclaimed += res.SpaceReclaimed ?? 0;
      } catch (err) {
        if (![404, 409].includes(statusOf(err) ?? -1)) throw engineError(err, 'pruning the build cache');
      }
      return reclaimed;
    },

    async imageExists(ref) {
      try {
        await docker.getImage(ref).inspect();
        return true;
      } catch (err) {
        if (statusOf(err) === 404) return false;
        throw engineError(err, `inspecting image ${ref}`);
      }
    },
  };
}
