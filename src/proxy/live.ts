/**
 * Live markers: which slot of an app takes new requests, told to Caddy without touching its config.
 *
 * Each app's Caddy route has one inner route per state (slot a or b, 1..N web replicas) guarded by
 * Caddy's file matcher on <liveDir>/<app>/<state> (caddy-config.ts, appRoute). Caddy stats the
 * marker on every request, so moving traffic is one rename(2): atomic, no admin API call, no
 * reload, no keep-alive connection closed. A deploy renames a1 → b1 once the new release answers,
 * then waits for the old slot's in-flight requests before stopping it.
 *
 * At most one marker exists per app. Files are empty (0644). A system Caddy runs as its own user
 * and must be able to stat them: dirs are 0711, searchable but not listable, so other local users
 * cannot read the app names there.
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

export interface LiveMarkers {
  /** Points new requests of `app` at `live` (atomically when a marker exists already). */
  set(app: string, live: LiveSlot): Promise<void>;
  /** No marker: Caddy falls back to every slot port of the app. */
  clear(app: string): Promise<void>;
  /** Removes the markers of apps not in `keep` (deleted while hiy was down). */
  prune(keep: Set<string>): Promise<void>;
}

export function createLiveMarkers(liveDir: string): LiveMarkers {
  const appDir = (app: string) => join(liveDir, app);
  const markersOf = async (app: string): Promise<string[]> => {
    try {
      return (await readdir(appDir(app))).filter((n) => MARKER_RE.test(n));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  };
  const ensureDir = async (dir: string) => {
    await mkdir(dir, { recursive: true });
    // mkdir's mode is reduced by the umask (hiy.service sets 0077); the proxy's user must traverse.
    await chmod(dir, 0o711);
  };

  return {
    async set(app, live) {
      const name = liveMarkerName(live);
      const existing = await markersOf(app);
      if (existing.length === 1 && existing[0] === name) return;
      await ensureDir(liveDir);
      await ensureDir(appDir(app));
      const from = existing.find((n) => n !== name);
      if (from) {
        await rename(join(appDir(app), from), join(appDir(app), name));
      } else if (!existing.includes(name)) {
        await writeFile(join(appDir(app), name), '', { mode: 0o644 });
        await chmod(join(appDir(app), name), 0o644);
      }
      for (const n of existing) if (n !== name && n !== from) await rm(join(appDir(app), n), { force: true });
    },
    async clear(app) {
      await rm(appDir(app), { recursive: true, force: true });
    },
    async prune(keep) {
      let apps: string[];
      try {
        apps = await readdir(liveDir);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw err;
      }
      for (const app of apps) if (!keep.has(app)) await rm(appDir(app), { recursive: true, force: true });
    },
  };
}
