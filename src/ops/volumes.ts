/**
 * Apps' data volumes (`hiy-<app>-data`) in backups. hiy and its backup run as root on the box
 * that runs the engine, so a local-driver volume is read and written at its mountpoint on the
 * host: no helper image is needed (none can be pulled here), and owners and modes are kept.
 * A volume is copied while its app runs: files an app rewrites during the copy can be caught
 * half-written (docs/backup.md says so; databases in a volume want their own dump).
 */
import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { Pack } from 'tar-stream';
import { volumeName } from '../deploy/processes.js';
import { HiyError } from '../errors.js';
import { connectDocker, engineError, statusOf, type Docker } from '../runtime/docker-client.js';
import { LABEL_APP, LABEL_INSTANCE, LABEL_MANAGED } from '../runtime/runtime.js';
import { addTree } from './archive.js';

const run = promisify(execFile);

export interface AppVolume {
  app: string;
  name: string;
  mountpoint: string;
}

/** The engine client, or undefined (with the reason) when no engine answers. */
export async function engine(): Promise<{ docker: Docker } | { reason: string }> {
  const docker = connectDocker();
  try {
    await docker.ping();
    return { docker };
  } catch (err) {
    return { reason: engineError(err, 'docker').message };
  }
}

async function inspectVolume(docker: Docker, name: string): Promise<{ Mountpoint: string; Driver: string } | undefined> {
  try {
    return await docker.getVolume(name).inspect() as { Mountpoint: string; Driver: string };
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw engineError(err, `inspecting volume ${name}`);
  }
}

/** The data volumes that exist for these apps. */
export async function findAppVolumes(docker: Docker, apps: string[]): Promise<AppVolume[]> {
  const out: AppVolume[] = [];
  for (const app of apps) {
    const name = volumeName(app);
    const v = await inspectVolume(docker, name);
    if (!v) continue;
    if (v.Driver !== 'local') throw new HiyError('internal', `volume ${name} uses the "${v.Driver}" driver: only local volumes can be backed up`);
    out.push({ app, name, mountpoint: v.Mountpoint });
  }
  return out;
}

/** Packs a volume's files under `volumes/<name>/`; returns the bytes of file content. */
export function exportVolume(pack: Pack, vol: AppVolume): Promise<number> {
  return addTree(pack, `volumes/${vol.name}`, vol.mountpoint);
}

export type ImportResult = { name: string; restored: true } | { name: string; restored: false; reason: string };

/**
 * Fills the app's volume from an extracted copy (`from`). A volume that exists and holds files is
 * never overwritten: the operator decides (the copy stays where it was extracted).
 */
export async function importVolume(docker: Docker, app: string, from: string, instanceId: string): Promise<ImportResult> {
  const name = volumeName(app);
  let v = await inspectVolume(docker, name);
  if (v && (await readdir(v.Mountpoint)).length > 0) {
    return { name, restored: false, reason: `volume ${name} already exists and is not empty: left as it is` };
  }
  if (!v) {
    await docker.createVolume({ Name: name, Driver: 'local', Labels: { [LABEL_MANAGED]: '1', [LABEL_APP]: app, [LABEL_INSTANCE]: instanceId } })
      .catch((err: unknown) => { throw engineError(err, `creating volume ${name}`); });
    v = await inspectVolume(docker, name);
    if (!v) throw new HiyError('internal', `volume ${name} vanished right after it was created`);
  }
  // cp -a keeps owners, modes, times and symlinks exactly as extracted.
  await run('cp', ['-a', '--', `${from}/.`, `${v.Mountpoint}/`], { maxBuffer: 1 << 20 });
  return { name, restored: true };
}
