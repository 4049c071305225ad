import type { Readable } from 'node:stream';
import { getApp, type App } from '../apps/repo.js';
import { HiyError } from '../errors.js';
import type { Services } from '../services.js';
import type { Deployer } from './deployer.js';
import type { Prepare } from './pipeline.js';
import { DeployQueue, type QueuedDeploy } from './queue.js';
import { parseCronColumn } from '../build/cron-jobs.js';
import { parseProcesses } from './formation.js';
import { insertDeploy, setDeploySha } from './records.js';
import { checkRepoUrl } from '../git/repo-url.js';
import { validateBranch } from '../apps/input.js';
import { checkScale, scaleProcesses } from './scale.js';
import { startProcesses, stopProcesses, type StopResult } from './stops.js';
import { currentRelease, findRelease, previousRelease } from './releases.js';
import type { DeployTrigger } from '../contract.js';
import { sourceOf } from '../apps/source.js';
import { familiar, parseReference } from '../registry/reference.js';
import { loadUpload, UPLOAD_REF } from './load.js';
import { DeployOutput } from './output.js';

/** What `hiy deploy` needs for apps with a repo_url (implemented by webhooks/mirror.ts). */
export interface UpstreamMirror {
  fetchBranchHead(app: App): Promise<string>;
  assertCurrent(app: App, sha: string): Promise<void>;
}

/** The Deployer the API and git use: puts deploys of every kind on the one queue. */
export class DeployService implements Deployer {
  constructor(
    private readonly s: Pick<Services, 'db' | 'config' | 'log' | 'secrets' | 'repos' | 'proxy' | 'runtime'>,
    readonly queue: DeployQueue,
    private readonly mirror?: UpstreamMirror,
  ) {}

  /**
   * A build from a source archive (git push, webhook, `hiy deploy`); `prepare` runs first in the
   * job (a webhook's fetch), `cleanup` when the job ends, whatever happens.
   */
  async enqueueBuild(app: string, sha: string, trigger: DeployTrigger, source: () => Readable, opts: { prepare?: Prepare; cleanup?: () => void } = {}): Promise<QueuedDeploy> {
    await getApp(this.s.db, app);
    const deployId = await insertDeploy(this.s.db, { app, sha, triggered_by: trigger });
    return this.queue.enqueue({ deployId, app, sha, trigger, source, ...(opts.prepare ? { prepare: opts.prepare } : {}) }, opts.cleanup);
  }

  async deployBranchHead(app: string, trigger: DeployTrigger): Promise<number> {
    const row = await getApp(this.s.db, app);
    const source = sourceOf(row);
    // An app that deploys images follows its tag: what the registry has under it now.
    if (source.kind === 'image') return (await this.enqueuePull(app, familiar({ ...source.repository, tag: source.tag }), trigger)).deployId;
    if (row.repo_url && this.mirror) {
      // An app deployed from GitHub builds what GitHub has now. The fetch is the job's first step,
      // not the request's: the API answers 202 with the deploy id at once, and a slow or failing
      // fetch is in the deploy log. What can be refused without the network is refused now.
      checkRepoUrl(row.repo_url);
      validateBranch(row.branch);
      const mirror = this.mirror;
      let head = '';
      const q = await this.enqueueBuild(app, '', trigger, () => this.s.repos.archive(app, head), {
        prepare: async ({ say }) => {
          say(`Fetching ${row.branch} of ${row.repo_url}`);
          head = await mirror.fetchBranchHead(row);
          await setDeploySha(this.s.db, q.deployId, head);
          say(`fetched ${head.slice(0, 7)}`);
          // A newer commit fetched (by a webhook) meanwhile wins: an older one never follows it.
          await mirror.assertCurrent(row, head);
          return { sha: head };
        },
      });
      return q.deployId;
    }
    const sha = await this.s.repos.resolveBranch(app, row.branch);
    if (!sha) throw new HiyError('conflict', `nothing to deploy: branch "${row.branch}" of "${app}" has no commits yet (git push first)`);
    const q = await this.enqueueBuild(app, sha, trigger, () => this.s.repos.archive(app, sha));
    return q.deployId;
  }

  async restart(app: string, trigger: DeployTrigger = 'manual'): Promise<number> {
    const current = await currentRelease(this.s.db, app);
    if (!current) throw new HiyError('conflict', `"${app}" has no release to restart yet`);
    const deployId = await insertDeploy(this.s.db, { app, sha: current.sha, triggered_by: trigger, image_ref: current.image_ref });
    this.queue.enqueue({ deployId, app, sha: current.sha, trigger, image: current.image, processes: parseProcesses(current.processes), imageRef: current.image_ref, cron: parseCronColumn(current.cron) });
    return deployId;
  }

