/**
 * Settings a running release reads only when its containers start (env vars, the volume mount)
 * take effect with a restart through the zero-downtime switch. One rule for the API and the
 * dashboard: the change is saved either way; an app without a release gets it at its first
 * deploy; when deploys are not available (Docker down) the caller says so instead of failing.
 */
import { getApp } from '../apps/repo.js';
import { isHiyError } from '../errors.js';
import { stoppedTypes } from './formation.js';
import type { Services } from '../services.js';
import type { DeployTrigger } from '../contract.js';

export type RestartOutcome =
  | { restarted: true; deployId: number }
  | { restarted: false; why: 'not_asked' | 'no_release' | 'stopped' }
  | { restarted: false; why: 'unavailable'; reason: string };

/** `restart: false` skips it (`hiy env:set --no-restart`); any other error than an unavailable engine is thrown. */
export async function restartToApply(s: Pick<Services, 'db' | 'log' | 'deployer'>, app: string, what: string, restart?: boolean, trigger: DeployTrigger = 'manual'): Promise<RestartOutcome> {
  if (restart === false) return { restarted: false, why: 'not_asked' };
  if ((await getApp(s.db, app)).current_release_id === null) return { restarted: false, why: 'no_release' };
  // A restart is a deploy, and a deploy starts a stopped app: the change waits for ps:start instead.
  if ((await stoppedTypes(s.db, app)).size > 0) return { restarted: false, why: 'stopped' };
  try {
    return { restarted: true, deployId: await s.deployer.restart(app, trigger) };
  } catch (err) {
    if (!isHiyError(err) || err.code !== 'unavailable') throw err;
    s.log.warn({ app, reason: err.message }, `${what} changed but the app could not be restarted`);
    return { restarted: false, why: 'unavailable', reason: err.message };
  }
}

/** The API's part of the answer: `restarted`, and the restart's deploy id when there is one. */
export function restartAnswer(o: RestartOutcome): { restarted: boolean; deploy_id?: number } {
  return o.restarted ? { restarted: true, deploy_id: o.deployId } : { restarted: false };
}
