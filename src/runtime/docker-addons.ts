/**
 * Add-on containers on a Docker engine (addons.ts). Each add-on owns three engine objects named
 * `hiy-addon.<name>`: its container, its volume and an internal bridge network (no route out,
 * no app on it). Apps' objects are `hiy-<app>…` and app names hold no dot, so the names never
 * meet. The container is hardened like an app's and more: the image's non-root user, no
 * capabilities at all, a read-only root with tmpfs where the image writes, no new privileges,
 * memory/pids/CPU limits, no published port.
 */
import { HiyError } from '../errors.js';
import type { AddonContainerInfo, AddonContainerSpec, AddonRuntime } from './addons.js';
import { engineError, engineMessage, statusOf, type Docker } from './docker-client.js';
import { networkName } from './container-config.js';
import { execIn } from './docker-exec.js';
import { runToEnd } from './docker-oneoff.js';
import { LABEL_ADDON, LABEL_INSTANCE, LABEL_MANAGED } from './labels.js';

const MIB = 1024 * 1024;
const PREFIX = 'hiy-addon.';
export const addonObjectName = (addon: string): string => `${PREFIX}${addon}`;
const appOfNetwork = (network: string): string | undefined => (network.startsWith('hiy-') && !network.includes('.') ? network.slice(4) : undefined);

function envList(env: Record<string, string>): string[] {
  return Object.entries(env).map(([k, v]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) || v.includes('\0')) throw new HiyError('invalid_input', `invalid environment variable name: ${JSON.stringify(k)}`);
    return `${k}=${v}`;
  });
}

/** The create options of an add-on's container, or of a one-off on its volume (no network, no restart). */
export function addonCreateOptions(spec: AddonContainerSpec, labels: Record<string, string>, oneOff?: { name: string }): Docker.ContainerCreateOptions {
  if (!Number.isInteger(spec.memoryMb) || spec.memoryMb < 16) throw new HiyError('invalid_input', `memory must be at least 16 MB (got ${spec.memoryMb})`);
  const name = addonObjectName(spec.addon);
  const memory = spec.memoryMb * MIB;
  return {
    name: oneOff?.name ?? name,
    Image: spec.image,
    Env: envList(spec.env),
    // A one-off runs exactly its command: the image's entrypoint (its first-start set-up) is for the server.
    ...(oneOff ? { Entrypoint: spec.cmd.slice(0, 1), Cmd: spec.cmd.slice(1) } : { Cmd: spec.cmd }),
    User: spec.user,
    Labels: { ...labels, [LABEL_MANAGED]: '1', [LABEL_ADDON]: spec.addon },
    StopTimeout: spec.stopTimeoutSec,
    HostConfig: {
      RestartPolicy: oneOff ? { Name: 'no', MaximumRetryCount: 0 } : { Name: 'unless-stopped', MaximumRetryCount: 0 },
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      Privileged: false,
      ReadonlyRootfs: true,
      Tmpfs: spec.tmpfs,
      Mounts: [{ Type: 'volume', Source: name, Target: spec.dataPath }],
      PidsLimit: spec.pidsLimit,
      Memory: memory,
      MemorySwap: memory,
      NanoCpus: Math.round(spec.cpus * 1e9),
      LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } },
      NetworkMode: oneOff ? 'none' : name,
      Init: true,
    },
    ...(oneOff ? {} : { NetworkingConfig: { EndpointsConfig: { [name]: { Aliases: [spec.addon] } } } }),
  };
}

