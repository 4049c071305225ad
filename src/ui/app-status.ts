import { LABEL_APP, LABEL_PROCESS, type ContainerInfo, type Runtime } from '../runtime/runtime.js';
import type { DeployStatus } from '../deploy/table.js';

export type AppStatus = 'running' | 'building' | 'stopped' | 'crashed' | 'failed' | 'new' | 'unknown';

export interface StatusInput {
  hasRelease: boolean;
  lastDeploy: { status: DeployStatus } | undefined;
  /** The app's containers; undefined when Docker could not be asked. */
  containers: ContainerInfo[] | undefined;
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
 * is gone; failed when the app has no release and its last deploy failed.
 */
export function appStatus(i: StatusInput): StatusView {
  if (i.lastDeploy && (i.lastDeploy.status === 'queued' || i.lastDeploy.status === 'building')) {
    return { status: 'building', label: i.lastDeploy.status === 'queued' ? 'queued' : 'building' };
  }
  if (!i.hasRelease) {
    if (i.lastDeploy?.status === 'failed') return { status: 'failed', label: 'failed', note: 'the first deploy failed' };
    return { status: 'new', label: 'not deployed' };
  }
  if (i.containers === undefined) return { status: 'unknown', label: 'unknown', note: 'Docker did not answer' };
  const web = i.containers.filter((c) => (c.labels[LABEL_PROCESS] ?? 'web') === 'web');
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
 * Every app's containers from one engine call, kept for a moment: the apps page and its live
 * badges ask often, and listing means an inspect per container. A value younger than `freshMs` is
 * used as is; an older one (up to `staleMs`) is used while a refresh runs in the background.
 */
export class ContainerCache {
  private value: { at: number; byApp: Map<string, ContainerInfo[]> } | undefined;
  private pending: Promise<Map<string, ContainerInfo[]> | undefined> | undefined;

  constructor(private readonly runtime: () => Promise<Runtime>, private readonly freshMs = 2000, private readonly staleMs = 15_000, private readonly timeoutMs = 3000) {}

  async byApp(now = Date.now()): Promise<Map<string, ContainerInfo[]> | undefined> {
    const v = this.value;
    if (v && now - v.at < this.freshMs) return v.byApp;
    const refresh = this.refresh();
    if (v && now - v.at < this.staleMs) return v.byApp;
    return refresh;
  }

  /** Forget the cached list (after an action that changes containers). */
  invalidate(): void {
    this.value = undefined;
  }

  private refresh(): Promise<Map<string, ContainerInfo[]> | undefined> {
    this.pending ??= this.load().finally(() => { this.pending = undefined; });
    return this.pending;
  }

  private async load(): Promise<Map<string, ContainerInfo[]> | undefined> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<undefined>((resolve) => { timer = setTimeout(() => resolve(undefined), this.timeoutMs); });
      const list = await Promise.race([this.runtime().then((rt) => rt.list()), timeout]);
      if (!list) return undefined;
      const byApp = new Map<string, ContainerInfo[]>();
      for (const c of list) {
        const app = c.labels[LABEL_APP];
        if (!app) continue;
        const arr = byApp.get(app) ?? [];
        arr.push(c);
        byApp.set(app, arr);
      }
      this.value = { at: Date.now(), byApp };
      return byApp;
    } catch {
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }
}
