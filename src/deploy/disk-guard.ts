/**
 * Bounds what an app's containers write to their own file systems (their writable layers). The
 * engine's per-container size option needs overlay2 on xfs with project quotas (or btrfs/zfs),
 * which a Pi's ext4 SD card does not have; so hiy measures instead: every
 * HIY_DISK_CHECK_INTERVAL seconds it asks the engine for each container's writable-layer size,
 * and an app whose containers together hold more than HIY_APP_DISK_MB gets fresh containers
 * through the usual zero-downtime restart (the old ones, and what they wrote, are removed once
 * drained). Data meant to last belongs in the app's volume, which this does not touch.
 * One-off containers (hiy run, consoles, cron runs) count towards their app's use too; a restart
 * does not touch them, so an app over its budget first has the one-offs that wrote ended, and
 * is restarted only when its long-running containers alone are over.
 */
import type { Kysely } from 'kysely';
import { listApps } from '../apps/repo.js';
import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import type { Logger } from '../log.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Deployer } from './deployer.js';
import { getDeploy } from './repo.js';

const MB = 1024 * 1024;
const FINAL = new Set(['success', 'failed', 'superseded']);

export interface DiskGuardDeps {
  db: Kysely<Database>;
  config: Config;
  log: Logger;
  runtime(): Promise<Runtime>;
  deployer: Deployer;
  /** Ends a one-off run now, recorded with `reason` (src/runs/one-off.ts); false when it is not running. */
  endRun?(run: number, reason: string): boolean;
}

export class DiskGuard {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Apps restarted by the guard whose restart has not finished yet: deploy id. */
  private readonly pending = new Map<string, number>();

  constructor(private readonly d: DiskGuardDeps) {}

  start(): void {
    this.stopped = false;
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.check().catch((err: unknown) => this.d.log.warn({ err }, 'checking the apps\' disk use failed')).finally(() => this.schedule());
    }, this.d.config.diskCheckIntervalSec * 1000);
    this.timer.unref();
  }

  /** One round: measure, then restart every app over its budget (not one already being restarted). */
  async check(): Promise<string[]> {
    const apps = await listApps(this.d.db);
    if (apps.length === 0) return [];
    const used = new Map<string, number>();
    const oneOffs = new Map<string, { run: number; bytes: number }[]>();
    for (const c of await (await this.d.runtime()).writableSizes()) {
      if (c.run !== null) oneOffs.set(c.app, [...(oneOffs.get(c.app) ?? []), { run: c.run, bytes: c.bytes }]);
      else used.set(c.app, (used.get(c.app) ?? 0) + c.bytes);
    }
    const budget = this.d.config.appDiskMb * MB;
    const restarted: string[] = [];
    for (const app of apps) {
      const pending = this.pending.get(app.name);
      if (pending !== undefined) {
        const status = await getDeploy(this.d.db, app.name, pending).then((dep) => dep.status, () => 'failed');
        if (!FINAL.has(status)) continue;
        this.pending.delete(app.name);
      }
      const bytes = used.get(app.name) ?? 0;
      const runs = (oneOffs.get(app.name) ?? []).filter((r) => r.bytes > 0);
      const total = runs.reduce((sum, r) => sum + r.bytes, bytes);
      if (total <= budget) continue;
      for (const r of runs) {
        const reason = `stopped: the app's containers wrote ${Math.round(total / MB)} MB to their file systems, more than HIY_APP_DISK_MB (${this.d.config.appDiskMb} MB)`;
        if (this.d.endRun?.(r.run, reason)) this.d.log.warn({ event: 'disk_budget', app: app.name, run: r.run, mb: Math.round(r.bytes / MB) }, 'ended a one-off run of an app over its disk budget');
      }
      if (bytes <= budget) continue;
      this.d.log.warn({ event: 'disk_budget', app: app.name, mb: Math.round(bytes / MB), budgetMb: this.d.config.appDiskMb },
        'an app\'s containers wrote more than HIY_APP_DISK_MB to their file systems: restarting it with fresh containers');
      try {
        this.pending.set(app.name, await this.d.deployer.restart(app.name, 'manual'));
        restarted.push(app.name);
      } catch (err) {
        this.d.log.error({ err, app: app.name }, 'could not restart an app over its disk budget');
      }
    }
    return restarted;
  }
}
