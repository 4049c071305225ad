import { HiyError } from '../errors.js';
import { CACHE_ROOT } from './builder.js';
import type { Docker } from './docker-client.js';

/**
 * An app's dependency caches on the engine: BuildKit records of type exec.cachemount. Engine 20.10
 * names a record only by its mount target and command ("cached mount /var/cache/hiy/<app>/npm from
 * exec …"), not by its id, so hiy finds an app's caches by the target its generated builds use
 * (cache-mounts.ts). Caches a pushed Dockerfile mounts elsewhere carry no app name: they go with the
 * engine-wide age limit (Runtime.pruneBuildLeftovers) and the engine's own build-cache GC.
 */
interface CacheRecord { ID?: string; Type?: string; Description?: string; Size?: number; InUse?: boolean }

export async function appCacheRecords(docker: Docker, app: string): Promise<{ id: string; size: number; inUse: boolean }[]> {
  const df = (await docker.df()) as { BuildCache?: CacheRecord[] | null };
  const prefix = `cached mount ${CACHE_ROOT}/${app}/`;
  return (df.BuildCache ?? [])
    .filter((r) => r.Type === 'exec.cachemount' && typeof r.ID === 'string' && (r.Description ?? '').startsWith(prefix))
    .map((r) => ({ id: r.ID!, size: r.Size ?? 0, inUse: r.InUse === true }));
}

/**
 * `POST /build/prune` with filters (`id`, `until`, …). dockerode's pruneBuilder sends none, which
 * prunes every unused record of the engine.
 */
export function pruneBuildCache(docker: Docker, filters: Record<string, string[]>): Promise<{ SpaceReclaimed?: number }> {
  return new Promise((resolve, reject) => {
    docker.modem.dial({ path: '/build/prune?', method: 'POST', options: { filters }, statusCodes: { 200: true, 404: 'not found', 409: 'conflict', 500: 'server error' } },
      (err: unknown, data: unknown) => (err ? reject(err) : resolve((data ?? {}) as { SpaceReclaimed?: number })));
  });
}

/**
 * Removes the app's caches (all of them, or only when together they are larger than `overBytes`:
 * a cache past its bound starts again from nothing, the next build downloads everything once).
 * Returns the bytes freed.
 */
export async function pruneAppCaches(docker: Docker, app: string, overBytes?: number): Promise<number> {
  try {
    const records = await appCacheRecords(docker, app);
    const total = records.reduce((n, r) => n + r.size, 0);
    if (overBytes !== undefined && total <= overBytes) return 0;
    let freed = 0;
    for (const r of records) {
      if (r.inUse) continue;
      // The engine matches `id` as a pattern over record ids; theirs are [a-z0-9] only.
      const res = await pruneBuildCache(docker, { id: [r.id] });
      freed += res.SpaceReclaimed ?? 0;
    }
    return freed;
  } catch (err) {
    throw new HiyError('unavailable', `removing the dependency caches of ${app}: ${(err as Error).message}`, { cause: err });
  }
}
