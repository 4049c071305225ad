import type { Kysely } from 'kysely';
import { slotPorts } from '../slots.js';
import type { AlertConfig } from '../config.js';
import type { Database } from '../db/database.js';
import type { Logger } from '../log.js';
import type { HostSample } from '../metrics/sampler.js';
import { openIncident, openIncidents, pruneAlerts, recordDelivery, resolveIncident, type Alert } from './incidents.js';
import type { AlertEvent, Notifier } from './notifier.js';
import { CrashLoopRule, DownRule, ThresholdRule, type Transition } from './rules.js';
import type { AlertKind } from './table.js';

export interface AlertMonitorDeps {
  db: Kysely<Database>;
  log: Logger;
  config: AlertConfig;
  slotPortBase: number;
  notifier: Notifier | undefined;
  /** One HTTP GET of 127.0.0.1:port/path; the status, or undefined when nothing answered. */
  probe(port: number, path: string): Promise<number | undefined>;
  /** Every known container of the apps (running or not), with restart counts; empty before capture runs. */
  containers(): { id: string; app: string; restartCount: number }[];
  /**
   * Whether each node of the Swarm is ready; undefined: not known this round (no Swarm, or the
   * engine not loaded yet), which leaves node incidents as they are.
   */
  nodes?(): Promise<{ name: string; ok: boolean; detail: string }[] | undefined>;
  /** Whether each add-on is up (src/addons/health.ts); absent or empty: none. */
  addons?(): Promise<{ name: string; ok: boolean; detail: string }[]>;
  crashWindowMs?: number;
  now?: () => number;
}

const KEEP_RESOLVED = 500;

/**
 * Turns host samples, health probes and restart counts into incidents: one row and one
 * notification when an incident opens, one when it resolves. Open incidents survive a restart of
 * hiy (they are rows), so a restart neither repeats an alert nor forgets to resolve it.
 */
export class AlertMonitor {
  private disk: ThresholdRule | undefined;
  private memory: ThresholdRule | undefined;
  private readonly health = new Map<string, DownRule>();
  private readonly crash = new Map<string, CrashLoopRule>();
  private readonly addonDown = new Map<string, DownRule>();
  private readonly nodeDown = new Map<string, DownRule>();
  private open = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private checking = false;
  private deliveries: Promise<void> = Promise.resolve();
  private work: Promise<void> = Promise.resolve();
  private loaded: Promise<void> | undefined;
  private readonly now: () => number;

  constructor(private readonly d: AlertMonitorDeps) {
    this.now = d.now ?? Date.now;
  }

  /** Picks up incidents left open by the previous run, then probes apps every checkIntervalSec. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.checkApps(), this.d.config.checkIntervalSec * 1000);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.work;
    // Retries can take a minute: shutdown waits a little; an undelivered one keeps notified_at null.
    await Promise.race([this.deliveries, new Promise((r) => setTimeout(r, 3000).unref())]);
  }

  /** Fed by the metrics sampler. */
  onHostSample(s: HostSample): void {
    this.serially(async () => {
      // Created after the open incidents are loaded: one left open by the last run can resolve.
      this.disk ??= new ThresholdRule(this.d.config.diskPct, 2, this.open.has('disk'));
      this.memory ??= new ThresholdRule(this.d.config.memoryPct, 2, this.open.has('memory'));
      await this.apply('disk', 'disk', null, this.disk.update(s.diskPct),
        `disk ${s.diskPct.toFixed(0)} % full (${gb(s.diskUsed)} of ${gb(s.diskTotal)} GB; limit ${this.d.config.diskPct} %)`,
        `disk back to ${s.diskPct.toFixed(0)} % full`);
      await this.apply('memory', 'memory', null, this.memory.update(s.memoryPct),
        `memory ${s.memoryPct.toFixed(0)} % used (${gb(s.memoryUsed)} of ${gb(s.memoryTotal)} GB; limit ${this.d.config.memoryPct} %)`,
        `memory back to ${s.memoryPct.toFixed(0)} % used`);
    });
  }