  async deployImage(app: string, reference: string, trigger: DeployTrigger): Promise<number> {
    await getApp(this.s.db, app);
    return (await this.enqueuePull(app, familiar(parseReference(reference)), trigger)).deployId;
  }

  /**
   * Queues a pull of `reference` (a tag or digest reference, checked): the pull runs in the job,
   * in queue order, so the newest deploy of an app still wins over waiting ones.
   */
  async enqueuePull(app: string, reference: string, trigger: DeployTrigger): Promise<QueuedDeploy> {
    const ref = parseReference(reference);
    const deployId = await insertDeploy(this.s.db, { app, sha: ref.digest ?? '', triggered_by: trigger, image_ref: reference });
    return this.queue.enqueue({ deployId, app, sha: ref.digest ?? '', trigger, pull: reference });
  }

  async loadImage(app: string, archive: Readable, trigger: DeployTrigger, signal: AbortSignal): Promise<number> {
    await getApp(this.s.db, app);
    const deployId = await insertDeploy(this.s.db, { app, sha: '', triggered_by: trigger, image_ref: UPLOAD_REF });
    const output = new DeployOutput(this.s.db, deployId);
    const loaded = await loadUpload({ ...this.s, runtime: await this.s.runtime() }, app, deployId, archive, output, signal);
    this.queue.enqueue({ deployId, app, sha: loaded.digest, trigger, loaded: loaded.image, imageRef: UPLOAD_REF, output });
    return deployId;
  }

  /** Releases an earlier image again through the same health-gated switch, without building. */
  async rollback(app: string, version?: number): Promise<QueuedDeploy & { targetVersion: number }> {
    await getApp(this.s.db, app);
    const target = version === undefined ? await previousRelease(this.s.db, app) : await findRelease(this.s.db, app, version);
    const runtime = await this.s.runtime();
    if (!(await runtime.imageExists(target.image))) {
      throw new HiyError('conflict', `the image of v${target.version} was pruned; only the last ${this.s.config.keepReleases} releases can be rolled back to`);
    }
    const deployId = await insertDeploy(this.s.db, { app, sha: target.sha, triggered_by: 'rollback', rollback_to: target.id, image_ref: target.image_ref });
    const q = this.queue.enqueue({ deployId, app, sha: target.sha, trigger: 'rollback', image: target.image, processes: parseProcesses(target.processes), imageRef: target.image_ref, cron: parseCronColumn(target.cron) });
    q.output.step(`Rolling back ${app} to v${target.version} (${target.image_ref ? `${target.image_ref}, ${target.sha.slice(0, 19)}` : target.sha.slice(0, 7)})`);
    return { ...q, targetVersion: target.version };
  }

  /** Changes how many containers of each process type run, between deploys (never during one). */
  async scale(app: string, changes: Record<string, number>): Promise<Record<string, number>> {
    await getApp(this.s.db, app);
    return this.queue.runExclusive(async () => scaleProcesses({ ...this.s, runtime: await this.s.runtime() }, app, changes));
  }

  /** Between deploys like scaling: a deploy's switch and a stop never interleave. */
  async stopProcesses(app: string, type?: string): Promise<StopResult> {
    await getApp(this.s.db, app);
    return this.queue.runExclusive(async () => stopProcesses({ ...this.s, runtime: await this.s.runtime() }, app, type));
  }

  async startProcesses(app: string, type?: string): Promise<StopResult> {
    await getApp(this.s.db, app);
    return this.queue.runExclusive(async () => startProcesses({ ...this.s, runtime: await this.s.runtime() }, app, type));
  }

  /**
   * Scales now, or, when a deploy is running, answers at once with that deploy's id and scales
   * after it (the API's 202): a request never waits for a build. Anything that refuses the scale
   * is checked first; what can fail later (a new web replica that never answers) is logged.
   */
  async scaleSoon(app: string, changes: Record<string, number>): Promise<{ formation: Record<string, number> } | { behind: { id: number; app: string } }> {
    await checkScale(this.s.db, app, changes);
    const behind = this.queue.runningDeploy();
    const work = this.scale(app, changes);
    if (behind === undefined) return { formation: await work };
    work.catch((err: unknown) => this.s.log.error({ err, app, formation: changes }, 'scaling after the running deploy failed'));
    return { behind };
  }

  async forgetApp(app: string): Promise<void> {
    await this.queue.forgetApp(app);
  }
}
