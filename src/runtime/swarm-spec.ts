/**
 * A ContainerSpec as a Swarm service: one service per container hiy would have run (one per web
 * replica and slot, per worker, per one-off), one task each, so hiy's blue/green slots and live
 * markers work as they do with containers (Swarm's own start-first update stalls on host-mode
 * ports: measured). The hardening is container-config.ts's, in the words a service spec has:
 * - cap-drop ALL (+ only what the spec gives back), pids/memory/CPU limits, the spec's user;
 * - the app's own encrypted overlay network (swarm-network.ts), endpoint mode dnsrr: no VIP and
 *   no routing mesh, which need IPVS (absent here and on many Pi kernels);
 * - the web port published in host mode on the node that runs the task (not bound to 127.0.0.1:
 *   Caddy on the primary reaches it over the nodes' network, decision 45);
 * - Init, capped json-file logs, labels (the role, read back by roleOf).
 * NoNewPrivileges cannot be carried by Engine 20.10's service API (API 1.41; it arrived in 1.46):
 * it is set where the engine's API carries it, and docs/security.md says what stands in for it.
 */
import type Docker from 'dockerode';
import { HiyError } from '../errors.js';
import { DEFAULT_PIDS_LIMIT, envList, networkName } from './container-config.js';
import { hiyLabels, roleLabels } from './labels.js';
import { placementConstraints } from './swarm-placement.js';
import type { ContainerSpec } from './runtime.js';

const MIB = 1024 * 1024;
/** The first engine API whose service spec carries NoNewPrivileges (Engine 27). */
export const NO_NEW_PRIVILEGES_API = [1, 46] as const;

export function apiAtLeast(version: string, [major, minor]: readonly [number, number]): boolean {
  const [a = 0, b = 0] = version.split('.').map(Number);
  return a > major || (a === major && b >= minor);
}

export interface SwarmSpecOptions {
  /** The image reference the nodes can pull (or find) for spec.image. */
  image: string;
  labels?: Record<string, string>;
  /** The engine's API version (`docker version` ApiVersion). */
  apiVersion: string;
  /** The node hiy's engine is (where volumes are made): processes with a volume stay on it. */
  selfNodeId: string;
}

export function serviceSpec(spec: ContainerSpec, o: SwarmSpecOptions): Docker.CreateServiceOptions {
  if (!Number.isFinite(spec.memoryMb) || spec.memoryMb < 6) throw new HiyError('invalid_input', `memory must be at least 6 MB (got ${spec.memoryMb})`);
  if (!Number.isFinite(spec.cpus) || spec.cpus <= 0) throw new HiyError('invalid_input', `cpus must be positive (got ${spec.cpus})`);
  const publish = spec.hostPort !== undefined;
  if (publish && !(Number.isInteger(spec.hostPort) && spec.hostPort! > 0 && spec.hostPort! < 65536)) {
    throw new HiyError('invalid_input', `invalid host port: ${spec.hostPort}`);
  }
  const labels = hiyLabels(spec.app, o.labels, roleLabels(spec));
  // A volume lives on one node's engine: its processes stay where hiy made it. The app's node
  // labels (hiy update --node-label) narrow where any of its processes may run.
  const constraints = [...(spec.volumes?.length ? [`node.id==${o.selfNodeId}`] : []), ...placementConstraints(spec.placement?.nodeLabels ?? {})];
  const noNewPrivileges = apiAtLeast(o.apiVersion, NO_NEW_PRIVILEGES_API) ? { Privileges: { NoNewPrivileges: true } as Docker.Privileges } : {};
  return {
    Name: spec.name,
    Labels: labels,
    TaskTemplate: {
      ContainerSpec: {
        Image: o.image,
        Labels: labels,
        Env: envList(spec.env),
        // A container's Cmd is a service's Args (Command would replace the entrypoint).
        ...(spec.cmd ? { Args: spec.cmd } : {}),
        ...(spec.user !== undefined ? { User: spec.user } : {}),
        CapabilityDrop: ['ALL'],
        ...(spec.capAdd?.length ? { CapabilityAdd: spec.capAdd } : {}),
        ...noNewPrivileges,
        ...(spec.volumes?.length ? { Mounts: spec.volumes.map((v) => ({ Type: 'volume' as const, Source: v.name, Target: v.path })) } : {}),
        Init: true,
        StopGracePeriod: 10e9,
      },
      Resources: {
        Limits: { MemoryBytes: Math.round(spec.memoryMb * MIB), NanoCPUs: Math.round(spec.cpus * 1e9), Pids: spec.pidsLimit ?? DEFAULT_PIDS_LIMIT },
      },
      // A one-off runs once; a process comes back after a crash or a node's death (elsewhere).
      RestartPolicy: spec.oneOff ? { Condition: 'none' } : { Condition: 'any', Delay: 1e9 },
      Networks: [{ Target: networkName(spec.app) }],
      LogDriver: { Name: 'json-file', Options: { 'max-size': '10m', 'max-file': '3' } },
      ...(constraints.length ? { Placement: { Constraints: constraints } } : {}),
    },
    Mode: { Replicated: { Replicas: 1 } },
    EndpointSpec: {
      Mode: 'dnsrr',
      ...(publish ? { Ports: [{ Protocol: 'tcp', TargetPort: spec.containerPort, PublishedPort: spec.hostPort, PublishMode: 'host' }] } : {}),
    },
  };
}
