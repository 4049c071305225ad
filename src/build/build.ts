import type { Readable } from 'node:stream';
import { HiyError } from '../errors.js';
import type { Logger } from '../log.js';
import { imageTag, type Builder } from '../runtime/builder.js';
import { prepareBuildContext, type ContextLimits } from './context.js';
import { lowDisk, watchDisk, type LowDisk } from './disk-space.js';
import type { Strategy } from './detect.js';
import type { BuildImages } from '../base-images.js';
import type { Processes } from './procfile.js';
import type { CronJob } from './cron-jobs.js';

/** One build of a release from its source archive. */
export interface BuildRequest {
  app: string;
  deployId: number;
  sha: string;
  /** An uncompressed tar of the source tree (what `git archive --format=tar` writes). */
  source: Readable;
  memoryMb: number;
  timeoutSec: number;
  /** Base images for generated Dockerfiles (global settings with the app's own over them). */
  images: BuildImages;
  /** The app's dockerfile_path setting; null builds the root Dockerfile when there is one. */
  dockerfilePath: string | null;
  /** One call per line of build output, without the trailing newline; already human readable. */
  onOutput(line: string): void;
  /** Headlines (`Detected Node.js app`); printed as `-----> …`. Defaults to onOutput. */
  onStep?(line: string): void;
  /** Aborting fails the build; the engine-side build is stopped. */
  signal?: AbortSignal;
}

export interface BuildResult {
  /** The tag, hiy/<app>:<sha>. */
  image: string;
  strategy: Strategy;
  /** The Procfile's process types ({} without a Procfile). */
  processes: Processes;
  /** app.json's scheduled jobs ([] without any). */
  cron: CronJob[];
  /**
   * Trims the app's dependency caches past HIY_BUILD_CACHE_MB, when the build used them: called
   * after the release serves (it asks the engine's `/system/df`, 0.6 s here with 200 images and
   * slower on a Pi, which the push would otherwise wait for).
   */
  trimCaches?: () => Promise<void>;
}

export interface BuildDeps {
  /** The engine's image builder (src/runtime). */
  builder: Builder;
  log: Logger;
  /** Bounds on the source archive and where it is spooled. */
  limits?: Partial<ContextLimits>;
  /**
   * Free space (MB) a build leaves on the disks it writes to (hiy's data dir, the engine's data
   * root): below it the build does not start; one that eats into it is stopped.
   */
  disk?: { reserveMb: number; paths: string[] };
  /** Bound of one app's dependency caches in MB (HIY_BUILD_CACHE_MB): past it they start over. */
  cacheMaxMb?: number;
}

/** How often a running build's disks are checked. */
const DISK_CHECK_MS = 1_000;

const diskMessage = (low: LowDisk, reserveMb: number, during: boolean) => during
  ? `the build was stopped: the disk holding ${low.path} fell to ${low.freeMb} MB free, below the ${reserveMb} MB reserve (HIY_DISK_RESERVE_MB) that keeps hiy's database and the apps writable`
  : `the build did not start: the disk holding ${low.path} has ${low.freeMb} MB free, less than the ${reserveMb} MB reserve (HIY_DISK_RESERVE_MB). Free some space (docs/operations.md, "Disk hygiene") and push again`;

/** A cache past its bound starts over; housekeeping, so a failure only costs a log line. */
async function trimCaches(d: BuildDeps, req: BuildRequest, maxMb: number): Promise<void> {
  try {
    const freed = await d.builder.pruneCaches(req.app, maxMb * 1024 * 1024);
    if (freed > 0) req.onOutput(`the dependency cache was larger than ${maxMb} MB (HIY_BUILD_CACHE_MB) and starts over (${Math.round(freed / 1024 / 1024)} MB freed)`);
  } catch (err) {
    d.log.warn({ err, app: req.app }, 'trimming the dependency caches failed');
  }
}

/** Why the build was stopped from our side (timeout or the caller's signal). */
class Stopped extends Error {}

/**
 * Source archive → checked build context (detection, generated Dockerfile, .dockerignore) →
 * image, within the build's time limit. Throws HiyError('build_failed') with the reason; never
 * resolves for a failed build.
 */
export async function buildRelease(d: BuildDeps, req: BuildRequest): Promise<BuildResult> {
  const tag = imageTag(req.app, req.sha);
  if (!/^[\w][\w.-]{0,127}$/.test(req.sha)) throw new HiyError('invalid_input', `not a usable image tag: ${req.sha}`);
  const started = Date.now();
  const stop = new AbortController();
  const onAbort = () => stop.abort(new Stopped('the build was cancelled'));
  if (req.signal?.aborted) onAbort();
  req.signal?.addEventListener('abort', onAbort, { once: true });
  const timer = setTimeout(() => stop.abort(new Stopped(`the build took longer than ${req.timeoutSec} s and was stopped`)), req.timeoutSec * 1000);
  let stopWatch = () => {};
  try {
    // Asked before the source is read is not possible (it must be read from this tick: context.ts).
    const cacheMounts = d.builder.cacheMounts();
    const ctx = await prepareBuildContext(req.source, d.limits ?? {}, { images: req.images, dockerfilePath: req.dockerfilePath, app: req.app, cacheMounts }, stop.signal);
    try {
      (req.onStep ?? req.onOutput)(`Detected ${ctx.plan.label}`);
      for (const note of ctx.plan.notes) req.onOutput(note);
      if (ctx.ignored) req.onOutput(`.dockerignore left out ${ctx.ignored} of ${ctx.entries} entries`);
      if (d.disk && d.disk.reserveMb > 0) {
        const { reserveMb, paths } = d.disk;
        const low = await lowDisk(paths, reserveMb);
        if (low) throw new HiyError('build_failed', diskMessage(low, reserveMb, false));
        stopWatch = watchDisk(paths, reserveMb, DISK_CHECK_MS, (l) => stop.abort(new Stopped(diskMessage(l, reserveMb, true))));
      }
      await d.builder.build({ tag, context: ctx.stream(), dockerfile: ctx.plan.dockerfilePath, memoryMb: req.memoryMb, onOutput: req.onOutput, signal: stop.signal, buildkit: ctx.plan.buildkit });
      d.log.info({ app: req.app, deploy: req.deployId, image: tag, ms: Date.now() - started }, 'image built');
      const maxMb = d.cacheMaxMb;
      return {
        image: tag, strategy: ctx.plan.strategy, processes: ctx.plan.processes, cron: ctx.plan.cron,
        ...(ctx.plan.buildkit && maxMb !== undefined ? { trimCaches: () => trimCaches(d, req, maxMb) } : {}),
      };
    } finally {
      await ctx.dispose();
    }
  } catch (err) {
    if (stop.signal.aborted) throw new HiyError('build_failed', (stop.signal.reason as Error).message, { cause: err });
    throw err;
  } finally {
    clearTimeout(timer);
    stopWatch();
    req.signal?.removeEventListener('abort', onAbort);
  }
}
