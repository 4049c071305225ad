/**
 * Host files: which hostnames a route slot serves, told to Caddy without touching its config.
 *
 * Caddy's config holds a fixed number of route slots (caddy-config.ts slotRoute), each matched by
 * Caddy's file matcher on <liveDir>/<index>/hosts/{http.request.host}. Creating or destroying an
 * app, adding or removing a custom domain, writes or removes one empty file here: no admin API
 * call, so no reload, and no keep-alive connection of any app is closed (decision 31).
 */
import { readdir, rm, writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureTraversable } from './live.js';

/** What can be a file name and a hostname at once: no "/", not "." or "..", lowercase (Caddy compares the name as sent). */
const HOST_FILE_RE = /^[a-z0-9-]+(\.[a-z0-9-]+)*$/;

export function hostFileName(host: string): string {
  const name = host.toLowerCase().replace(/\.$/, '');
  if (!HOST_FILE_RE.test(name)) throw new Error(`not a hostname hiy routes: ${JSON.stringify(host)}`);
  return name;
}

export interface HostFiles {
  /** The route slot serves exactly `hosts` from now on. */
  set(key: string, hosts: string[]): Promise<void>;
}

export function createHostFiles(liveDir: string): HostFiles {
  const dirOf = (key: string) => join(liveDir, key, 'hosts');
  return {
    async set(key, hosts) {
      const wanted = new Set(hosts.map(hostFileName));
      const dir = dirOf(key);
      await ensureTraversable(liveDir);
      await ensureTraversable(join(liveDir, key));
      await ensureTraversable(dir);
      const existing = new Set(await readdir(dir));
      for (const name of wanted) {
        if (existing.has(name)) continue;
        await writeFile(join(dir, name), '', { mode: 0o644 });
        await chmod(join(dir, name), 0o644);
      }
      for (const name of existing) if (!wanted.has(name)) await rm(join(dir, name), { force: true });
    },
  };
}
