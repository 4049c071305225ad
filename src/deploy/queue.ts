import { EventEmitter } from 'node:events';
import type { Kysely } from 'kysely';
import type { Database } from '../db/database.js';
import { isHiyError } from '../errors.js';
import type { Logger } from '../log.js';
import { DeployOutput } from './output.js';
import type { DeployJob } from './pipeline.js';
import { markBuilding, markFinished } from './records.js';

export type DeployResult = { ok: true; version: number } | { ok: false; status: 'failed' | 'superseded'; error: string };

export interface QueuedDeploy {
  deployId: number;
  app: string;
  output: DeployOutput;
  /**
   * The pusher's answer: ok as soon as the new release serves (the pipeline calls job.live), or the
   * failure. The old release's drain and stop, new workers and pruning go on after it (done).
   */
  answer: Promise<DeployResult>;
  /** The whole deploy is over, recorded in the deploys table; the next deploy starts after it. */
  done: Promise<DeployResult>;
}

type Runner = (job: DeployJob) => Promise<{ version: number }>;

interface Entry {
  job: DeployJob;
  resolve(r: DeployResult): void;
  answer(r: DeployResult): void;
  cleanup?: () => void;
}

/**
 * One worker, one deploy at a time, in order. A newer deploy of an app supersedes one of the same
 * app that is still waiting (newest wins). Status lives in the deploys table; the waiting list
 * is in memory, and reconcile.ts fails what a crash left queued.
 */
export class DeployQueue extends EventEmitter {
  private readonly waiting: Entry[] = [];
  private running: Entry | undefined;
  private stopped = false;
  private idle: Promise<void> = Promise.resolve();
  private held = false;
  private holds = 0;
  private exclusive: Promise<void> = Promise.resolve();

  constructor(private readonly db: Kysely<Database>, private readonly log: Logger, private readonly runner: Runner) {
    super();
  }

  /** Queues a job; its output object is the job's. `cleanup` runs when the job ends, whatever happens. */
  enqueue(job: Omit<DeployJob, 'output'> & { output?: DeployOutput }, cleanup?: () => void): QueuedDeploy {
    const output = job.output ?? new DeployOutput(this.db, job.deployId);
    let resolve!: (r: DeployResult) => void;
    const done = new Promise<DeployResult>((r) => { resolve = r; });
    let answer!: (r: DeployResult) => void;
    const answered = new Promise<DeployResult>((r) => { answer = r; });
    const full: DeployJob = { ...job, output, live: (version) => answer({ ok: true, version }) };
    for (const older of this.waiting.filter((e) => e.job.app === job.app)) {
      this.waiting.splice(this.waiting.indexOf(older), 1);
      void this.supersede(older, job.deployId);
    }
    const entry: Entry = { job: full, resolve, answer, ...(cleanup ? { cleanup } : {}) };
    this.waiting.push(entry);
    this.announcePositions();
    this.kick();
    return { deployId: job.deployId, app: job.app, output, answer: answered, done };
  }

  /** No deploy starts until `until` settles (start-up reconciliation must not race a deploy). */
  holdUntil(until: Promise<unknown>): void {
    this.held = true;
    void until.finally(() => {
      this.held = false;
      this.kick();
    });
  }

  /**
   * Runs `fn` while no deploy runs (scaling changes the containers a deploy would be replacing):
   * waits for the running deploy, keeps the next ones waiting until `fn` settles. One at a time.
   */
  async runExclusive<T>(fn: () => Promise<T>): Promise<T> {
    const before = this.exclusive;
    let release!: () => void;
    this.exclusive = new Promise<void>((r) => { release = r; });
    this.holds++;
    try {
      await before;
      while (this.running) await this.idle;
      return await fn();
    } finally {
      this.holds--;
      release();
      this.kick();
    }
  }

  /** The deploy running now (any app: one worker), which scaling and ps:stop/start wait for. */
  runningDeploy(): { id: number; app: string } | undefined {
    return this.running ? { id: this.running.job.deployId, app: this.running.job.app } : undefined;
  }

  /** The output of a deploy that is waiting or running; undefined once it has finished (read deploys.log then). */
  outputOf(deployId: number): DeployOutput | undefined {
    if (this.running?.job.deployId === deployId) return this.running.job.output;
    return this.waiting.find((e) => e.job.deployId === deployId)?.job.output;
  }

  /** Drops waiting deploys of an app (it is being destroyed) and waits for its running one. */
  async forgetApp(app: string): Promise<void> {
    for (const e of this.waiting.filter((e) => e.job.app === app)) {
      this.waiting.splice(this.waiting.indexOf(e), 1);
      e.job.output.step('Cancelled: the app is being destroyed');
      await this.finish(e, { ok: false, status: 'failed', error: 'cancelled: app destroyed' });
    }
    while (this.running?.job.app === app) await new Promise((r) => setTimeout(r, 100));
  }

  /** Stops taking new work and waits for the running deploy to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.idle;
  }

  private announcePositions(): void {
    this.waiting.forEach((e, i) => {
      const ahead = i + (this.running ? 1 : 0);
      if (ahead > 0) e.job.output.step(`Queued: ${ahead} deploy${ahead === 1 ? '' : 's'} ahead of this one`);
    });
  }

  private async supersede(entry: Entry, byDeployId: number): Promise<void> {
    entry.job.output.step(`Superseded by a newer deploy (#${byDeployId}); not deployed`);
    await this.finish(entry, { ok: false, status: 'superseded', error: `superseded by deploy #${byDeployId}` });
  }

  private kick(): void {
    if (this.running || this.stopped || this.held || this.holds > 0) return;
    const next = this.waiting.shift();
    if (!next) return;
    this.running = next;
    this.idle = this.runOne(next).finally(() => {
      this.running = undefined;
      this.announcePositions();
      this.kick();
    });
  }

  private async runOne(entry: Entry): Promise<void> {
    const { job } = entry;
    const log = this.log.child({ app: job.app, deploy: job.deployId, sha: job.sha });
    let result: DeployResult;
    try {
      await markBuilding(this.db, job.deployId);
      log.info('deploy started');
      const { version } = await this.runner(job);
      result = { ok: true, version };
      log.info({ version }, 'deploy succeeded');
    } catch (err) {
      const message = isHiyError(err) ? err.message : 'internal error (see the server log)';
      if (!isHiyError(err)) log.error({ err }, 'deploy crashed');
      else log.warn({ code: err.code, msg: err.message }, 'deploy failed');
      job.output.line('');
      job.output.line(` !     Deploy failed: ${message}`);
      job.output.line(' !     The running release (if any) keeps serving.');
      result = { ok: false, status: 'failed', error: message };
    }
    await this.finish(entry, result);
  }

  private async finish(entry: Entry, result: DeployResult): Promise<void> {
    const { job } = entry;
    try {
      await job.output.flush();
      await markFinished(this.db, job.deployId, result.ok ? 'success' : result.status, result.ok ? null : job.output.redactText(result.error), job.output.text());
    } catch (err) {
      this.log.error({ err, deploy: job.deployId }, 'could not record the end of a deploy');
    } finally {
      try { entry.cleanup?.(); } catch { /* best effort */ }
      // A deploy that never went live answers now (a promise keeps its first value: a release that
      // went live and then failed a later step has answered ok already; the log tells the rest).
      entry.answer(result);
      entry.resolve(result);
      this.emit('finished', job.deployId, result);
    }
  }
}
