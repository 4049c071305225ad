/**
 * The scheduler of app.json's cron jobs (docs/run-and-cron.md). It keeps one croner timer per job
 * of each app's CURRENT release: after every deploy, rollback or destroy it is told to look again
 * (sync), so a new release's command runs the next time and a job removed from app.json stops.
 * Each due time starts a detached one-off container (one-off.ts). A job still running at its next
 * time is skipped (or, with concurrency_policy "replace", stopped and started anew), and the skip
 * is recorded. Times that passed while hiy was down are not caught up: they are recorded as one
 * "missed" record per job at the next start, and the job runs at its next time, as cron and Dokku
 * do (a burst of catch-up runs while a Pi boots would be worse than one missed run).
 */
import type { Cron } from 'croner';
import { listApps } from '../apps/repo.js';
import { parseCronColumn, type CronJob } from '../build/cron-jobs.js';
import type { CronJobView, RunView } from '../contract.js';
import { currentRelease } from '../deploy/releases.js';
import { HiyError, notFound } from '../errors.js';
import { jobCommand } from './command.js';
import type { Actor, OneOffRuns, RunsDeps } from './one-off.js';
import { cronCheckedAt, dropCronStateExcept, insertRun, lastCronRuns, setCronCheckedAt } from './repo.js';

type CronOf = (schedule: string, timezone: string | undefined, fn?: () => void) => Cron;

interface Scheduled {
  job: CronJob;
  /** Absent in maintenance. */
  timer: Cron | undefined;
}

/** Missed times counted at most this far: a job every second, down for a week, is "more than 10000". */
const MAX_MISSED_COUNTED = 10_000;

export class CronScheduler {
  private readonly apps = new Map<string, Map<string, Scheduled>>();
  private cronOf: CronOf | undefined;
  private stopped = false;
  /**
   * Nothing is scheduled before start(): a timer that fired first would move a job's checked_at
   * past the times missed while hiy was down, and they would go unrecorded.
   */
  private started = false;
  /** One sync per app at a time: a deploy's sync and the periodic one must not interleave. */
  private readonly syncing = new Map<string, Promise<void>>();

  constructor(private readonly d: RunsDeps, private readonly runs: OneOffRuns) {}

  /** At start: every app's jobs, with what was missed while hiy was down recorded first. */
  async start(): Promise<void> {
    this.started = true;
    for (const app of await listApps(this.d.db)) {
      await this.recordMissed(app.name).catch((err: unknown) => this.d.log.warn({ err, app: app.name }, 'could not record missed cron runs'));
      await this.sync(app.name);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const jobs of this.apps.values()) for (const s of jobs.values()) s.timer?.stop();
    this.apps.clear();
  }

  /** Looks at the app's current release again (after a deploy, rollback or destroy). Never throws. */
  sync(app: string): Promise<void> {
    const next = (this.syncing.get(app) ?? Promise.resolve()).then(() => this.syncNow(app))
      .catch((err: unknown) => this.d.log.error({ err, app }, 'could not schedule the app\'s cron jobs'));
    this.syncing.set(app, next);
    void next.finally(() => { if (this.syncing.get(app) === next) this.syncing.delete(app); });
    return next;
  }

  /** Every known app and every app that has gone (destroyed ones stop). */
  async syncAll(): Promise<void> {
    const names = new Set([...(await listApps(this.d.db)).map((a) => a.name), ...this.apps.keys()]);
    for (const app of names) await this.sync(app);
  }

  private async jobsOf(app: string): Promise<CronJob[]> {
    const release = await currentRelease(this.d.db, app).catch(() => undefined);
    return parseCronColumn(release?.cron);
  }

  private async loadCron(): Promise<CronOf> {
    // croner is loaded with the first job, not by an idle hiy (decision 13).
    this.cronOf ??= (await import('../build/app-json.js')).cronOf;
    return this.cronOf;
  }

  private async syncNow(app: string): Promise<void> {
    if (this.stopped || !this.started) return;
    const jobs = await this.jobsOf(app);
    const had = this.apps.get(app) ?? new Map<string, Scheduled>();
    const now = new Map<string, Scheduled>();
    const same = (a: CronJob, b: CronJob) => a.concurrency === b.concurrency && a.maintenance === b.maintenance;
    for (const [id, s] of had) {
      const keep = jobs.find((j) => j.id === id);
      if (keep && same(keep, s.job)) now.set(id, s);
      else s.timer?.stop();
    }
    const checked = jobs.length ? await cronCheckedAt(this.d.db, app) : new Map<string, string>();
    for (const job of jobs) {
      if (now.has(job.id)) continue;
      const cronOf = await this.loadCron();
      const timer = job.maintenance ? undefined : cronOf(job.schedule, this.d.config.runs.timezone, () => void this.fire(app, job.id, timer));
      now.set(job.id, { job, timer });
      if (!checked.has(job.id)) await setCronCheckedAt(this.d.db, app, job.id, new Date().toISOString());
      this.d.log.info({ app, job: job.id, schedule: job.schedule, maintenance: job.maintenance }, 'cron job scheduled');
    }
    if (this.stopped) {
      for (const s of now.values()) s.timer?.stop();
      return;
    }
    if (now.size) this.apps.set(app, now); else this.apps.delete(app);
    await dropCronStateExcept(this.d.db, app, jobs.map((j) => j.id)).catch(() => undefined);
  }

