/**
 * How a Swarm service with one task reads as the ContainerInfo hiy knows from containers: its
 * current task is "the container", tasks that ended by themselves are its restarts, and the node
 * that runs it says where its published port answers.
 */
import type Docker from 'dockerode';
import { roleOf } from './labels.js';
import type { ContainerInfo, ContainerState } from './runtime.js';

/** The parts of a task (GET /tasks) hiy reads. */
export interface SwarmTask {
  ID: string;
  ServiceID: string;
  NodeID?: string;
  DesiredState: string;
  CreatedAt: string;
  Version?: { Index?: number };
  Status: { Timestamp?: string; State: string; Err?: string; ContainerStatus?: { ContainerID?: string; ExitCode?: number } };
}

/** The parts of a node (GET /nodes) hiy reads. */
export interface SwarmNode {
  ID: string;
  Status?: { State?: string; Addr?: string };
  Spec?: { Role?: string; Availability?: string; Labels?: Record<string, string> };
  Description?: { Hostname?: string };
}

/** Task states after which it never runs again. */
const ENDED = new Set(['complete', 'shutdown', 'failed', 'rejected', 'remove', 'orphaned']);
/** Ended by itself (a crash, an exit, a refusal): what a container's restart count counts. */
const ENDED_BY_ITSELF = new Set(['complete', 'failed', 'rejected']);

export const taskEnded = (t: SwarmTask): boolean => ENDED.has(t.Status.State);

/** The task that stands for the service now: the newest one meant to run, else the newest at all. */
export function currentTask(tasks: SwarmTask[]): SwarmTask | undefined {
  const newest = [...tasks].sort((a, b) => (b.Version?.Index ?? 0) - (a.Version?.Index ?? 0) || b.CreatedAt.localeCompare(a.CreatedAt));
  return newest.find((t) => t.DesiredState === 'running' && !taskEnded(t)) ?? newest[0];
}

function stateOf(task: SwarmTask | undefined, replicas: number): ContainerState {
  if (!task) return replicas === 0 ? 'exited' : 'created';
  const s = task.Status.State;
  if (s === 'running') return task.DesiredState === 'running' ? 'running' : 'removing';
  if (ENDED.has(s)) return s === 'failed' || s === 'rejected' ? 'dead' : 'exited';
  return 'created';
}

export function nodeAddresses(nodes: SwarmNode[]): Map<string, string> {
  return new Map(nodes.flatMap((n) => (n.Status?.Addr ? [[n.ID, n.Status.Addr] as const] : [])));
}

export function serviceInfo(service: Docker.Service, tasks: SwarmTask[], nodes: Map<string, string>): ContainerInfo {
  const spec = service.Spec ?? {};
  const container = 'ContainerSpec' in (spec.TaskTemplate ?? {}) ? (spec.TaskTemplate as Docker.ContainerTaskSpec).ContainerSpec : undefined;
  const replicas = spec.Mode?.Replicated?.Replicas ?? 0;
  const task = currentTask(tasks);
  const running = task?.Status.State === 'running' && task.DesiredState === 'running';
  const ended = task !== undefined && taskEnded(task);
  const port = spec.EndpointSpec?.Ports?.[0]?.PublishedPort;
  const host = task?.NodeID ? nodes.get(task.NodeID) : undefined;
  return {
    id: service.ID,
    name: spec.Name ?? service.ID,
    // The spec may carry the digest the manager resolved: hiy knows the image by its tag.
    image: (container?.Image ?? '').replace(/@sha256:[0-9a-f]{64}$/, ''),
    state: stateOf(task, replicas),
    running,
    restartCount: tasks.filter((t) => t !== task && ENDED_BY_ITSELF.has(t.Status.State)).length,
    exitCode: ended ? task.Status.ContainerStatus?.ExitCode ?? null : null,
    startedAt: running ? task.Status.Timestamp ?? null : null,
    hostPort: port ?? null,
    ...(host ? { host } : {}),
    attached: false,
    ...roleOf(spec.Labels ?? {}),
  };
}

/** What a node's engine says when it could not get a task's image (the pull failed, then the create). */
const IMAGE_MISSING = /no such image|pull access denied|manifest unknown|unauthorized|no basic auth credentials|x509|authentication required/i;

/**
 * A task a node refused because it could not pull the image: the deploy's error, naming the node
 * (the node's own words say no more than "No such image": the pull's reason is in its engine's log).
 */
export function imagePullFailure(tasks: SwarmTask[], nodes: SwarmNode[]): string | undefined {
  const t = tasks.find((x) => taskEnded(x) && IMAGE_MISSING.test(x.Status.Err ?? ''));
  if (!t) return undefined;
  const node = nodes.find((n) => n.ID === t.NodeID);
  const name = node?.Description?.Hostname ?? t.NodeID ?? 'a node';
  return `node ${name} could not get the app's image (${(t.Status.Err ?? '').slice(0, 300)}): check that it reaches the nodes' registry, trusts its CA (/etc/docker/certs.d/<host:port>/ca.crt) and that the registry accepts hiy's login (see <data>/registry/registry.log on this box)`;
}