  /**
   * An incident another part of hiy watches itself (certificates): opened once, kept open while
   * raised again. Keys of these carry no ':' (those name an app, and end when the app is gone).
   */
  raise(key: string, kind: AlertKind, message: string): Promise<void> {
    return this.serially(async () => {
      if (!this.open.has(key)) await this.apply(key, kind, null, 'open', message, '');
    });
  }

  /** Ends an incident opened by raise(); nothing happens when it is not open. */
  settle(key: string, resolvedMessage: string): Promise<void> {
    return this.serially(async () => {
      if (this.open.has(key)) await this.apply(key, 'certificate', null, 'resolve', '', resolvedMessage);
    });
  }

  /** Keys of the open incidents (after the last run's are loaded). */
  async openKeys(): Promise<string[]> {
    await this.serially(async () => undefined);
    return [...this.open];
  }

  /** One round: every app with a release is probed on its serving slot; restart counts are compared. */
  checkApps(): Promise<void> {
    if (this.checking) return this.work;
    this.checking = true;
    return this.serially(async () => {
      try {
        await this.checkRound();
      } finally {
        this.checking = false;
      }
    });
  }

  private async checkRound(): Promise<void> {
    const apps = await this.d.db.selectFrom('apps').innerJoin('releases', 'releases.id', 'apps.current_release_id')
      .select(['apps.name', 'apps.slot_index', 'apps.health_path', 'releases.slot']).execute();
    const now = this.now();
    const results = await Promise.all(apps.map(async (a) => {
      const [portA, portB] = slotPorts(a, this.d.slotPortBase);
      const status = await this.d.probe(a.slot === 'a' ? portA : portB, a.health_path);
      return { a, ok: status !== undefined && status < 500, status };
    }));
    const afterMs = this.d.config.healthAfterSec * 1000;
    for (const { a, ok, status } of results) {
      const key = `health:${a.name}`;
      const rule = this.health.get(a.name) ?? new DownRule(afterMs, this.open.has(key));
      this.health.set(a.name, rule);
      const t = rule.update(ok, now);
      await this.apply(key, 'health', a.name, t,
        `${a.name} has not answered its health check (GET ${a.health_path}${status ? `: HTTP ${status}` : ': no answer'}) for ${Math.round(rule.downFor(now) / 1000)} s`,
        `${a.name} answers its health check again`);
    }
    const byApp = new Map<string, { id: string; restartCount: number }[]>();
    for (const c of this.d.containers()) byApp.set(c.app, [...(byApp.get(c.app) ?? []), c]);
    const windowMs = this.d.crashWindowMs ?? 5 * 60_000;
    for (const a of apps) {
      const key = `crashloop:${a.name}`;
      const rule = this.crash.get(a.name) ?? new CrashLoopRule(this.d.config.crashRestarts, windowMs, this.open.has(key));
      this.crash.set(a.name, rule);
      await this.apply(key, 'crashloop', a.name, rule.update(byApp.get(a.name) ?? [], now),
        `${a.name} is crash-looping: ${rule.recent()} restarts in ${Math.round(windowMs / 60_000)} min`,
        `${a.name} has not restarted for ${Math.round(windowMs / 60_000)} min`);
    }
    // Incidents of apps that are gone (destroyed, or no release any more) end here.
    const live = new Set(apps.map((a) => a.name));
    for (const key of this.open) {
      const app = /^(health|crashloop):/.test(key) ? key.slice(key.indexOf(':') + 1) : undefined;
      if (app && !live.has(app)) await this.apply(key, 'health', app, 'resolve', '', `${app} was destroyed or has no release`);
    }
    await this.checkAddons(now, afterMs);
    await this.checkNodes(now, afterMs);
    for (const name of this.health.keys()) if (!live.has(name)) this.health.delete(name);
    for (const name of this.crash.keys()) if (!live.has(name)) this.crash.delete(name);
  }

