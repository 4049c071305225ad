/**
 * The containers of a release: web replicas on their fixed slot ports, other Procfile types
 * (workers) without ports, the one-off release command, and the app's volume. Everything a
 * process gets is the same for every type: image, env, limits, network, volume.
 */
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { MAX_WEB_REPLICAS, replicaPort, type App } from '../apps/repo.js';
import { shellCommand, workerTypes, type Processes } from '../build/procfile.js';
import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import { HiyError } from '../errors.js';
import { LABEL_DEPLOY, LABEL_PROCESS, LABEL_REPLICA, LABEL_SLOT, type ContainerInfo, type ContainerSpec, type Runtime } from '../runtime/runtime.js';
import { waitHealthy } from './health-check.js';

export type Slot = 'a' | 'b';

export interface ProcessDeps {
  config: Config;
  runtime: Runtime;
}

/** What a release runs: its image and the Procfile's process types. */
export interface ReleaseImage {
  image: string;
  processes: Processes;
}

export const MAX_WORKER_REPLICAS = 10;

export const volumeName = (app: string): string => `hiy-${app}-data`;

export function volumesOf(app: Pick<App, 'name' | 'volume_path'>): { name: string; path: string }[] {
  return app.volume_path ? [{ name: volumeName(app.name), path: app.volume_path }] : [];
}

/** A release row's processes column; anything unreadable means "web only, the image's command". */
export function parseProcesses(json: string | null | undefined): Processes {
  if (!json) return {};
  try {
    const v: unknown = JSON.parse(json);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return {};
    return Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string'));
  } catch {
    return {};
  }
}

/** How many containers of each type run: web and every worker type default to one. */
export async function formationOf(db: Kysely<Database>, app: string, processes: Processes): Promise<Record<string, number>> {
  const rows = await db.selectFrom('formation').select(['process', 'quantity']).where('app', '=', app).execute();
  const set = new Map(rows.map((r) => [r.process, r.quantity]));
  const out: Record<string, number> = { web: Math.min(MAX_WEB_REPLICAS, Math.max(1, set.get('web') ?? 1)) };
  for (const t of workerTypes(processes)) out[t] = set.get(t) ?? 1;
  return out;
}

function spec(d: ProcessDeps, app: App, rel: ReleaseImage, type: string, env: Record<string, string>, labels: Record<string, string>): ContainerSpec {
  const command = rel.processes[type];
  return {
    name: `hiy-${app.name}-${type}-${randomBytes(4).toString('hex')}`,
    image: rel.image,
    app: app.name,
    env: { ...env, PORT: String(app.port) },
    containerPort: app.port,
    memoryMb: app.memory_mb,
    cpus: app.cpus,
    labels: { ...labels, [LABEL_PROCESS]: type },
    ...(command ? { cmd: shellCommand(command) } : {}),
    volumes: volumesOf(app),
  };
}

/** Runs web replica `replica` of a release on its fixed port for `slot`. */
export async function startWebReplica(d: ProcessDeps, app: App, rel: ReleaseImage, slot: Slot, replica: number, env: Record<string, string>, deployId: number): Promise<ContainerInfo> {
  await d.runtime.ensureNetwork(app.name);
  return d.runtime.run({
    ...spec(d, app, rel, 'web', env, { [LABEL_DEPLOY]: String(deployId), [LABEL_SLOT]: slot, [LABEL_REPLICA]: String(replica) }),
    hostPort: replicaPort(app, d.config.slotPortBase, replica, slot),
  });
}

/** Waits until a web replica answers (any status below 500); returns the status. */
export async function waitReplicaHealthy(d: ProcessDeps, app: App, c: ContainerInfo, port: number, signal?: AbortSignal): Promise<number> {
  return waitHealthy({
    port,
    path: app.health_path,
    timeoutSec: app.health_timeout_s,
    // The restart policy brings a crashing app back again and again: a restart already means it crashed.
    stillRunning: async () => {
      const info = await d.runtime.inspect(c.id);
      return !!info && info.running && info.state === 'running' && info.restartCount === 0;
    },
    ...(signal ? { signal } : {}),
  });
}

/** Starts `count` containers of a worker type, numbered from `from`. */
export async function startWorkers(d: ProcessDeps, app: App, rel: ReleaseImage, type: string, from: number, count: number, env: Record<string, string>, deployId: number, slot: Slot): Promise<ContainerInfo[]> {
  await d.runtime.ensureNetwork(app.name);
  const out: ContainerInfo[] = [];
  for (let i = from; i < from + count; i++) {
    out.push(await d.runtime.run(spec(d, app, rel, type, env, { [LABEL_DEPLOY]: String(deployId), [LABEL_SLOT]: slot, [LABEL_REPLICA]: String(i) })));
  }
  return out;
}

/**
 * The Procfile's release command, once, in a one-off container of the new image with the app's
 * env and volume, before anything of the new release serves. Its output goes to `onLine`.
 */
export async function runReleaseCommand(
  d: ProcessDeps, app: App, rel: ReleaseImage, env: Record<string, string>, deployId: number, onLine: (l: string) => void, timeoutSec: number, signal?: AbortSignal,
): Promise<void> {
  const res = await d.runtime.runOnce({ ...spec(d, app, rel, 'release', env, { [LABEL_DEPLOY]: String(deployId) }), oneOff: true }, { timeoutSec, onLine, ...(signal ? { signal } : {}) });
  if (res.timedOut) throw new HiyError('deploy_failed', `the release command ran longer than ${timeoutSec} s and was stopped`);
  if (res.exitCode !== 0) throw new HiyError('deploy_failed', `the release command failed (exit code ${res.exitCode})`);
}

/**
 * A new named volume belongs to root; an image that runs as another user could not write to it.
 * Hands the mount point to the image's user with a one-off `chown` (root, CAP_CHOWN only). Runs
 * at every deploy: cheap, and it also covers a volume path changed since the last one.
 */
export async function prepareVolume(d: ProcessDeps, app: App, image: string, onLine: (l: string) => void): Promise<void> {
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