function toAddonInfo(info: Docker.ContainerInspectInfo): AddonContainerInfo {
  const s = info.State;
  const labels = info.Config.Labels ?? {};
  const networks = Object.keys(info.NetworkSettings?.Networks ?? {});
  return {
    id: info.Id,
    name: info.Name.replace(/^\//, ''),
    addon: labels[LABEL_ADDON] ?? '',
    image: info.Config.Image,
    imageId: info.Image,
    state: s.Status,
    running: s.Running,
    restartCount: info.RestartCount,
    startedAt: s.StartedAt && !s.StartedAt.startsWith('0001-') ? s.StartedAt : null,
    apps: networks.map(appOfNetwork).filter((a): a is string => a !== undefined).sort(),
    instance: labels[LABEL_INSTANCE] ?? null,
  };
}

export function dockerAddons(docker: Docker, ensureNetwork: (app: string) => Promise<string>, extraLabels: Record<string, string>): AddonRuntime {
  const labels = (addon: string) => ({ ...extraLabels, [LABEL_MANAGED]: '1', [LABEL_ADDON]: addon });

  async function inspectByName(name: string): Promise<AddonContainerInfo | undefined> {
    try {
      const info = await docker.getContainer(name).inspect();
      return info.Config.Labels?.[LABEL_ADDON] ? toAddonInfo(info) : undefined;
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw engineError(err, `inspecting container ${name}`);
    }
  }

  async function ensureOwnNetwork(addon: string): Promise<void> {
    const name = addonObjectName(addon);
    try {
      await docker.getNetwork(name).inspect();
      return;
    } catch (err) {
      if (statusOf(err) !== 404) throw engineError(err, `inspecting network ${name}`);
    }
    // Internal: the add-on reaches nothing outside and nothing reaches it but the apps it joins.
    await docker.createNetwork({ Name: name, Driver: 'bridge', Internal: true, CheckDuplicate: true, Labels: labels(addon) }).catch((err: unknown) => {
      if (statusOf(err) !== 409) throw engineError(err, `creating network ${name}`);
    });
  }

  async function ensureOwnVolume(addon: string): Promise<void> {
    const name = addonObjectName(addon);
    try {
      await docker.getVolume(name).inspect();
      return;
    } catch (err) {
      if (statusOf(err) !== 404) throw engineError(err, `inspecting volume ${name}`);
    }
    await docker.createVolume({ Name: name, Driver: 'local', Labels: labels(addon) }).catch((err: unknown) => { throw engineError(err, `creating volume ${name}`); });
  }

  async function create(options: Docker.ContainerCreateOptions, image: string): Promise<Docker.Container> {
    try {
      return await docker.createContainer(options);
    } catch (err) {
      if (statusOf(err) === 409) throw new HiyError('conflict', `a container named ${options.name ?? '?'} already exists (${engineMessage(err)})`, { cause: err });
      if (statusOf(err) === 404) throw new HiyError('unavailable', `image ${image} is not on this engine and could not be pulled`, { cause: err });
      throw engineError(err, `creating container ${options.name ?? '?'}`);
    }
  }

  return {
    async runAddon(spec) {
      await ensureOwnNetwork(spec.addon);
      await ensureOwnVolume(spec.addon);
      const container = await create(addonCreateOptions(spec, extraLabels), spec.image);
      try {
        await container.start();
      } catch (err) {
        await container.remove({ force: true }).catch(() => undefined);
        throw engineError(err, `starting add-on ${spec.addon}`);
      }
      const info = await inspectByName(container.id);
      if (!info) throw new HiyError('internal', `add-on ${spec.addon}'s container vanished right after it started`);
      return info;
    },

    addonContainer: (addon) => inspectByName(addonObjectName(addon)),

    async listAddonContainers() {
      let list: Docker.ContainerInfo[];
      try {
        list = await docker.listContainers({ all: true, filters: { label: [`${LABEL_MANAGED}=1`, LABEL_ADDON] } });
      } catch (err) {
        throw engineError(err, 'listing add-on containers');
      }
      const infos = await Promise.all(list.map((c) => inspectByName(c.Id)));
      return infos.filter((i): i is AddonContainerInfo => i !== undefined).sort((a, b) => a.addon.localeCompare(b.addon));
    },

    async attachAddon(addon, app) {
      const c = await inspectByName(addonObjectName(addon));
      if (!c) throw new HiyError('not_found', `add-on ${addon} has no container`);
      if (c.apps.includes(app)) return;
      const network = await ensureNetwork(app);
      await docker.getNetwork(network).connect({ Container: c.id, EndpointConfig: { Aliases: [addon] } }).catch((err: unknown) => {
        // Two callers racing: "endpoint … already exists in network".
        if (/already exists/i.test(engineMessage(err))) return;
        throw engineError(err, `connecting add-on ${addon} to ${app}'s network`);
      });
    },

    async detachAddon(addon, app) {
      const c = await inspectByName(addonObjectName(addon));
      if (!c || !c.apps.includes(app)) return;
      await docker.getNetwork(networkName(app)).disconnect({ Container: c.id, Force: true }).catch((err: unknown) => {
        if (statusOf(err) === 404 || /is not connected/i.test(engineMessage(err))) return;
        throw engineError(err, `disconnecting add-on ${addon} from ${app}'s network`);
      });
    },

    async removeAddon(addon, opts) {
      const name = addonObjectName(addon);
      await docker.getContainer(name).remove({ force: true }).catch((err: unknown) => {
        if (statusOf(err) === 404 || statusOf(err) === 409) return;
        throw engineError(err, `removing add-on ${addon}'s container`);
      });
      await docker.getNetwork(name).remove().catch((err: unknown) => {
        if (statusOf(err) === 404) return;
        throw engineError(err, `removing add-on ${addon}'s network`);
      });
      if (!opts.data) return;
      await docker.getVolume(name).remove().catch((err: unknown) => {
        if (statusOf(err) === 404) return;
        throw engineError(err, `removing add-on ${addon}'s volume`, statusOf(err) === 409 ? 'conflict' : 'internal');
      });
    },

    async addonVolumeExists(addon) {
      try {
        await docker.getVolume(addonObjectName(addon)).inspect();
        return true;
      } catch (err) {
        if (statusOf(err) === 404) return false;
        throw engineError(err, `inspecting add-on ${addon}'s volume`);
      }
    },

    execAddon: (addon, opts) => execIn(docker, addonObjectName(addon), opts),

    async runAddonOnce(spec, opts) {
      const name = `${addonObjectName(spec.addon)}.${Date.now().toString(36)}`;
      const container = await create(addonCreateOptions(spec, extraLabels, { name }), spec.image);
      return runToEnd(docker, container, { ...opts, what: `a one-off container of add-on ${spec.addon}`, startError: 'internal' });
    },
  };
}
