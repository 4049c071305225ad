/**
 * Free space on the disks builds write to (the engine's data root, hiy's data dir). A build that
 * fills the disk would take hiy's database, every app's writes and the engine down with it, so
 * builds do not start below a reserve and are stopped when they eat into it.
 */
import { statfs } from 'node:fs/promises';

const MB = 1024 * 1024;

/** Bytes an unprivileged writer may still use on the file system of `path`; undefined when it cannot be read. */
export async function freeBytes(path: string): Promise<number | undefined> {
  try {
    const s = await statfs(path);
    return s.bavail * s.bsize;
  } catch {
    return undefined;
  }
}

export interface LowDisk {
  path: string;
  freeMb: number;
}

/** The first of `paths` with less than `reserveMb` free, if any. */
export async function lowDisk(paths: string[], reserveMb: number): Promise<LowDisk | undefined> {
  for (const path of paths) {
    const free = await freeBytes(path);
    if (free !== undefined && free < reserveMb * MB) return { path, freeMb: Math.floor(free / MB) };
  }
  return undefined;
}

/** Checks every `everyMs` until stopped; calls `onLow` once when a path falls below the reserve. */
export function watchDisk(paths: string[], reserveMb: number, everyMs: number, onLow: (low: LowDisk) => void): () => void {
  let stopped = false;
  const timer = setInterval(() => {
    void lowDisk(paths, reserveMb).then((low) => {
      if (!low || stopped) return;
      stop();
      onLow(low);
    });
  }, everyMs);
  const stop = () => {
    stopped = true;
    clearInterval(timer);
  };
  return stop;
}
