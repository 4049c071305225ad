import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Kysely } from 'kysely';
import { getApp, type App } from '../apps/repo.js';
import { appUrl } from '../apps/urls.js';
import { imagesForApp } from '../base-images.js';
import type { CronJob } from '../build/cron-jobs.js';
import { workerTypes, type Processes } from '../build/procfile.js';
import { createRedactor } from '../build/redact.js';
import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import { appEnv } from '../addons/env.js';
import { settleAddonNetworks } from '../addons/networks.js';
import type { SecretBox } from '../env/secret-box.js';
import { HiyError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Proxy } from '../proxy/proxy.js';
import type { Builder } from '../runtime/builder.js';
import type { ContainerInfo, Runtime } from '../runtime/runtime.js';
import { idleSlot } from '../slots.js';
import { switchTraffic } from './drain.js';
import type { DeployOutput } from './output.js';
import { clearStops, formationOf, shareOf } from './formation.js';
import type { ReleaseImage, ReleasePlan } from './plan.js';
import { prepareVolume, runReleaseCommand, startWebReplica, startWorkers, waitReplicaHealthy } from './processes.js';
import { currentRelease, imagesToKeep, recordRelease, type Release } from './releases.js';
import { imageProcesses, pullRelease, type MadeImage } from './pull.js';
import { diskReserveOf } from './disk-reserve.js';
import { routeFor } from '../apps/route.js';
import type { DeployTrigger } from '../contract.js';

export interface PipelineDeps {
  db: Kysely<Database>;
  config: Config;
  log: Logger;
  secrets: SecretBox;
  runtime: Runtime;
  builder: Builder;
  proxy: Proxy;
}

/** The job's first step; a deploy queued before its commit was known (a repo fetch) returns it. */
export type Prepare = (step: { say(line: string): void; signal?: AbortSignal | undefined }) => Promise<void | { sha: string }>;

export interface DeployJob {
  deployId: number;
  app: string;
  sha: string;
  trigger: DeployTrigger;
  /**
   * The first step, in queue order, before the source is read: a webhook deploy fetches its
   * commit from the app's repo_url here (webhooks/mirror.ts). It says what it does through `say`.
   */
  prepare?: Prepare;
  /** Source tar for builds; absent when an existing image is released again (restart, rollback). */
  source?: () => Readable;
  image?: string;
  /** The Procfile process types of `image` (restart, rollback); builds read them from the source. */
  processes?: Processes;
  /** An image deploy: the reference to pull from its registry in the job, in place of the build (pull.ts). */
  pull?: string;
  /** An image deploy of an upload (images:load), loaded under this name before it was queued. */
  loaded?: string;
  /** The reference a released image came from: kept by restarts and rollbacks of image releases. */
  imageRef?: string | null;
  /** app.json's scheduled jobs of `image` (restart, rollback); builds read them from the source. */
  cron?: CronJob[];
  output: DeployOutput;
  signal?: AbortSignal;
  /** Told once the new release serves (git push gets its answer then); the queue sets it. */
  live?: (version: number) => void;
}

/** A release plan inside a deploy: someone watches its output. */
type DeployPlan = ReleasePlan & { output: DeployOutput };

/**
 * The story of one deploy: prepare → build (or pull) → release command → start web → wait healthy → record →
 * switch (live: the pusher gets its answer) → drain and stop the old release (drain.ts) → start
 * the other process types → prune. Anything that fails before `record` leaves the running release
 * untouched and serving; what follows the switch is logged in the deploy log, and the queue runs
 * the next deploy only after it.
 */
