/**
 * Services as the containers of a release: create (and wait until the task runs), inspect, list,
 * stop/start (replicas 0/1), remove (and wait until the task's port is free again), limits.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../log.js';
import { HiyError } from '../errors.js';
import { engineError, engineMessage, statusOf, type Docker } from './docker-client.js';
import { LABEL_ADDON, LABEL_APP, LABEL_MANAGED, LABEL_NODE_STATS } from './labels.js';
import { imagePullFailure, nodeAddresses, serviceInfo, taskEnded, type SwarmNode, type SwarmTask } from './swarm-tasks.js';
import type { ContainerInfo, Runtime } from './runtime.js';

/** A registry login as Docker's X-Registry-Auth header carries it (dockerode's `authconfig`). */
export interface RegistryAuth { username: string; password: string; serveraddress: string }

type Services = Pick<Runtime, 'inspect' | 'list' | 'start' | 'stop' | 'remove' | 'updateLimits'>;

export interface SwarmServices extends Services {
  /**
   * Creates the service and waits until its task runs (or ended: the caller reads why). With
   * `onNode`, the task starts there (spread.ts) and the pin is lifted once it runs.
   */
  create(spec: Docker.CreateServiceOptions, onNode?: string): Promise<ContainerInfo>;
  tasksOf(service: string): Promise<SwarmTask[]>;
  nodes(): Promise<SwarmNode[]>;
}

/** How long a new service's task may stay unplaced (no node with the port free, image missing). */
const PLACE_TIMEOUT_MS = 60_000;
const POLL_MS = 100;
/** How long a pinned task may wait for its node before any node may take it. */
const PIN_TIMEOUT_MS = 15_000;
/** The constraint create() pins a task with; a volume's own (node.id==) is written without spaces. */
const PIN = 'node.id == ';

/**
 * `registryAuth(image)`: the login for an image of the nodes' registry (none for others). It goes
 * with every create AND update (Docker's --with-registry-auth): a task an update replaces may
 * start on a node that has to pull the image.
 */
