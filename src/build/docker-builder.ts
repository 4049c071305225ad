import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type Docker from 'dockerode';
import { HiyError } from '../errors.js';
import type { Logger } from '../log.js';
import { BuildProgress, type BuildOutcome } from './build-progress.js';
import { imageTag, type Builder, type BuildRequest, type BuildResult } from './builder.js';
import { prepareBuildContext, type ContextLimits } from './context.js';
import { prepareBuildCgroup } from './build-cgroup.js';

export interface DockerBuilderOptions extends Partial<ContextLimits> {
  /** Labels added to every image built (tests add `hiy.test=1`). */
  labels?: Record<string, string>;
  /** Engine address, used only when no getDocker is given (see docker-client.ts). */
  host?: string;
}

export type GetDocker = () => Promise<Docker>;

const MIB = 1024 * 1024;

/** dockerode is loaded on first build, by the one module that imports it. */
const defaultGetDocker = (host?: string): GetDocker => () => import('../runtime/docker-client.js').then((m) => m.connectDocker(host));

/** Why the build was stopped from our side (timeout or the caller's signal). */
class Stopped extends Error {}

function failureMessage(outcome: BuildOutcome): string {
  const error = outcome.error ?? 'the build ended without producing an image';
  const step = outcome.lastStep;
  const from = step && /^Step \d+\/\d+ : FROM\s+(?:--\S+\s+)*(\S+)/i.exec(step)?.[1];
  if (from && /pull access denied|no such host|manifest unknown|not found|dial tcp|Get "https?:|repository does not exist/i.test(error)) {
    return `the base image ${from} is not on this engine and could not be pulled (${error})`;
  }
  return step ? `${step} failed: ${error}` : error;
}

/** Reads the progress stream to its end; destroying it (abort) rejects. */
function follow(res: IncomingMessage, progress: BuildProgress): Promise<BuildOutcome> {
  return new Promise((resolve, reject) => {
    const decoder = new StringDecoder('utf8');
    res.on('data', (chunk: Buffer) => progress.push(decoder.write(chunk)));
    res.once('end', () => {
      progress.push(decoder.end());
      resolve(progress.end());
    });
    res.once('error', reject);
    res.once('close', () => {
      if (!res.complete) reject(new Error('the engine closed the build stream early'));
    });
  });
}

export function createDockerBuilder(log: Logger, getDocker?: GetDocker, opts: DockerBuilderOptions = {}): Builder {
  const docker = getDocker ?? defaultGetDocker(opts.host);
  // Set up once per builder, on the first build (it asks the engine which cgroup driver it uses).
  let cgroupParent: Promise<string | undefined> | undefined;

  async function build(req: BuildRequest): Promise<BuildResult> {
    const tag = imageTag(req.app, req.sha);
    if (!/^[\w][\w.-]{0,127}$/.test(req.sha)) throw new HiyError('invalid_input', `not a usable image tag: ${req.sha}`);
    const started = Date.now();
    const stop = new AbortController();
    const onAbort = () => stop.abort(new Stopped('the build was cancelled'));
    if (req.signal?.aborted) onAbort();
    req.signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => stop.abort(new Stopped(`the build took longer than ${req.timeoutSec} s and was stopped`)), req.timeoutSec * 1000);
    let context: Readable | undefined;
    let res: IncomingMessage | undefined;
    const onStop = () => {
      res?.destroy();
      context?.destroy();
    };
    stop.signal.addEventListener('abort', onStop, { once: true });

    const ctx = await prepareBuildContext(req.source, opts, { images: req.images, dockerfilePath: req.dockerfilePath }, stop.signal).catch((err: unknown) => {
      clearTimeout(timer);
      req.signal?.removeEventListener('abort', onAbort);
      if (stop.signal.aborted) throw new HiyError('build_failed', (stop.signal.reason as Error).message, { cause: err });
      throw err;
    });
    try {
      (req.onStep ?? req.onOutput)(`Detected ${ctx.plan.label}`);
      for (const note of ctx.plan.notes) req.onOutput(note);
      if (ctx.ignored) req.onOutput(`.dockerignore left out ${ctx.ignored} of ${ctx.entries} entries`);
      const client = await docker();
      const parent = await (cgroupParent ??= prepareBuildCgroup(client, log));
      context = ctx.stream();
      const memory = Math.round(req.memoryMb * MIB);
      res = (await client.buildImage(context, {
        t: tag,
        dockerfile: ctx.plan.dockerfilePath,
        // No labels from hiy: the classic builder runs one extra step (an intermediate container,
        // ~0.25 s) per label after every changed layer. hiy's images are known by their name,
        // hiy/<app>:<sha> (runtime listImages filters on it); tests may still add labels.
        ...(opts.labels ? { labels: opts.labels } : {}),
        ...(memory > 0 ? { memory, memswap: memory } : {}),
        // RUN steps have no pids limit of their own: the parent cgroup's bounds them (build-cgroup.ts).
        ...(parent ? { cgroupparent: parent } : {}),
        forcerm: true,
        rm: true,
        nocache: false,
        abortSignal: stop.signal,
      })) as IncomingMessage;
      if (stop.signal.aborted) res.destroy();
      const outcome = await follow(res, new BuildProgress(req.onOutput));
      if (outcome.error !== undefined || !outcome.imageId) throw new HiyError('build_failed', failureMessage(outcome));
      log.info({ app: req.app, deploy: req.deployId, image: tag, ms: Date.now() - started }, 'image built');
      return { image: tag, strategy: ctx.plan.strategy, processes: ctx.plan.processes };
    } catch (err) {
      if (stop.signal.aborted) throw new HiyError('build_failed', (stop.signal.reason as Error).message, { cause: err });
      if (err instanceof HiyError) throw err;
      // docker-modem says "(HTTP code 500) server error - <engine message>": keep the engine's words.
      const message = ((err as { json?: { message?: string } }).json?.message ?? (err as Error).message).replace(/^\(HTTP code \d+\)\s*[^-]*-\s*/, '').trim();
      throw new HiyError('build_failed', `the build could not run: ${message}`, { cause: err });
    } finally {
      clearTimeout(timer);
      req.signal?.removeEventListener('abort', onAbort);
      context?.destroy();
      await ctx.dispose();
    }
  }

  return { build };
}
