/**
 * Changing where an app runs (hiy update --node-label / --node-label-clear / --spread; decision
 * 46). On a Swarm, labels no ready node carries are refused before anything is stored (a Heroku
 * or Dokku user expects an error, not a process stuck pending), and a change restarts the app
 * through the zero-downtime switch: its new processes start where the placement allows, the old
 * ones drain. On one engine the setting is stored and shown, and says it changes nothing.
 */
import type { DeployTrigger, PlacementView } from '../contract.js';
import { restartToApply, type RestartOutcome } from '../deploy/restart-to-apply.js';
import { HiyError, isHiyError } from '../errors.js';
import type { PlacementCheck } from '../runtime/runtime.js';
import { labelPairs } from '../runtime/swarm-placement.js';
import type { Services } from '../services.js';
import { describeLabels, nodeLabelsOf } from './placement.js';
import { getApp, type App, type AppUpdate } from './repo.js';
import { updateAppSettings } from './service.js';

export const ONE_ENGINE_NOTE = 'one engine (no Swarm of 2+ nodes): kept, but it changes nothing until the app runs on a Swarm';

type Deps = Pick<Services, 'db' | 'log' | 'deployer' | 'appsChanged' | 'runtime'>;

/** The engine's answer, or why there is none (the engine down must not make the app unreadable). */
async function check(s: Pick<Services, 'runtime'>, labels: Record<string, string>): Promise<{ check: PlacementCheck | null } | { unavailable: string }> {
  try {
    return { check: await (await s.runtime()).placementNodes(labels) };
  } catch (err) {
    if (isHiyError(err) && err.code !== 'unavailable' && err.status < 500) throw err;
    return { unavailable: (err as Error).message };
  }
}

function view(labels: Record<string, string>, r: Awaited<ReturnType<typeof check>>): PlacementView {
  if ('unavailable' in r) return { applies: false, matching_nodes: [], note: `the engine did not answer, so where it runs is unknown: ${r.unavailable}` };
  if (r.check === null) return { applies: false, matching_nodes: [], note: ONE_ENGINE_NOTE };
  const none = Object.keys(labels).length > 0 && r.check.matching.length === 0;
  return { applies: true, matching_nodes: r.check.matching, note: none ? `no ready node carries ${describeLabels(labels)}: its next deploy will fail (label a node with hiy nodes:label)` : null };
}

const isDefault = (app: Pick<App, 'node_labels' | 'spread'>): boolean => app.node_labels === null && app.spread !== 0;

/** The app's placement as the engine sees it now; null when the app has none (any node, spread). */
export async function placementView(s: Pick<Services, 'runtime'>, app: App): Promise<PlacementView | null> {
  if (isDefault(app)) return null;
  const labels = nodeLabelsOf(app);
  return view(labels, await check(s, labels));
}

export interface UpdateAnswer {
  app: App;
  placement: PlacementView | null;
  restart: RestartOutcome;
}

/** Saves the settings; a changed placement is checked against the nodes first and restarts the app on a Swarm. */
export async function applyAppUpdate(s: Deps, name: string, changes: AppUpdate, trigger: DeployTrigger): Promise<UpdateAnswer> {
  if (changes.node_labels === undefined && changes.spread === undefined) {
    const app = await updateAppSettings(s, name, changes);
    return { app, placement: await placementView(s, app), restart: { restarted: false, why: 'not_asked' } };
  }
  const before = await getApp(s.db, name);
  const next = { node_labels: changes.node_labels === undefined ? before.node_labels : changes.node_labels, spread: changes.spread ?? before.spread };
  const labels = nodeLabelsOf(next);
  const seen = await check(s, labels);
  if ('check' in seen && seen.check && Object.keys(labels).length > 0 && seen.check.matching.length === 0) {
    const nodes = seen.check.nodes.map((n) => `${n.name} (${n.ready ? '' : 'not ready, '}${labelPairs(n.labels) || 'no labels'})`).join('; ');
    throw new HiyError('conflict', `no ready node carries ${describeLabels(labels)}, so ${name} could run nowhere; nodes: ${nodes}. `
      + `Label one first (hiy nodes:label <node> ${labelPairs(labels, ' ')}); nothing was changed`);
  }
  const app = await updateAppSettings(s, name, changes);
  const moved = next.node_labels !== before.node_labels || next.spread !== before.spread;
  // Only a Swarm places anything: on one engine a restart would change nothing.
  const restart: RestartOutcome = moved && 'check' in seen && seen.check !== null
    ? await restartToApply(s, name, 'the placement', undefined, trigger)
    : { restarted: false, why: 'not_asked' };
  return { app, placement: isDefault(app) ? null : view(labels, seen), restart };
}
