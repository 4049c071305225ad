import type { ContainerEvent, ContainerInfo, EngineStream, Runtime } from '../src/runtime/runtime.js';
import type { DeployStatus } from '../src/contract.js';

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
 * Every container of hiy's apps, kept current by Docker's event stream: a page asks for statuses
 * at no engine cost (listing means an inspect per container: 60-750 ms for 15 apps on a busy box).
 * Started on first use: subscribe to events, then list, then inspect again whatever an event
 * touched meanwhile; every later event re-inspects its container. A lost stream (Docker
 * restarted) is started again by the next request.
 */
export class ContainerWatch {
  private byId = new Map<string, ContainerInfo>();
  private stream: EngineStream | undefined;
  private starting: Promise<boolean> | undefined;
  private touched: Set<string> | undefined;
  private readonly inspecting = new Map<string, Promise<void>>();
  private stopped = false;

  constructor(private readonly runtime: () => Promise<Runtime>, private readonly timeoutMs = 3000) {}

  /** Containers by app; undefined when Docker did not answer in time. */
  async byApp(): Promise<Map<string, ContainerInfo[]> | undefined> {
    if (!this.stream && !(await this.ready())) return undefined;
    const out = new Map<string, ContainerInfo[]>();
    for (const c of this.byId.values()) {
      const app = c.app;
      if (!app) continue;
      const arr = out.get(app) ?? [];
      arr.push(c);
      out.set(app, arr);
    }
    return out;
  }

  /** Waits for the inspections events started (tests, and a page right after an action). */
  async settled(): Promise<void> {
    while (this.inspecting.size > 0) await Promise.all([...this.inspecting.values()]);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stream?.stop();
    await this.starting;
    await this.settled();
  }

  private async ready(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), this.timeoutMs); });
    try {
      return await Promise.race([this.start(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private start(): Promise<boolean> {
    this.starting ??= (async () => {
      try {
        const rt = await this.runtime();
        this.touched = new Set();
        const stream = await rt.containerEvents((e) => this.onEvent(rt, e));
        let list: ContainerInfo[];
        try {
          list = await rt.list();
        } catch (err) {
          stream.stop();
          throw err;
        }
        this.byId = new Map(list.map((c) => [c.id, c]));
        // What changed while the list was being made is looked at again, so nothing older wins.
        const again = this.touched;
        this.touched = undefined;
        for (const id of again) this.refresh(rt, id);
        this.stream = stream;
        void stream.done.then(() => { if (this.stream === stream) this.stream = undefined; });
        if (this.stopped) stream.stop();
        return true;
      } catch {
        return false;
      } finally {
        this.starting = undefined;
      }
    })();
    return this.starting;
  }

  private onEvent(rt: Runtime, e: ContainerEvent): void {
    this.touched?.add(e.id);
    if (e.action === 'destroy') this.byId.delete(e.id);
    else this.refresh(rt, e.id);
  }

  /** One inspection per container at a time; an event during it asks for one more after it. */
  private refresh(rt: Runtime, id: string): void {
    const prev = this.inspecting.get(id) ?? Promise.resolve();
    const next = prev.then(async () => {
      const info = await rt.inspect(id).catch(() => undefined);
      if (info) this.byId.set(id, info);
      else this.byId.delete(id);
    });
    this.inspecting.set(id, next);
    void next.finally(() => { if (this.inspecting.get(id) === next) this.inspecting.delete(id); });
  }
}