export function swarmServices(docker: Docker, log: Logger, registryAuth: (image: string) => Promise<RegistryAuth | undefined> = async () => undefined): SwarmServices {
  async function tasksOf(service: string): Promise<SwarmTask[]> {
    return (await docker.listTasks({ filters: { service: [service] } }).catch((err: unknown) => { throw engineError(err, `listing the tasks of ${service}`); })) as SwarmTask[];
  }

  async function nodes(): Promise<SwarmNode[]> {
    return (await docker.listNodes().catch((err: unknown) => { throw engineError(err, 'listing the Swarm\'s nodes'); })) as SwarmNode[];
  }

  async function inspectService(idOrName: string): Promise<Docker.Service | undefined> {
    try {
      return (await docker.getService(idOrName).inspect()) as Docker.Service;
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw engineError(err, `inspecting service ${idOrName}`);
    }
  }

  async function inspect(idOrName: string): Promise<ContainerInfo | undefined> {
    const service = await inspectService(idOrName);
    if (!service) return undefined;
    const [tasks, all] = await Promise.all([tasksOf(service.ID), nodes()]);
    return serviceInfo(service, tasks, nodeAddresses(all));
  }

  /** Sets the replicas (and other spec fields); retried when another update won the version race. */
  async function update(idOrName: string, change: (spec: Docker.ServiceSpec) => Docker.ServiceSpec): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      const service = await inspectService(idOrName);
      if (!service?.Spec) return false;
      const next = change(structuredClone(service.Spec));
      // Without it the manager keeps the login the service was created with: better than no update.
      const auth = await registryAuth((next.TaskTemplate as Docker.ContainerTaskSpec | undefined)?.ContainerSpec?.Image ?? '')
        .catch((err: unknown) => { log.warn({ err: engineMessage(err) }, 'no registry login for a service update'); return undefined; });
      try {
        // Auth first, spec second: with one argument dockerode would send no login at all.
        const svc = docker.getService(service.ID) as unknown as { update(auth: RegistryAuth | undefined, opts: object): Promise<unknown> };
        await svc.update(auth, { version: service.Version?.Index, ...next });
        return true;
      } catch (err) {
        if (statusOf(err) === 404) return false;
        if (attempt < 3 && /update out of sequence/i.test(engineMessage(err))) continue;
        throw engineError(err, `updating service ${idOrName}`, 'deploy_failed');
      }
    }
  }

  /** Until no task of the service holds a container (or the deadline). */
  async function waitTasksEnded(service: string, deadline: number): Promise<void> {
    while (Date.now() < deadline) {
      const tasks = await tasksOf(service).catch(() => []);
      if (tasks.every(taskEnded)) return;
      await sleep(POLL_MS);
    }
  }

  async function waitPlaced(id: string, name: string, pinned: boolean): Promise<ContainerInfo> {
    const deadline = Date.now() + PLACE_TIMEOUT_MS;
    let last: SwarmTask | undefined;
    while (Date.now() < deadline) {
      // A node that cannot take it after all (its port busy, gone): any node may.
      if (pinned && Date.now() > deadline - PLACE_TIMEOUT_MS + PIN_TIMEOUT_MS) pinned = !(await unpin(id));
      const tasks = await tasksOf(id);
      last = tasks[0];
      if (tasks.some((t) => t.Status.State === 'running' || taskEnded(t))) {
        // A node that cannot pull is a deploy that cannot work there: said at once, in words.
        const pull = imagePullFailure(tasks, await nodes());
        if (pull) throw new HiyError('deploy_failed', `service ${name} did not start: ${pull}`);
        const info = await inspect(id);
        if (!info) throw new HiyError('deploy_failed', `service ${name} vanished right after it was created`);
        return info;
      }
      await sleep(POLL_MS);
    }
    const why = last?.Status.Err ? `: ${last.Status.Err}` : last ? ` (its task is ${last.Status.State})` : ' (no task was made)';
    throw new HiyError('deploy_failed', `service ${name} did not start on any node within ${PLACE_TIMEOUT_MS / 1000} s${why}`);
  }

  /**
   * Lifts the node constraint create() pinned: Swarm then moves the task wherever it must (a
   * node's death). A change of constraints alone that the task's node still meets does not
   * restart the task (swarmkit's IsTaskDirtyPlacementConstraintsOnly).
   */
  async function unpin(id: string): Promise<boolean> {
    return update(id, (s) => {
      const template = s.TaskTemplate as Docker.ContainerTaskSpec;
      const constraints = (template.Placement?.Constraints ?? []).filter((c) => !c.startsWith(PIN));
      return { ...s, TaskTemplate: { ...template, Placement: { ...template.Placement, Constraints: constraints } } };
    });
  }

  async function remove(idOrName: string): Promise<void> {
    const service = await inspectService(idOrName);
    if (!service) return;
    await docker.getService(service.ID).remove().catch((err: unknown) => {
      if (statusOf(err) === 404) return;
      throw engineError(err, `removing service ${idOrName}`);
    });
    // The task stops after the call returns: its host port is busy until then, and the slot's
    // next release wants that port (the scheduler would place it elsewhere or keep it pending).
    await waitTasksEnded(service.ID, Date.now() + 30_000);
  }

  return {
    tasksOf,
    nodes,
    inspect,
    remove,

    async create(spec, onNode) {
      let created: { id: string };
      if (onNode) {
        const template = spec.TaskTemplate as Docker.ContainerTaskSpec;
        spec = { ...spec, TaskTemplate: { ...template, Placement: { ...template.Placement, Constraints: [...(template.Placement?.Constraints ?? []), `${PIN}${onNode}`] } } };
      }
      const auth = await registryAuth((spec.TaskTemplate as Docker.ContainerTaskSpec | undefined)?.ContainerSpec?.Image ?? '');
      try {
        // dockerode's createService(spec) with one argument sends the whole spec as the
        // X-Registry-Auth header (no login at all): the login must be the first argument.
        created = (await docker.createService(auth as Docker.AuthConfig, spec)) as unknown as { id: string };
      } catch (err) {
        if (statusOf(err) === 409) throw new HiyError('conflict', `a service named ${spec.Name} already exists (${engineMessage(err)})`, { cause: err });
        throw engineError(err, `creating service ${spec.Name}`, 'deploy_failed');
      }
      try {
        let info = await waitPlaced(created.id, spec.Name ?? created.id, onNode !== undefined);
        if (onNode && await unpin(created.id)) info = (await inspect(created.id)) ?? info;
        log.info({ app: info.app, service: info.name, image: info.image, node: info.host, hostPort: info.hostPort, state: info.state }, 'service started');
        return info;
      } catch (err) {
        await remove(created.id).catch((e: unknown) => log.warn({ err: e, service: spec.Name }, 'removing a service that did not start failed'));
        throw err;
      }
    },

    async list(filter = {}) {
      const label = [`${LABEL_MANAGED}=1`, ...(filter.app ? [`${LABEL_APP}=${filter.app}`] : [])];
      let services: Docker.Service[];
      let tasks: SwarmTask[];
      let all: SwarmNode[];
      try {
        [services, tasks, all] = await Promise.all([
          docker.listServices({ filters: { label } }) as Promise<Docker.Service[]>,
          docker.listTasks({ filters: { label } }) as Promise<SwarmTask[]>,
          nodes(),
        ]);
      } catch (err) {
        throw engineError(err, 'listing services');
      }
      const addresses = nodeAddresses(all);
      return services
        // Add-ons and the node-stats agent (no app's process) are not the containers of a release.
        .filter((s) => !s.Spec?.Labels?.[LABEL_ADDON] && !s.Spec?.Labels?.[LABEL_NODE_STATS])
        .map((s) => serviceInfo(s, tasks.filter((t) => t.ServiceID === s.ID), addresses))
        .sort((a, b) => a.name.localeCompare(b.name));
    },

    async start(idOrName) {
      if (!(await update(idOrName, (s) => ({ ...s, Mode: { Replicated: { Replicas: 1 } } })))) {
        throw new HiyError('not_found', `service ${idOrName} not found`);
      }
    },

    async stop(idOrName, timeoutSec) {
      const grace = Math.max(0, Math.round(timeoutSec)) * 1e9;
      const service = await inspectService(idOrName);
      if (!service) return;
      await update(service.ID, (s) => {
        const template = s.TaskTemplate as Docker.ContainerTaskSpec;
        return { ...s, Mode: { Replicated: { Replicas: 0 } }, TaskTemplate: { ...template, ContainerSpec: { ...template.ContainerSpec, StopGracePeriod: grace } } };
      });
      await waitTasksEnded(service.ID, Date.now() + timeoutSec * 1000 + 10_000);
    },

    /**
     * Swarm cannot change a task's limits in place: the task is replaced. Start-first, so the
     * replacement runs before the old task stops: it starts on another node (the old one still
     * holds the slot port here; Caddy lists the port on every node) and the app keeps serving,
     * also when this is its only replica. Resolves once the old task is gone.
     */
    async updateLimits(idOrName, limits) {
      const service = await inspectService(idOrName);
      if (!service) throw new HiyError('not_found', `service ${idOrName} not found`);
      const since = new Date().toISOString();
      const ok = await update(service.ID, (s) => {
        const template = s.TaskTemplate as Docker.ContainerTaskSpec;
        const Limits = { MemoryBytes: Math.round(limits.memoryMb * 1024 * 1024), NanoCPUs: Math.round(limits.cpus * 1e9), Pids: limits.pidsLimit };
        return { ...s, UpdateConfig: { Parallelism: 1, Order: 'start-first', FailureAction: 'continue' }, TaskTemplate: { ...template, Resources: { ...template.Resources, Limits } } };
      });
      if (!ok) throw new HiyError('not_found', `service ${idOrName} not found`);
      const deadline = Date.now() + PLACE_TIMEOUT_MS;
      while (Date.now() < deadline) {
        const tasks = await tasksOf(service.ID);
        const replaced = tasks.some((t) => t.CreatedAt >= since && t.Status.State === 'running');
        if (replaced && tasks.every((t) => t.CreatedAt >= since || taskEnded(t))) return;
        await sleep(POLL_MS);
      }
      log.warn({ service: idOrName }, 'the task with the new limits did not replace the old one within 60 s');
    },
  };
}