  /** An add-on down (no container, stopped, not accepting connections) for longer than the health threshold is an incident, as an app is. */
  private async checkAddons(now: number, afterMs: number): Promise<void> {
    const addons = this.d.addons ? await this.d.addons() : [];
    for (const a of addons) {
      const key = `addon:${a.name}`;
      const rule = this.addonDown.get(a.name) ?? new DownRule(afterMs, this.open.has(key));
      this.addonDown.set(a.name, rule);
      await this.apply(key, 'addon', null, rule.update(a.ok, now),
        `add-on ${a.name} is down: ${a.detail} (for ${Math.round(rule.downFor(now) / 1000)} s)`,
        `add-on ${a.name} accepts connections again`);
    }
    const live = new Set(addons.map((a) => a.name));
    for (const key of this.open) {
      const name = key.startsWith('addon:') ? key.slice(6) : undefined;
      if (name && !live.has(name)) await this.apply(key, 'addon', null, 'resolve', '', `add-on ${name} was destroyed`);
    }
    for (const name of this.addonDown.keys()) if (!live.has(name)) this.addonDown.delete(name);
  }

  /** A node not ready for longer than the health threshold is an incident; a removed node's ends. */
  private async checkNodes(now: number, afterMs: number): Promise<void> {
    const nodes = this.d.nodes ? await this.d.nodes() : undefined;
    if (!nodes) return;
    for (const n of nodes) {
      const key = `node:${n.name}`;
      const rule = this.nodeDown.get(n.name) ?? new DownRule(afterMs, this.open.has(key));
      this.nodeDown.set(n.name, rule);
      await this.apply(key, 'node', null, rule.update(n.ok, now),
        `node ${n.name} is ${n.detail} (for ${Math.round(rule.downFor(now) / 1000)} s): Swarm moves its apps to the other nodes`,
        `node ${n.name} is ready again`);
    }
    const live = new Set(nodes.map((n) => n.name));
    for (const key of this.open) {
      const name = key.startsWith('node:') ? key.slice(5) : undefined;
      if (name && !live.has(name)) await this.apply(key, 'node', null, 'resolve', '', `node ${name} was removed`);
    }
    for (const name of this.nodeDown.keys()) if (!live.has(name)) this.nodeDown.delete(name);
  }

  /** Runs monitor work one piece at a time, after the open incidents of the last run are known. */
  private serially(fn: () => Promise<void>): Promise<void> {
    this.loaded ??= openIncidents(this.d.db).then((rows) => { this.open = new Set(rows.map((r) => r.key)); });
    this.work = this.work.then(() => this.loaded).then(fn).catch((err: unknown) => this.d.log.warn({ err }, 'alert check failed'));
    return this.work;
  }

  private async apply(key: string, kind: AlertKind, app: string | null, t: Transition, message: string, resolvedMessage: string): Promise<void> {
    if (t === 'open') {
      this.open.add(key);
      const row = await openIncident(this.d.db, { key, kind, app, message });
      if (row) {
        this.d.log.warn({ alert: key }, message);
        this.notify('alert', row);
        await pruneAlerts(this.d.db, KEEP_RESOLVED);
      }
    } else if (t === 'resolve') {
      this.open.delete(key);
      const row = await resolveIncident(this.d.db, key, resolvedMessage);
      if (row) {
        this.d.log.info({ alert: key }, resolvedMessage);
        this.notify('resolved', row);
      }
    }
  }

  /** In order (an alert before its "resolved"), in the background, outcome recorded on the row. */
  private notify(event: AlertEvent, a: Alert): void {
    const notifier = this.d.notifier;
    if (!notifier) return;
    this.deliveries = this.deliveries.then(async () => {
      try {
        await notifier.send(event, a);
        await recordDelivery(this.d.db, a.id, event, null);
      } catch (err) {
        this.d.log.warn({ alert: a.key, event, err: (err as Error).message }, 'alert notification failed');
        await recordDelivery(this.d.db, a.id, event, (err as Error).message).catch(() => undefined);
      }
    });
  }
}

const gb = (bytes: number): string => (bytes / 1e9).toFixed(1);
