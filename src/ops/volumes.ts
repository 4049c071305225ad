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
import { createLogger } from '../log.js';
import { createDockerRuntime } from '../runtime/docker-runtime.js';
import type { Runtime } from '../runtime/runtime.js';
import { addTree, type TreeResult } from './archive.js';

const run = promisify(execFile);

export interface AppVolume {
  app: string;
  name: string;
  mountpoint: string;
}

/**
 * The engine, or the reason it cannot be used. Volumes it creates carry `instance` (the restored
 * server's id), so that server's reconciliation knows them as its own.
 */
export async function engine(host: string, instance?: string): Promise<{ runtime: Runtime } | { reason: string }> {
  const runtime = createDockerRuntime(createLogger('silent'), instance ? { instance, host } : { host });
  try {
    await runtime.ping();
    return { runtime };
  } catch (err) {
    return { reason: (err as Error).message };
  }
}

/** The data volumes that exist for these apps. */
export async function findAppVolumes(runtime: Runtime, apps: string[]): Promise<AppVolume[]> {
  const out: AppVolume[] = [];
  for (const app of apps) {
    const name = volumeName(app);
    const v = await runtime.volumeLocation(name);
    if (!v) continue;
    if (v.driver !== 'local') throw new HiyError('internal', `volume ${name} uses the "${v.driver}" driver: only local volumes can be backed up`);
    out.push({ app, name, mountpoint: v.mountpoint });
  }
  return out;
}

/** Packs a volume's files under `volumes/<name>/`; returns the bytes of file content and what was left out. */
export function exportVolume(pack: Pack, vol: AppVolume): Promise<TreeResult> {
  return addTree(pack, `volumes/${vol.name}`, vol.mountpoint);
}

export type ImportResult = { name: string; restored: true } | { name: string; restored: false; reason: string };

/**
 * Fills the app's volume from an extracted copy (`from`). A volume that exists and holds files is
 * never overwritten: the operator decides (the copy stays where it was extracted).
 */
export async function importVolume(runtime: Runtime, app: string, from: string): Promise<ImportResult> {
  const name = volumeName(app);
  let v = await runtime.volumeLocation(name);
  if (v && (await readdir(v.mountpoint)).length > 0) {
    return { name, restored: false, reason: `volume ${name} already exists and is not empty: left as it is` };
  }
  if (!v) {
    await runtime.ensureVolume(name, app);
    v = await runtime.volumeLocation(name);
    if (!v) throw new HiyError('internal', `volume ${name} vanished right after it was created`);
  }
  // cp -a keeps owners, modes, times and symlinks exactly as extracted.
  await run('cp', ['-a', '--', `${from}/.`, `${v.mountpoint}/`], { maxBuffer: 1 << 20 });
  return { name, restored: true };
}
