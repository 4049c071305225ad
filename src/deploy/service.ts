import type { Readable } from 'node:stream';
import { getApp } from '../apps/repo.js';
import { HiyError } from '../errors.js';
import type { Services } from '../services.js';
import type { Deployer } from './deployer.js';
import { DeployQueue, type QueuedDeploy } from './queue.js';
import { insertDeploy } from './records.js';
import { currentRelease, findRelease, previousRelease } from './releases.js';
import type { DeployTrigger } from './table.js';

/** The Deployer the API and git use: puts deploys of every kind on the one queue. */
export class DeployService implements Deployer {
  constructor(private readonly s: Omit<Services, 'deployer'>, readonly queue: DeployQueue) {}

  /** A build from a source archive (git push, webhook, `hiy deploy`). */
  async enqueueBuild(app: string, sha: string, trigger: DeployTrigger, source: () => Readable, cleanup?: () => void): Promise<QueuedDeploy> {
    await getApp(this.s.db, app);
    const deployId = await insertDeploy(this.s.db, { app, sha, triggered_by: trigger });
    return this.queue.enqueue({ deployId, app, sha, trigger, source }, cleanup);
  }

  async deployBranchHead(app: string, trigger: DeployTrigger): Promise<number> {
    const row = await getApp(this.s.db, app);
    const sha = await this.s.repos.resolveBranch(app, row.branch);
    if (!sha) throw new HiyError('conflict', `nothing to deploy: branch "${row.branch}" of "${app}" has no commits yet (git push first)`);
    const q = await this.enqueueBuild(app, sha, trigger, () => this.s.repos.archive(app, sha));
    return q.deployId;
  }

  async restart(app: string, trigger: DeployTrigger = 'manual'): Promise<number> {
    const current = await currentRelease(this.s.db, app);
    if (!current) throw new HiyError('conflict', `"${app}" has no release to restart yet`);
    const deployId = await insertDeploy(this.s.db, { app, sha: current.sha, triggered_by: trigger });
    this.queue.enqueue({ deployId, app, sha: current.sha, trigger, image: current.image });
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
    const deployId = await insertDeploy(this.s.db, { app, sha: target.sha, triggered_by: 'rollback', rollback_to: target.id });
    const q = this.queue.enqueue({ deployId, app, sha: target.sha, trigger: 'rollback', image: target.image });
    q.output.step(`Rolling back ${app} to v${target.version} (${target.sha.slice(0, 7)})`);
    return { ...q, targetVersion: target.version };
  }

  async forgetApp(app: string): Promise<void> {
    await this.queue.forgetApp(app);
  }
}
