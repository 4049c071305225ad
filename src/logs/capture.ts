import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../log.js';
import type { ContainerEvent, ContainerInfo, EngineStream, LogLine, Runtime } from '../runtime/runtime.js';
import type { LogStore } from './store.js';

/** A container of one of this hiy's apps, as capture last saw it. */
export interface WatchedContainer {
  id: string;
  app: string;
  process: string;
  deployId: number | null;
  running: boolean;
  restartCount: number;
}

export interface LogCaptureDeps {
  runtime: Runtime;
  store: LogStore;
  log: Logger;
  /** Apps of this hiy: on a shared engine, containers of other apps are not ours to read. */
  knownApps(): Promise<Set<string>>;
  /** This data dir's instance id: containers of other instances are not ours either. */
  instanceId: string;
  /** Hides secrets in an app's output (its add-ons' URLs and passwords); asked when a container is followed. */
  redactorFor?(app: string): Promise<(text: string) => string>;
}

interface Follow {
  /** A start was seen while the previous run's stream was still open: follow again after it. */
  again: boolean;
  stream: EngineStream | undefined;
  done: Promise<void>;
}

const RETRY_MS = 2000;
/** Lines and cursors name containers by the short id `docker ps` shows. */
const shortId = (id: string): string => id.slice(0, 12);

/**
 * One follow stream per running app container. Docker's events say when a container (re)starts,
 * dies or is removed; each follow resumes from the store's cursor, so neither a restart of the
 * container nor one of hiy duplicates or loses a line.
 */
export class LogCapture {
  private readonly watched = new Map<string, WatchedContainer>();
  private readonly follows = new Map<string, Follow>();
  private events: EngineStream | undefined;
  private stopped = false;
  private eventsLoop: Promise<void> = Promise.resolve();

  constructor(private readonly d: LogCaptureDeps) {}

  /** Watches events first, then lists: a container starting in between is seen by one or the other. */
  async start(): Promise<void> {
    this.events = await this.d.runtime.containerEvents((e) => this.onEvent(e));
    this.eventsLoop = this.keepWatching(this.events);
    await this.resync();
  }

  /** Running containers of this hiy's apps. */
  containers(): WatchedContainer[] {
    return [...this.watched.values()].filter((c) => c.running);
  }

  /** Every container of this hiy's apps that exists, running or not (crash loops sit in between). */
  known(): WatchedContainer[] {
    return [...this.watched.values()];
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.events?.stop();
    const follows = [...this.follows.values()];
    for (const f of follows) f.stream?.stop();
    await Promise.all([this.eventsLoop, ...follows.map((f) => f.done)]);
  }

  /** Follows every running container of a known app that is not followed yet. */
  async resync(): Promise<void> {
    const [apps, all] = await Promise.all([this.d.knownApps(), this.d.runtime.list()]);
    const seen = new Set<string>();
    for (const c of all) {
      if (!this.ours(c, apps)) continue;
      seen.add(c.id);
      this.remember(c);
      if (c.running) this.follow(c.id);
    }
    for (const id of this.watched.keys()) if (!seen.has(id)) this.watched.delete(id);
    await this.d.store.pruneCursors(new Set(all.map((c) => shortId(c.id))));
  }

  /**
   * A container of this hiy's apps whose output is the app's: not one someone is attached to (hiy
   * run, the console), whose output went to their terminal and may hold what they typed.
   */
  private ours(c: ContainerInfo, apps: Set<string>): boolean {
    return c.instance === this.d.instanceId && apps.has(c.app) && !c.attached;
  }

  private remember(c: ContainerInfo): WatchedContainer {
    const w: WatchedContainer = {
      id: c.id,
      app: c.app,
      process: c.process,
      deployId: c.deployId,
      running: c.running,
      restartCount: c.restartCount,
    };
    this.watched.set(c.id, w);
    return w;
  }

