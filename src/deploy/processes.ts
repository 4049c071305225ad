/**
 * The containers of a release: web replicas on their fixed slot ports, other Procfile types
 * (workers) without ports, the one-off release command, and the app's volume. Everything a
 * process gets is the same for every type: image, env, limits, network, volume; all of it comes
 * from the release plan (plan.ts).
 */
import { randomBytes } from 'node:crypto';
import type { App } from '../apps/repo.js';
import { placementOf } from '../apps/placement.js';
import { shellCommand } from '../build/procfile.js';
import type { Config } from '../config.js';
import { HiyError } from '../errors.js';
import type { ContainerInfo, ContainerRole, ContainerSpec, Runtime } from '../runtime/runtime.js';
import { replicaPort } from '../slots.js';
import { shareOf } from './formation.js';
import { waitHealthy } from './health-check.js';
import type { ReleasePlan } from './plan.js';

export interface ProcessDeps {
  config: Config;
  runtime: Runtime;
}

export const volumeName = (app: string): string => `hiy-${app}-data`;

export function volumesOf(app: Pick<App, 'name' | 'volume_path'>): { name: string; path: string }[] {
  return app.volume_path ? [{ name: volumeName(app.name), path: app.volume_path }] : [];
}

function spec(plan: ReleasePlan, role: Omit<ContainerRole, 'app'> & { process: string }): ContainerSpec {
  const { app, release } = plan;
  const command = release.processes[role.process];
  // Each container gets its share of the app's budget (formation.ts); deploys and scaling refuse
  // a formation spread too thin before they get here.
  const share = shareOf(app, plan.formation, { enforce: false });
  return {
    name: `hiy-${app.name}-${role.process}-${randomBytes(4).toString('hex')}`,
    image: release.image,
    app: app.name,
    env: { ...plan.env, PORT: String(app.port) },
    containerPort: app.port,
    memoryMb: share.memoryMb,
    cpus: share.cpus,
    pidsLimit: share.pidsLimit,
    ...role,
    managedEnv: plan.managedEnv,
    ...(command ? { cmd: shellCommand(command) } : {}),
    volumes: volumesOf(app),
    placement: placementOf(app),
  };
}

/**
 * A one-off container of the plan's release (hiy run, a console, a cron job): the same image,
 * env, limits, network and volume as the release's processes, its own command, no port, and the
 * id of its run record (it belongs to no release: scaling and reconciliation leave it alone).
 */
export function oneOffSpec(plan: ReleasePlan, role: { process: string; run: number }, cmd: string[]): ContainerSpec {
  return { ...spec(plan, { process: role.process }), name: `hiy-${plan.app.name}-run${role.run}-${randomBytes(3).toString('hex')}`, run: role.run, cmd, oneOff: true };
}

/** The host port web replica `replica` of the plan's release listens on. */
export const webPort = (d: ProcessDeps, plan: ReleasePlan, replica: number): number => replicaPort(plan.app, d.config.slotPortBase, replica, plan.slot);

/** Runs web replica `replica` of a release on its fixed port for the plan's slot. */
export async function startWebReplica(d: ProcessDeps, plan: ReleasePlan, replica: number): Promise<ContainerInfo> {
  await d.runtime.ensureNetwork(plan.app.name);
  return d.runtime.run({
    ...spec(plan, { process: 'web', deployId: plan.deployId, slot: plan.slot, replica }),
    hostPort: webPort(d, plan, replica),
  });
}

/** Waits until web replica `replica` answers (any status below 500); returns the status. */
export async function waitReplicaHealthy(d: ProcessDeps, plan: ReleasePlan, c: ContainerInfo, replica: number): Promise<number> {
  return waitHealthy({
    port: webPort(d, plan, replica),
    ...(c.host ? { host: c.host } : {}),
    path: plan.app.health_path,
    timeoutSec: plan.app.health_timeout_s,
    // The restart policy brings a crashing app back again and again: a restart already means it crashed.
    stillRunning: async () => {
      const info = await d.runtime.inspect(c.id);
      return !!info && info.running && info.state === 'running' && info.restartCount === 0;
    },
    ...(plan.signal ? { signal: plan.signal } : {}),
  });
}

/** Starts `count` containers of a worker type, numbered from `from`. */
export async function startWorkers(d: ProcessDeps, plan: ReleasePlan, type: string, from: number, count: number): Promise<ContainerInfo[]> {
  await d.runtime.ensureNetwork(plan.app.name);
  const out: ContainerInfo[] = [];
  for (let i = from; i < from + count; i++) {
    out.push(await d.runtime.run(spec(plan, { process: type, deployId: plan.deployId, slot: plan.slot, replica: i })));
  }
  return out;
}

/**
 * The Procfile's release command, once, in a one-off container of the new image with the app's
 * env and volume, before anything of the new release serves. Its output goes to the deploy's.
 */
export async function runReleaseCommand(d: ProcessDeps, plan: ReleasePlan, timeoutSec: number): Promise<void> {
  const onLine = (l: string) => plan.output?.detail(l);
  const res = await d.runtime.runOnce({ ...spec(plan, { process: 'release', deployId: plan.deployId }), oneOff: true }, { timeoutSec, onLine, ...(plan.signal ? { signal: plan.signal } : {}) });
  if (res.timedOut) throw new HiyError('deploy_failed', `the release command ran longer than ${timeoutSec} s and was stopped`);
  if (res.exitCode !== 0) throw new HiyError('deploy_failed', `the release command failed (exit code ${res.exitCode})`);
}

/**
 * A new named volume belongs to root; an image that runs as another user could not write to it.
 * Hands the mount point to the image's user with a one-off `chown` (root, CAP_CHOWN only). Runs
 * at every deploy: cheap, and it also covers a volume path changed since the last one.
 */
export async function prepareVolume(d: ProcessDeps, plan: ReleasePlan): Promise<void> {
  const { app, release: { image } } = plan;
  const onLine = (l: string) => plan.output?.detail(l);
  const [vol] = volumesOf(app);
  if (!vol) return;
  await d.runtime.ensureVolume(vol.name, app.name);
  const user = await d.runtime.imageUser(image);
  if (user === '' || user === 'root' || user === '0' || user.startsWith('0:')) return;
  const res = await d.runtime.runOnce({
    name: `hiy-${app.name}-volume-${randomBytes(4).toString('hex')}`, image, app: app.name, env: {}, containerPort: app.port,
    memoryMb: 64, cpus: 0.5, user: '0:0', capAdd: ['CHOWN'], cmd: ['chown', user, vol.path], volumes: [vol], oneOff: true,
  }, { timeoutSec: 60, onLine });
  if (res.exitCode !== 0) onLine(`could not hand ${vol.path} to user ${user} (exit code ${res.exitCode}); the app may not be able to write to it`);
}
