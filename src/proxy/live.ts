/**
 * Live markers: which slot of an app takes new requests, told to Caddy without touching its config.
 *
 * Each route slot of Caddy's config (one per app slot index, caddy-config.ts slotRoute) has one
 * inner route per state (slot a or b, 1..N web replicas) guarded by Caddy's file matcher on
 * <liveDir>/<index>/<state>. Caddy stats the marker on every request, so moving traffic is one
 * rename(2): atomic, no admin API call, no reload, no keep-alive connection closed. A deploy
 * renames a1 → b1 once the new release answers, then waits for the old slot's in-flight requests
 * before stopping it. The same folder holds the route slot's host files (host-files.ts).
 *
 * At most one marker exists per route slot. Files are empty (0644). A system Caddy runs as its
 * own user and must be able to stat them: dirs are 0711, searchable but not listable, so other
 * local users cannot read the host names there.
 */
import { accessSync, chmodSync, constants, mkdirSync } from 'node:fs';
import { chmod, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HiyError } from '../errors.js';
import type { Slot } from '../slots.js';

export interface LiveSlot {
  slot: Slot;
  /** Web replicas of the slot that take requests (1..MAX_WEB_REPLICAS). */
  replicas: number;
}

const MARKER_RE = /^[ab][1-9]$/;

export function liveMarkerName(live: LiveSlot): string {
  if (!Number.isInteger(live.replicas) || live.replicas < 1 || live.replicas > 9) throw new Error(`live replicas out of range: ${live.replicas}`);
  return `${live.slot}${live.replicas}`;
}

/**
 * At start: <runDir>/live must be writable before anything deploys (a switch that cannot move its
 * marker would fail after the release was recorded) and searchable by Caddy's user. Only the
 * dirs hiy creates get 0711 (the umask may be 0077); an existing run dir is the operator's choice.
 */
export function prepareRunDir(runDir: string): string {
  const liveDir = join(runDir, 'live');
  try {
    const created = mkdirSync(liveDir, { recursive: true });
    if (created) for (const d of [runDir, liveDir]) if (d.startsWith(created)) chmodSync(d, 0o711);
    accessSync(liveDir, constants.W_OK);
  } catch (err) {
    throw new HiyError('config', `HIY_RUN_DIR: cannot use ${runDir} for hiy's live markers: ${(err as Error).message}`, { cause: err });
  }
  return liveDir;
}

/** Keys are route slots (an app's slot index as a string): the folder <liveDir>/<key>. */
export interface LiveMarkers {
  /** Points new requests of the route slot at `live` (atomically when a marker exists already). */
  set(key: string, live: LiveSlot): Promise<void>;
  /** No marker: Caddy falls back to every slot port of the route slot. Its host files stay. */
  clear(key: string): Promise<void>;
  /** The route slot's folder with its marker and host files (app destroyed). */
  remove(key: string): Promise<void>;
  /** Removes the folders of route slots not in `keep` (apps deleted while hiy was down, older layouts). */
  prune(keep: Set<string>): Promise<void>;
}

/** Makes `dir` (and its parents) and lets Caddy's user traverse it. */
export async function ensureTraversable(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  // mkdir's mode is reduced by the umask (hiy.service sets 0077); the proxy's user must traverse.
  await chmod(dir, 0o711);
}

export function createLiveMarkers(liveDir: string): LiveMarkers {
  const appDir = (key: string) => join(liveDir, key);
  const markersOf = async (key: string): Promise<string[]> => {
    try {
      return (await readdir(appDir(key))).filter((n) => MARKER_RE.test(n));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  };

  return {
    async set(key, live) {
      const name = liveMarkerName(live);
      const existing = await markersOf(key);
      if (existing.length === 1 && existing[0] === name) return;
      await ensureTraversable(liveDir);
      await ensureTraversable(appDir(key));
      const from = existing.find((n) => n !== name);
      if (from) {
        await rename(join(appDir(key), from), join(appDir(key), name));
      } else if (!existing.includes(name)) {
        await writeFile(join(appDir(key), name), '', { mode: 0o644 });
        await chmod(join(appDir(key), name), 0o644);
      }
      for (const n of existing) if (n !== name && n !== from) await rm(join(appDir(key), n), { force: true });
    },
    async clear(key) {
      for (const n of await markersOf(key)) await rm(join(appDir(key), n), { force: true });
    },
    async remove(key) {
      await rm(appDir(key), { recursive: true, force: true });
    },
    async prune(keep) {
      let apps: string[];
      try {
        apps = await readdir(liveDir);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw err;
      }
      for (const key of apps) if (!keep.has(key)) await rm(appDir(key), { recursive: true, force: true });
    },
  };
}
