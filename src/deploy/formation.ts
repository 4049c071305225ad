/** How many containers of each process type of a release run (`hiy ps:scale` changes it). */
import type { Kysely } from 'kysely';
import { workerTypes, type Processes } from '../build/procfile.js';
import type { Database } from '../db/database.js';
import { MAX_WEB_REPLICAS } from '../slots.js';

export const MAX_WORKER_REPLICAS = 10;

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
