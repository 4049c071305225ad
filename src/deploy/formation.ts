/** How many containers of each process type of a release run (`hiy ps:scale` changes it). */
import type { Kysely } from 'kysely';
import type { App } from '../apps/repo.js';
import { workerTypes, type Processes } from '../build/procfile.js';
import type { Database } from '../db/database.js';
import { HiyError } from '../errors.js';
import { nowIso } from '../db/database.js';
import { MAX_WEB_REPLICAS } from '../slots.js';

export const MAX_WORKER_REPLICAS = 10;

/** Processes and threads all long-running containers of one app may have together. */
export const APP_PIDS_BUDGET = 512;
/** Below this a container is of no use: a formation that would split the budget thinner is refused. */
export const MIN_SHARE = { memoryMb: 32, pids: 32 } as const;
/** The smallest CPU quota the engine takes. */
const MIN_CPUS = 0.01;

/** What one container of an app gets: the app's budget (its settings) divided by its containers. */
export interface Share {
  memoryMb: number;
  cpus: number;
  pidsLimit: number;
  /** Long-running containers the budget is split across. */
  containers: number;
}

/**
 * The app's memory_mb, cpus and APP_PIDS_BUDGET are the budget of ALL its long-running containers
 * (web replicas and workers of its formation), split evenly: 13 Procfile types must not turn a
 * 256 MB app into 3.3 GB of limits. A formation whose share would fall below MIN_SHARE is refused
 * (`enforce`) with what to do instead; a release that already runs is brought back regardless.
 * (The one-off release command gets one share; during a deploy the old release keeps its limits
 * until it has drained: docs/build-strategies.md.)
 */
export function shareOf(app: Pick<App, 'name' | 'memory_mb' | 'cpus'>, formation: Record<string, number>, opts: { enforce?: boolean } = {}): Share {
  const containers = Math.max(1, Object.values(formation).reduce((a, b) => a + b, 0));
  const memoryMb = Math.floor(app.memory_mb / containers);
  const pidsLimit = Math.floor(APP_PIDS_BUDGET / containers);
  if ((opts.enforce ?? true) && (memoryMb < MIN_SHARE.memoryMb || pidsLimit < MIN_SHARE.pids)) {
    const most = Math.max(1, Math.min(Math.floor(app.memory_mb / MIN_SHARE.memoryMb), Math.floor(APP_PIDS_BUDGET / MIN_SHARE.pids)));
    throw new HiyError('invalid_input', `${app.name} would run ${containers} containers (${describeFormation(formation)}), but its budget of ${app.memory_mb} MB and ${APP_PIDS_BUDGET} processes `
      + `gives each at most ${memoryMb} MB and ${pidsLimit} processes (a container needs ${MIN_SHARE.memoryMb} MB and ${MIN_SHARE.pids}): it can run ${most}. `
      + `Scale process types down (hiy ps:scale ${app.name} worker=0) or raise memory_mb (hiy update ${app.name} --memory N)`);
  }
  return {
    memoryMb: Math.max(MIN_SHARE.memoryMb, memoryMb),
    cpus: Math.max(MIN_CPUS, Math.floor((app.cpus / containers) * 100) / 100),
    pidsLimit: Math.max(MIN_SHARE.pids, pidsLimit),
    containers,
  };
}

function describeFormation(formation: Record<string, number>): string {
  return Object.entries(formation).filter(([, n]) => n > 0).map(([t, n]) => `${t}=${n}`).join(' ');
}

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

/** Process types stopped by ps:stop. */
export async function stoppedTypes(db: Kysely<Database>, app: string): Promise<Set<string>> {
  const rows = await db.selectFrom('formation').select('process').where('app', '=', app).where('stopped', '=', 1).execute();
  return new Set(rows.map((r) => r.process));
}

/** What runs: the formation with stopped types at 0 (start-up reconciliation keeps them stopped). */
export async function runningFormation(db: Kysely<Database>, app: string, processes: Processes): Promise<Record<string, number>> {
  const [formation, stopped] = await Promise.all([formationOf(db, app, processes), stoppedTypes(db, app)]);
  for (const t of stopped) if (t in formation) formation[t] = 0;
  return formation;
}

/** A deploy runs every type: the stops end (returned: what was stopped, for the deploy log). */
export async function clearStops(db: Kysely<Database>, app: string): Promise<string[]> {
  const stopped = [...await stoppedTypes(db, app)];
  if (stopped.length) await db.updateTable('formation').set({ stopped: 0, updated_at: nowIso() }).where('app', '=', app).execute();
  return stopped;
}
