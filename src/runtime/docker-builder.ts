import type { IncomingMessage } from 'node:http';
import { HiyError } from '../errors.js';
import type { Logger } from '../log.js';
import { prepareBuildCgroup } from './build-cgroup.js';
import { BuildProgress, followProgress, type BuildOutcome } from './build-progress.js';
import type { Builder, ImageBuild } from './builder.js';
import { connectDocker, type Docker } from './docker-client.js';

export interface DockerBuilderOptions {
  /** Labels added to every image built (tests add `hiy.test=1`). */
  labels?: Record<string, string>;
  /** Engine address, used only when no client is given (see docker-client.ts). */
  host?: string;
}

const MIB = 1024 * 1024;

function failureMessage(outcome: BuildOutcome): string {
  const error = outcome.error ?? 'the build ended without producing an image';
  const step = outcome.lastStep;
  const from = step && /^Step \d+\/\d+ : FROM\s+(?:--\S+\s+)*(\S+)/i.exec(step)?.[1];
  if (from && /pull access denied|no such host|manifest unknown|not found|dial tcp|Get "https?:|repository does not exist/i.test(error)) {
    return `the base image ${from} is not on this engine and could not be pulled (${error})`;
  }
  return step ? `${step} failed: ${error}` : error;
}

/** The classic builder of a Docker engine; `docker` is the client it shares with the runtime (docker-engine.ts). */
export function createDockerBuilder(log: Logger, opts: DockerBuilderOptions = {}, docker: Docker = connectDocker(opts.host)): Builder {
  // Set up once per builder, on the first build (it asks the engine which cgroup driver it uses).
  let cgroupParent: Promise<string | undefined> | undefined;

  async function build(req: ImageBuild): Promise<void> {
    let res: IncomingMessage | undefined;
    const onStop = () => {
      res?.destroy();
      req.context.destroy();
    };
    req.signal.addEventListener('abort', onStop, { once: true });
    try {
      const parent = await (cgroupParent ??= prepareBuildCgroup(docker, log));
      const memory = Math.round(req.memoryMb * MIB);
      res = (await docker.buildImage(req.context, {
        t: req.tag,
        dockerfile: req.dockerfile,
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
        abortSignal: req.signal,
      })) as IncomingMessage;
      if (req.signal.aborted) res.destroy();
      const outcome = await followProgress(res, new BuildProgress(req.onOutput));
      if (outcome.error !== undefined || !outcome.imageId) throw new HiyError('build_failed', failureMessage(outcome));
    } catch (err) {
      if (err instanceof HiyError || req.signal.aborted) throw err;
      // docker-modem says "(HTTP code 500) server error - <engine message>": keep the engine's words.
      const message = ((err as { json?: { message?: string } }).json?.message ?? (err as Error).message).replace(/^\(HTTP code \d+\)\s*[^-]*-\s*/, '').trim();
      throw new HiyError('build_failed', `the build could not run: ${message}`, { cause: err });
    } finally {
      req.signal.removeEventListener('abort', onStop);
      req.context.destroy();
    }
  }

  return { build };
}