  /** One due time of a job: run it, or record why not. */
  private async fire(app: string, jobId: string, timer: Cron | undefined): Promise<void> {
    const due = (timer?.currentRun() ?? new Date()).toISOString();
    try {
      // The current release is the truth: a deploy may have changed the jobs a moment ago.
      const job = (await this.jobsOf(app)).find((j) => j.id === jobId);
      if (!job || job.maintenance) {
        await this.sync(app);
        return;
      }
      await setCronCheckedAt(this.d.db, app, job.id, due);
      const running = this.runs.runningJob(app, job.id);
      if (running && job.concurrency === 'forbid') {
        await this.record(app, job, due, 'skipped', `the previous run (#${running.id}) was still running`);
        return;
      }
      if (running) {
        running.kill(`replaced by the run due at ${due} (concurrency_policy "replace")`);
        await running.ended;
      }
      await this.launch(app, job, { by: 'cron', tokenId: null }, due);
    } catch (err) {
      this.d.log.warn({ err, app, job: jobId }, 'a cron run could not start');
    }
  }

  private async launch(app: string, job: CronJob, actor: Actor, due: string | undefined): Promise<number> {
    try {
      const { id } = await this.runs.detached({
        app, kind: 'cron', process: 'cron', job: job.id, actor, shown: job.command, ...(due ? { scheduledAt: due } : {}),
        command: (plan) => jobCommand(job.command, plan.release.processes),
      });
      return id;
    } catch (err) {
      // No record yet (the cap, no Docker, no release): one says why this time did not run.
      const capped = err instanceof HiyError && err.status === 429;
      await this.record(app, job, due, capped ? 'skipped' : 'failed', (err as Error).message);
      throw err;
    }
  }

  private async record(app: string, job: CronJob, due: string | undefined, status: 'skipped' | 'failed' | 'missed', reason: string): Promise<void> {
    const now = new Date().toISOString();
    const release = await currentRelease(this.d.db, app).catch(() => undefined);
    await insertRun(this.d.db, {
      app, kind: 'cron', process: 'cron', job: job.id, command: job.command, by: 'cron', token_id: null, mode: 'detached',
      release: release?.version ?? null, container: null, scheduled_at: due ?? null, status, reason, started_at: now, finished_at: now,
    });
  }

  /** Times that passed since the scheduler last accounted for each job: one "missed" record per job. */
  private async recordMissed(app: string): Promise<void> {
    const jobs = (await this.jobsOf(app)).filter((j) => !j.maintenance);
    if (!jobs.length) return;
    const checked = await cronCheckedAt(this.d.db, app);
    const cronOf = await this.loadCron();
    const now = new Date();
    for (const job of jobs) {
      const since = checked.get(job.id);
      if (!since) continue;
      const pattern = cronOf(job.schedule, this.d.config.runs.timezone);
      const missed: Date[] = [];
      for (let t = pattern.nextRun(new Date(since)); t && t <= now && missed.length <= MAX_MISSED_COUNTED; t = pattern.nextRun(t)) missed.push(t);
      pattern.stop();
      await setCronCheckedAt(this.d.db, app, job.id, now.toISOString());
      if (!missed.length) continue;
      const n = missed.length > MAX_MISSED_COUNTED ? `more than ${MAX_MISSED_COUNTED}` : String(missed.length);
      const first = missed[0]!.toISOString();
      await this.record(app, job, first, 'missed',
        `${n} run${missed.length === 1 ? '' : 's'} due from ${first} to ${missed.at(-1)!.toISOString()} passed while hiy was down; not caught up (the job runs at its next time; hiy cron:run runs it now)`);
      this.d.log.warn({ app, job: job.id, missed: missed.length }, 'cron runs were missed while hiy was down');
    }
  }

  /** `hiy cron:run`: the job now, unless it is running. */
  async runNow(app: string, jobId: string, actor: Actor): Promise<number> {
    const job = (await this.jobsOf(app)).find((j) => j.id === jobId);
    if (!job) throw notFound(`cron job "${jobId}" of app "${app}" (hiy cron ${app} lists them)`);
    const running = this.runs.runningJob(app, job.id);
    if (running) throw new HiyError('conflict', `cron job ${job.id} of ${app} is running (run #${running.id}); it never runs twice at once`);
    return this.launch(app, job, { ...actor, by: `${actor.by} (cron:run)` }, undefined);
  }

  /** The current release's jobs with their next time, a run in progress and the last result. */
  async list(app: string): Promise<CronJobView[]> {
    const jobs = await this.jobsOf(app);
    if (!jobs.length) return [];
    const last = await lastCronRuns(this.d.db, app);
    const scheduled = this.apps.get(app);
    return jobs.map((job) => {
      const next = scheduled?.get(job.id)?.timer?.nextRun() ?? null;
      return {
        id: job.id, command: job.command, schedule: job.schedule, concurrency: job.concurrency, maintenance: job.maintenance,
        next_run: next ? next.toISOString() : null,
        running: this.runs.runningJob(app, job.id)?.id ?? null,
        last: (last.get(job.id) ?? null) satisfies RunView | null,
      };
    });
  }
}
