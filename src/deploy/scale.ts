/**
 * `hiy ps:scale`: more or fewer containers of a process type of the current release, without a
 * deploy. Web replicas come up on their own fixed ports, which Caddy's route already lists, and
 * get traffic once they all answer (the live marker counts them); removed ones stop getting new
 * requests, then drain like an old release. No config reload.
 */
import type { Kysely } from 'kysely';
import { getApp } from '../apps/repo.js';
import { PROCESS_TYPE_RE, workerTypes } from '../build/procfile.js';
import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import { nowIso } from '../db/database.js';
import type { SecretBox } from '../env/secret-box.js';
import { HiyError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Proxy } from '../proxy/proxy.js';
import type { ContainerInfo, Runtime } from '../runtime/runtime.js';
import { MAX_WEB_REPLICAS } from '../slots.js';
import { drainAndStop, switchTraffic } from './drain.js';
import { formationOf, MAX_WORKER_REPLICAS, parseProcesses, shareOf } from './formation.js';
import { currentPlan, type ReleasePlan } from './plan.js';
import { startWebReplica, startWorkers, waitReplicaHealthy } from './processes.js';
import { currentRelease, type Release } from './releases.js';
import { stoppedTypes } from './formation.js';

export interface ScaleDeps {
  db: Kysely<Database>;
  config: Config;
  log: Logger;
  secrets: SecretBox;
  runtime: Runtime;
  proxy: Proxy;
}

/** Checks a scale request against the rules (and the current release's process types, when there is one). */
export function validateScale(changes: Record<string, unknown>, known: string[] | undefined): Record<string, number> {
  const entries = Object.entries(changes);
  if (entries.length === 0) throw new HiyError('invalid_input', 'nothing to scale: give at least one <type>=<count>, e.g. web=2');
  const out: Record<string, number> = {};
  for (const [type, n] of entries) {
    if (!PROCESS_TYPE_RE.test(type)) throw new HiyError('invalid_input', `invalid process type ${JSON.stringify(type.slice(0, 30))}`);
    if (type === 'release') throw new HiyError('invalid_input', 'the release command runs once per deploy and cannot be scaled');
    const max = type === 'web' ? MAX_WEB_REPLICAS : MAX_WORKER_REPLICAS;
    const min = type === 'web' ? 1 : 0;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) throw new HiyError('invalid_input', `${type} must be a whole number from ${min} to ${max}`);
    if (known && type !== 'web' && !known.includes(type)) {
      throw new HiyError('invalid_input', `the current release has no process type "${type}" (its Procfile has: ${known.join(', ') || 'none besides web'})`);
    }
    out[type] = n;
  }
  return out;
}

/** Containers of one process type of a release, by replica index (unlabelled ones are replica 0). */
export function byReplica(containers: ContainerInfo[], release: Release, type: string): Map<number, ContainerInfo> {
  const out = new Map<number, ContainerInfo>();
  for (const c of containers) {
    if (c.deployId !== release.deploy_id || c.process !== type) continue;
    out.set(c.replica, c);
  }
  return out;
}

/**
 * Everything a scale request can be refused for, checked before anything changes (and before the
 * API answers 202 for a scale that waits behind a deploy): the counts, the process types, the
 * budget split, a stopped type (ps:start it first).
 */
export async function checkScale(db: Kysely<Database>, appName: string, changes: Record<string, unknown>) {
  const app = await getApp(db, appName);
  const release = await currentRelease(db, app.name);
  const processes = parseProcesses(release?.processes);
  const wanted = validateScale(changes, release ? workerTypes(processes) : undefined);
  const stopped = await stoppedTypes(db, app.name);
  const blocked = Object.keys(wanted).filter((t) => stopped.has(t));
  if (blocked.length) throw new HiyError('conflict', `${blocked.join(', ')} of ${app.name} ${blocked.length === 1 ? 'is' : 'are'} stopped: hiy ps:start ${app.name} ${blocked[0]} first`);
  // The app's budget is split across the new formation; one that spreads it too thin is refused
  // before anything changes.
  const before = await formationOf(db, app.name, processes);
  const next = { ...before, ...wanted };
  shareOf(app, next);
  return { app, release, processes, wanted, next };
}

export async function scaleProcesses(d: ScaleDeps, appName: string, changes: Record<string, unknown>): Promise<Record<string, number>> {
  const { app, release, processes, wanted, next } = await checkScale(d.db, appName, changes);
  if (release) await applyScale(d, await currentPlan(d, app, release), release, wanted, next);
  const now = nowIso();
  for (const [process, quantity] of Object.entries(wanted)) {
    await d.db.insertInto('formation').values({ app: app.name, process, quantity, updated_at: now })
      .onConflict((oc) => oc.columns(['app', 'process']).doUpdateSet({ quantity, updated_at: now })).execute();
  }
  d.log.info({ app: app.name, formation: wanted }, 'scaled');
  return formationOf(d.db, app.name, processes);
}

/**
 * Gives every running container of the release its share of the budget under `plan`'s formation:
 * before anything starts when the share shrinks (the total never goes over the budget), after
 * the extra containers are gone when it grows. `docker update` changes limits in place.
 */
async function resize(d: ScaleDeps, plan: ReleasePlan, release: Release): Promise<void> {
  const share = shareOf(plan.app, plan.formation, { enforce: false });
  for (const c of await d.runtime.list({ app: plan.app.name })) {
    if (c.running && c.deployId === release.deploy_id) await d.runtime.updateLimits(c.id, share);
  }
}

async function applyScale(d: ScaleDeps, current: ReleasePlan, release: Release, wanted: Record<string, number>, next: Record<string, number>): Promise<void> {
  const [old, now] = [shareOf(current.app, current.formation, { enforce: false }), shareOf(current.app, next, { enforce: false })];
  const shrink = now.memoryMb < old.memoryMb || now.pidsLimit < old.pidsLimit || now.cpus < old.cpus;
  // New containers are made with the new formation's share.
  const plan: ReleasePlan = { ...current, formation: next };
  if (shrink) await resize(d, plan, release);
  await applyFormation(d, plan, release, wanted);
  if (!shrink) await resize(d, plan, release);
}

/** Brings each type in `wanted` to its count of containers of the release (scaling, ps:start). */
export async function applyFormation(d: ScaleDeps, plan: ReleasePlan, release: Release, wanted: Record<string, number>): Promise<void> {
  const { app } = plan;
  const all = await d.runtime.list({ app: app.name });
  for (const [type, count] of Object.entries(wanted)) {
    const have = byReplica(all, release, type);
    const extra = [...have].filter(([i]) => i >= count).map(([, c]) => c);
    // Fewer web replicas: Caddy stops picking the extra ones first, then they drain like an old release.
    if (type === 'web' && extra.length) await switchTraffic(d, app, { slot: release.slot, replicas: count }, extra);
    else await drainAndStop(d, app, extra);
    for (let i = 0; i < count; i++) {
      const c = have.get(i);
      if (c?.running) continue;
      if (c) await d.runtime.remove(c.id);
      if (type !== 'web') {
        await startWorkers(d, plan, type, i, 1);
        continue;
      }
      const started = await startWebReplica(d, plan, i);
      try {
        await waitReplicaHealthy(d, plan, started, i);
      } catch (err) {
        await d.runtime.remove(started.id);
        throw err;
      }
    }
    // More web replicas: each one answered before Caddy may pick it.
    if (type === 'web') await d.proxy.setLive(app.name, { slot: release.slot, replicas: count });
  }
}
