/**
 * How the Docker adapter keeps what hiy knows about its objects: labels. Nothing outside
 * src/runtime reads them; the rest of hiy sees ContainerRole / ContainerInfo (runtime.ts).
 */
import type { Slot } from '../slots.js';
import type { ContainerInfo, ContainerRole } from './runtime.js';

export const LABEL_APP = 'hiy.app';
export const LABEL_DEPLOY = 'hiy.deploy';
export const LABEL_SLOT = 'hiy.slot';
export const LABEL_PROCESS = 'hiy.process';
/** Index of a container among the containers of its process type (web replica 0, 1, …). */
export const LABEL_REPLICA = 'hiy.replica';
/** The run record of a one-off container (hiy run, a console session, a cron job). */
export const LABEL_RUN = 'hiy.run';
/** Every object hiy creates carries this label, so reconciliation and tests can find them. */
export const LABEL_MANAGED = 'hiy.managed';
/** The data dir's instance id: which hiy owns the object. */
export const LABEL_INSTANCE = 'hiy.instance';
/** On an add-on's container, network and volume: the add-on's name (they carry no hiy.app). */
export const LABEL_ADDON = 'hiy.addon';
/** On the node-stats agent's service (swarm-node-stats.ts): the instance it reports to. */
export const LABEL_NODE_STATS = 'hiy.node-stats';
/** Which add-ons a container's environment holds (names only). */
export const LABEL_MANAGED_ENV = 'hiy.managed-env';

/** hiy's own labels win over anything a caller passes, so list()/cleanup always find the object. */
export function hiyLabels(app: string, ...extra: (Record<string, string> | undefined)[]): Record<string, string> {
  return Object.assign({}, ...extra, { [LABEL_MANAGED]: '1', [LABEL_APP]: app });
}

/** The labels that record a container's role (only what is set). */
export function roleLabels(role: ContainerRole): Record<string, string> {
  return {
    ...(role.deployId !== undefined ? { [LABEL_DEPLOY]: String(role.deployId) } : {}),
    ...(role.slot !== undefined ? { [LABEL_SLOT]: role.slot } : {}),
    ...(role.replica !== undefined ? { [LABEL_REPLICA]: String(role.replica) } : {}),
    ...(role.process !== undefined ? { [LABEL_PROCESS]: role.process } : {}),
    ...(role.run !== undefined ? { [LABEL_RUN]: String(role.run) } : {}),
    ...(role.managedEnv ? { [LABEL_MANAGED_ENV]: role.managedEnv } : {}),
  };
}

type Role = Pick<ContainerInfo, 'app' | 'process' | 'replica' | 'deployId' | 'slot' | 'run' | 'instance' | 'managedEnv'>;

/** A container's role read back from its labels; what is missing takes the defaults (web, replica 0). */
export function roleOf(labels: Record<string, string>): Role {
  const deploy = Number(labels[LABEL_DEPLOY]);
  const slot = labels[LABEL_SLOT];
  const run = Number(labels[LABEL_RUN]);
  return {
    app: labels[LABEL_APP] ?? '',
    process: labels[LABEL_PROCESS] || 'web',
    replica: Number(labels[LABEL_REPLICA] ?? '0'),
    deployId: Number.isInteger(deploy) && deploy > 0 ? deploy : null,
    slot: slot === 'a' || slot === 'b' ? (slot satisfies Slot) : null,
    run: Number.isInteger(run) && run > 0 ? run : null,
    instance: labels[LABEL_INSTANCE] ?? null,
    managedEnv: labels[LABEL_MANAGED_ENV] ?? '',
  };
}