  private onEvent(e: ContainerEvent): void {
    if (this.stopped) return;
    if (e.action === 'start') {
      void this.onStart(e.id).catch((err: unknown) => this.d.log.warn({ err, container: e.id.slice(0, 12) }, 'could not follow a started container'));
    } else if (e.action === 'die') {
      const w = this.watched.get(e.id);
      if (w) w.running = false;
    } else if (e.action === 'destroy') {
      if (!this.watched.delete(e.id)) return;
      const f = this.follows.get(e.id);
      f?.stream?.stop();
      void (f?.done ?? Promise.resolve()).then(() => this.d.store.forget(shortId(e.id)))
        .catch((err: unknown) => this.d.log.warn({ err }, 'could not forget the cursor of a removed container'));
    }
  }

  private async onStart(id: string): Promise<void> {
    const info = await this.d.runtime.inspect(id);
    if (!info || !this.ours(info, await this.d.knownApps())) return;
    this.remember(info);
    if (info.running) this.follow(id);
  }

  private follow(id: string): void {
    const current = this.follows.get(id);
    if (current) {
      current.again = true;
      return;
    }
    const f: Follow = { again: true, stream: undefined, done: Promise.resolve() };
    this.follows.set(id, f);
    f.done = this.runFollow(id, f).catch((err: unknown) => this.d.log.warn({ err, container: id.slice(0, 12) }, 'following a container\'s output failed'))
      .finally(() => this.follows.delete(id));
  }

  private async runFollow(id: string, f: Follow): Promise<void> {
    while (f.again && !this.stopped) {
      f.again = false;
      const w = this.watched.get(id);
      if (!w) return;
      await this.followOnce(w, f);
      if (f.again || this.stopped) continue;
      // The stream also ends when the engine drops it: follow again if the container still runs.
      const info = await this.d.runtime.inspect(id).catch(() => undefined);
      if (info?.running && !this.stopped) {
        this.remember(info);
        f.again = true;
        await sleep(RETRY_MS);
      }
    }
  }

  private async followOnce(w: WatchedContainer, f: Follow): Promise<void> {
    const cursor = await this.d.store.cursor(shortId(w.id));
    const redact = await (this.d.redactorFor?.(w.app).catch((err: unknown) => {
      this.d.log.warn({ err, app: w.app }, 'could not read the secrets to hide in app output');
      return undefined;
    }) ?? undefined) ?? ((t: string) => t);
    let skipSame = cursor?.sameTs ?? 0;
    const onLine = (l: LogLine) => {
      // The engine's `since` is inclusive, and a hiy restart re-reads from the last stored second.
      if (cursor && l.ts < cursor.lastTs) return;
      if (cursor && l.ts === cursor.lastTs && skipSame > 0) {
        skipSame--;
        return;
      }
      this.d.store.add({ app: w.app, container: shortId(w.id), process: w.process, deployId: w.deployId, stream: l.stream, ts: l.ts, text: redact(l.text) });
    };
    const opts = cursor ? { since: cursor.lastTs } : { tail: this.d.store.maxLines };
    try {
      f.stream = await this.d.runtime.followLogs(w.id, opts, onLine);
    } catch (err) {
      this.d.log.warn({ err, container: w.id.slice(0, 12) }, 'could not follow a container\'s output');
      return;
    }
    if (this.stopped) f.stream.stop();
    await f.stream.done;
    f.stream = undefined;
  }

  /** The event stream ends when dockerd restarts: watch again and catch up with a resync. */
  private async keepWatching(first: EngineStream): Promise<void> {
    let current = first;
    for (;;) {
      await current.done;
      if (this.stopped) return;
      this.d.log.warn('lost the Docker event stream; reconnecting');
      for (;;) {
        await sleep(RETRY_MS);
        if (this.stopped) return;
        try {
          current = await this.d.runtime.containerEvents((e) => this.onEvent(e));
          this.events = current;
          await this.resync();
          break;
        } catch (err) {
          this.d.log.debug({ err }, 'Docker event stream still unavailable');
        }
      }
    }
  }
}
