import type { ContainerEvent, ContainerInfo, EngineStream, Runtime } from '../runtime/runtime.js';

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

  /**
   * byApp(), asked only when one of `apps` has a release: an app without one has a status without
   * containers (status.ts), and a box with no release yet never loads the Docker client for a
   * listing (decision 13).
   */
  async byAppOf(apps: readonly { current_release_id: number | null }[]): Promise<Map<string, ContainerInfo[]> | undefined> {
    return apps.some((a) => a.current_release_id !== null) ? this.byApp() : new Map();
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