export async function deploy(d: PipelineDeps, job: DeployJob): Promise<Release> {
  const app = await getApp(d.db, job.app);
  const env = await appEnv(d.db, d.secrets, app.name);
  const secrets = env.secrets;
  job.output.setRedactor(createRedactor(secrets));
  const prepared = await job.prepare?.({ say: (line) => job.output.step(line), signal: job.signal });
  if (prepared) job.sha = prepared.sha;
  const previous = await currentRelease(d.db, app.name);
  // One-off runs (hiy run, consoles, cron) belong to no release: a deploy leaves them running.
  const oldContainers = (await d.runtime.list({ app: app.name })).filter((c) => c.run === null);

  // A new image (built, pulled or uploaded) runs its release command; a released one again does not.
  const fresh = !job.image;
  const made = await releaseImage(d, app, job, secrets);
  const image: ReleaseImage = { image: made.image, processes: made.processes, cron: made.cron ?? [] };
  const plan: DeployPlan = {
    app, release: image, env: env.env, managedEnv: env.fingerprint, slot: idleSlot(previous?.slot), deployId: job.deployId,
    formation: await formationOf(d.db, app.name, image.processes), output: job.output, signal: job.signal,
  };
  // The app's settings are the budget of all its containers (refused here when spread too thin).
  const share = shareOf(app, plan.formation);
  if (share.containers > 1) job.output.detail(`${share.containers} containers share ${app.memory_mb} MB: ${share.memoryMb} MB, ${share.cpus} CPU and ${share.pidsLimit} processes each`);
  await prepareVolume(d, plan);
  if (fresh && image.processes.release) await releasePhase(d, plan);
  const web = await startWeb(d, plan, oldContainers, fresh ? 'new release' : 'release');
  const release = await recordRelease(d.db, { app: app.name, deploy_id: job.deployId, sha: made.sha, image: image.image, slot: plan.slot, processes: JSON.stringify(image.processes), image_ref: made.imageRef, cron: JSON.stringify(image.cron) });
  job.output.step(`Released v${release.version}`);
  // A deploy is a request to run: an app stopped by ps:stop runs again (stops.ts, decision 40).
  const wasStopped = await clearStops(d.db, app.name);
  if (wasStopped.length) job.output.step(`${app.name} was stopped (${wasStopped.join(', ')}): this release starts it (hiy ps:stop ${app.name} stops it again)`);
  const old = oldContainers.filter((c) => !web.some((w) => w.id === c.id));
  await switchTraffic(d, app, { slot: plan.slot, replicas: web.length }, old, () => {
    job.output.step(`Live at ${appUrl(d.config, app.name)}`);
    job.live?.(release.version);
    if (old.length > 0) job.output.step(`Draining the old release (up to ${app.drain_s} s), then stopping it`);
  });
  if (wasStopped.includes('web')) await d.proxy.setRoute(await routeFor(d.db, app));
  if (old.length > 0) job.output.detail('old release stopped');
  await startOtherProcesses(d, plan);
  await settleAddonNetworks(d, d.runtime, app.name).catch((err: unknown) => d.log.warn({ err, app: app.name }, 'could not take detached add-ons off the app\'s network'));
  await made.trimCaches?.();
  await prune(d, app, job.output);
  return release;
}

/**
 * What the release runs: an image released again (restart, rollback), pulled, uploaded or built.
 * Scheduled jobs come from app.json in a pushed tree, so pulled and uploaded images have none.
 */
async function releaseImage(d: PipelineDeps, app: App, job: DeployJob, secrets: string[]): Promise<MadeImage & { cron?: CronJob[]; trimCaches?: () => Promise<void> }> {
  if (job.image) return { image: job.image, processes: job.processes ?? {}, cron: job.cron ?? [], sha: job.sha, imageRef: job.imageRef ?? null };
  if (job.pull) {
    const protect = (secret: string) => job.output.setRedactor(createRedactor([...secrets, secret]));
    return pullRelease(d, app, { deployId: job.deployId, reference: job.pull, output: job.output, signal: job.signal, protect });
  }
  if (job.loaded) return { image: job.loaded, processes: await imageProcesses(d.runtime, app, job.loaded, job.output), sha: job.sha, imageRef: job.imageRef ?? 'upload' };
  return { ...(await build(d, app, job)), sha: job.sha, imageRef: null };
}

async function build(d: PipelineDeps, app: App, job: DeployJob): Promise<ReleaseImage & { trimCaches?: () => Promise<void> }> {
  if (!job.source) throw new HiyError('internal', 'a build needs a source archive');
  job.output.step(`Building ${app.name} (${job.sha.slice(0, 7)})`);
  // Loaded with the first build: tar-stream and the context checks stay out of an idle hiy
  // (decision 13). Build contexts are staged on the data disk, not /tmp (a RAM disk on many Pis).
  const { buildRelease } = await import('../build/build.js');
  // Builds leave HIY_DISK_RESERVE_MB free on the disks they write to (hiy's data, the engine's).
  const disk = await diskReserveOf(d.config, d.runtime);
  const { image, processes, cron, trimCaches } = await buildRelease({ builder: d.builder, log: d.log, limits: { tmpDir: join(d.config.dataDir, 'tmp') }, disk, cacheMaxMb: d.config.buildCacheMb }, {
    app: app.name,
    deployId: job.deployId,
    sha: job.sha,
    source: job.source(),
    memoryMb: d.config.buildMemoryMb,
    timeoutSec: d.config.buildTimeoutSec,
    images: imagesForApp(d.config.buildImages, app.build_images),
    dockerfilePath: app.dockerfile_path,
    onOutput: (line) => job.output.detail(line),
    onStep: (line) => job.output.step(line),
    ...(job.signal ? { signal: job.signal } : {}),
  });
  return { image, processes, cron, ...(trimCaches ? { trimCaches } : {}) };
}

