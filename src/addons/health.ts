/**
 * Is each add-on up? Its container runs and its server accepts connections (the kind's own
 * readiness check, run inside the container). The alert monitor turns "down for longer than the
 * health threshold" into an incident, as it does for apps; the metrics sampler reads the running
 * containers' memory from what this found.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../db/database.js';
import type { Runtime } from '../runtime/runtime.js';
import { kindOf } from './kinds.js';
import { listAddons } from './repo.js';

export interface AddonHealth {
  name: string;
  /** The running container (its cgroup holds the add-on's memory), when there is one. */
  containerId: string | undefined;
  ok: boolean;
  /** Why it is down, for the incident's message. */
  detail: string;
}

export async function probeAddons(db: Kysely<Database>, runtime: () => Promise<Runtime>): Promise<AddonHealth[]> {
  const rows = await listAddons(db);
  // No add-ons: nothing to ask, and the engine client stays unloaded.
  if (rows.length === 0) return [];
  const rt = await runtime();
  return Promise.all(rows.map(async (row): Promise<AddonHealth> => {
    const down = (detail: string, containerId?: string): AddonHealth => ({ name: row.name, containerId, ok: false, detail });
    try {
      const c = await rt.addonContainer(row.name);
      if (!c) return down('it has no container');
      if (c.state === 'restarting') return down('the engine keeps restarting it');
      if (!c.running) return down(`its container is ${c.state}`);
      const k = kindOf(row.kind);
      const probe = await rt.execAddon(row.name, { cmd: k.readyCmd, timeoutSec: 10 }).catch(() => undefined);
      return probe && k.isReady(probe) ? { name: row.name, containerId: c.id, ok: true, detail: '' } : down(`its ${k.label} server does not accept connections`, c.id);
    } catch (err) {
      return down(`the engine could not be asked (${(err as Error).message})`);
    }
  }));
}
