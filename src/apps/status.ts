import type { AppState, DeployStatus } from '../contract.js';
import type { ContainerInfo } from '../runtime/runtime.js';

export type AppStatus = 'running' | 'building' | 'stopped' | 'crashed' | 'failed' | 'new' | 'unknown';

export interface StatusInput {
  hasRelease: boolean;
  lastDeploy: { status: DeployStatus } | undefined;
  /** The app's containers; undefined when Docker could not be asked. */
  containers: ContainerInfo[] | undefined;
  /** Process types stopped by hiy ps:stop (deploy/stops.ts). */
  stopped?: ReadonlySet<string>;
}

export interface StatusView {
  status: AppStatus;
  /** What the badge says (status words, except "not deployed" for `new`). */
  label: string;
  note?: string;
}

/**
 * What an app is doing, from its last deploy and its web containers:
 * building while a deploy is queued or running; running when a web container runs; crashed when
 * the release's container is restarting or died with an error; stopped when it exited cleanly or
 * is gone (or web was stopped by ps:stop); failed when the app has no release and its last
 * deploy failed.
 */
const FIRST_DEPLOY_FAILED = 'the first deploy failed';

export function appStatus(i: StatusInput): StatusView {
  if (i.lastDeploy && (i.lastDeploy.status === 'queued' || i.lastDeploy.status === 'building')) {
    return { status: 'building', label: i.lastDeploy.status === 'queued' ? 'queued' : 'building' };
  }
  if (!i.hasRelease) {
    if (i.lastDeploy?.status === 'failed') return { status: 'failed', label: 'failed', note: FIRST_DEPLOY_FAILED };
    return { status: 'new', label: 'not deployed' };
  }
  if (i.stopped?.has('web')) return { status: 'stopped', label: 'stopped', note: 'stopped by ps:stop' };
  if (i.containers === undefined) return { status: 'unknown', label: 'unknown', note: 'Docker did not answer' };
  // A one-off run labelled web (hiy run --type web) says nothing about whether the app serves.
  const web = i.containers.filter((c) => c.process === 'web' && c.run === null);
  const failedNote = i.lastDeploy?.status === 'failed' ? 'last deploy failed; the previous release is serving' : undefined;
  const running = web.filter((c) => c.state === 'running');
  if (running.length > 0) {
    const restarts = Math.max(...running.map((c) => c.restartCount));
    const note = restarts > 0 ? `restarted ${restarts} time${restarts === 1 ? '' : 's'}` : failedNote;
    return { status: 'running', label: 'running', ...(note ? { note } : {}) };
  }
  const crashed = web.find((c) => c.state === 'restarting' || c.state === 'dead' || (c.exitCode !== null && c.exitCode !== 0));
  if (crashed) return { status: 'crashed', label: 'crashed', note: crashed.state === 'restarting' ? 'restarting after a crash' : `exited with code ${crashed.exitCode ?? '?'}` };
  if (i.lastDeploy?.status === 'failed') return { status: 'failed', label: 'failed', note: 'last deploy failed and nothing is running' };
  return { status: 'stopped', label: 'stopped' };
}


/**
 * The API's word for a status (contract.ts AppState), like Heroku's dyno states: a deploy in the
 * queue or building is `deploying`; an app without a release is `no_release` (its first deploy
 * may have failed: the note says so); a release that should run but nothing does after a failed
 * deploy is `crashed`.
 */
export function apiState(v: StatusView): AppState {
  switch (v.status) {
    case 'building': return 'deploying';
    case 'new': return 'no_release';
    case 'failed': return v.note === FIRST_DEPLOY_FAILED ? 'no_release' : 'crashed';
    default: return v.status;
  }
}
