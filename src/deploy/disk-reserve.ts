/**
 * Pulls and uploads write gigabytes to the engine's disk just as builds do, so they keep the same
 * HIY_DISK_RESERVE_MB free (decision 25): below it they do not start, and one that eats into it
 * is stopped, before hiy's database and the apps' volumes run out of room.
 */
import { lowDisk, watchDisk, type LowDisk } from '../build/disk-space.js';
import type { Config } from '../config.js';
import { HiyError } from '../errors.js';
import type { Runtime } from '../runtime/runtime.js';

/** How often the disks are checked while a pull or an upload runs. */
const CHECK_MS = 1_000;

export interface DiskReserve {
  reserveMb: number;
  paths: string[];
}

/** The disks a deploy writes to (hiy's data dir, the engine's data root) and what it leaves free on them. */
export async function diskReserveOf(config: Config, runtime: Runtime): Promise<DiskReserve> {
  const engineRoot = await runtime.engineDataRoot();
  return { reserveMb: config.diskReserveMb, paths: [config.dataDir, ...(engineRoot ? [engineRoot] : [])] };
}

const message = (what: string, low: LowDisk, reserveMb: number, during: boolean) => during
  ? `the ${what} was stopped: the disk holding ${low.path} fell to ${low.freeMb} MB free, below the ${reserveMb} MB reserve (HIY_DISK_RESERVE_MB) that keeps hiy's database and the apps writable; nothing was changed`
  : `the ${what} did not start: the disk holding ${low.path} has ${low.freeMb} MB free, less than the ${reserveMb} MB reserve (HIY_DISK_RESERVE_MB). Free some space (docs/operations.md, "Disk hygiene") and try again; nothing was changed`;

/**
 * Runs `work` (a pull or a load) only when the disks are above the reserve, with a signal that
 * aborts it when they fall below; that case fails with the disk's words, not the engine's.
 */
export async function withinDiskReserve<T>(reserve: DiskReserve, what: 'pull' | 'upload', work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const stop = new AbortController();
  if (reserve.reserveMb <= 0) return work(stop.signal);
  const low = await lowDisk(reserve.paths, reserve.reserveMb);
  if (low) throw new HiyError('deploy_failed', message(what, low, reserve.reserveMb, false));
  let fell: LowDisk | undefined;
  const unwatch = watchDisk(reserve.paths, reserve.reserveMb, CHECK_MS, (l) => {
    fell = l;
    stop.abort();
  });
  try {
    return await work(stop.signal);
  } catch (err) {
    if (fell) throw new HiyError('deploy_failed', message(what, fell, reserve.reserveMb, true), { cause: err });
    throw err;
  } finally {
    unwatch();
  }
}