/** The Procfile's release command (migrations), once per build, before anything new serves. */
async function releasePhase(d: PipelineDeps, plan: DeployPlan): Promise<void> {
  const { output } = plan;
  output.step(`Running the release command: ${plan.release.processes.release}`);
  await runReleaseCommand(d, plan, d.config.buildTimeoutSec);
  output.detail('release command succeeded');
}

/**
 * Starts every web replica of the release on the idle slot's fixed ports and waits until each
 * answers. If one fails, all of them are removed and the old release keeps serving.
 */
async function startWeb(d: PipelineDeps, plan: DeployPlan, existing: ContainerInfo[], what: string): Promise<ContainerInfo[]> {
  const { app, slot, output } = plan;
  const replicas = plan.formation.web ?? 1;
  // Containers left on this slot (a crash between start and switch) would hold its ports.
  for (const c of existing.filter((c) => c.slot === slot)) await d.runtime.remove(c.id);
  output.step(`Starting ${what} on slot ${slot}${replicas > 1 ? ` (${replicas} web replicas)` : ''}`);
  const started: ContainerInfo[] = [];
  try {
    for (let i = 0; i < replicas; i++) started.push(await startWebReplica(d, plan, i));
    output.step(`Waiting for the release to answer on ${app.health_path} (up to ${app.health_timeout_s} s)`);
    const statuses = await Promise.all(started.map(async (c, i) => {
      try {
        return await waitReplicaHealthy(d, plan, c, i);
      } catch (err) {
        await showOutput(d, output, c);
        throw err;
      }
    }));
    output.detail(`answered ${statuses[0] ?? 200}`);
    return started;
  } catch (err) {
    await Promise.all(started.map((c) => d.runtime.remove(c.id).catch(() => undefined)));
    throw err;
  }
}

async function showOutput(d: PipelineDeps, output: DeployOutput, c: ContainerInfo): Promise<void> {
  const tail = await d.runtime.logs(c.id, { tail: 30 }).catch(() => '');
  if (!tail.trim()) return;
  output.step('Output of the new release:');
  for (const l of tail.trimEnd().split('\n')) output.detail(l);
}

/** Workers and other Procfile types start after the switch, so old and new never process jobs side by side. */
async function startOtherProcesses(d: PipelineDeps, plan: DeployPlan): Promise<void> {
  const { output } = plan;
  for (const type of workerTypes(plan.release.processes)) {
    const count = plan.formation[type] ?? 1;
    if (count === 0) continue;
    output.step(`Starting ${count} ${type} process${count === 1 ? '' : 'es'}`);
    await startWorkers(d, plan, type, 0, count);
  }
}

async function prune(d: PipelineDeps, app: App, output: DeployOutput): Promise<void> {
  try {
    const keep = await imagesToKeep(d.db, app.name, d.config.keepReleases);
    let removed = 0;
    for (const img of await d.runtime.listImages({ app: app.name })) {
      if (img.tags.some((t) => keep.has(t))) continue;
      for (const t of img.tags.length ? img.tags : [img.id]) await d.runtime.removeImage(t);
      removed++;
    }
    await d.runtime.pruneBuildLeftovers();
    if (removed) output.detail(`removed ${removed} old image(s)`);
    const unpublished = await d.runtime.prunePublishedImages?.(app.name, keep) ?? 0;
    if (unpublished) output.detail(`removed ${unpublished} old image(s) from the nodes' registry`);
  } catch (err) {
    // Pruning is housekeeping: the release is live whatever happens here.
    d.log.warn({ err, app: app.name }, 'pruning old images failed');
  }
}
