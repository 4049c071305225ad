import type { IncomingMessage } from 'node:http';
import { HiyError } from '../errors.js';
import type { Logger } from '../log.js';
import { prepareBuildCgroup } from './build-cgroup.js';
import { BuildProgress, followProgress, type BuildOutcome } from './build-progress.js';
import { prepareBuildkitCgroup, type BuildkitLimits } from './buildkit-cgroup.js';
import { BuildkitProgress } from './buildkit-progress.js';
import type { Builder, ImageBuild } from './builder.js';
import { connectDocker, type Docker } from './docker-client.js';
import { pruneAppCaches } from './docker-caches.js';

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
  // Classic: "Step 1/4 : FROM node:22"; BuildKit: "[internal] load metadata for docker.io/library/node:22".
  const from = step && (/^Step \d+\/\d+ : FROM\s+(?:--\S+\s+)*(\S+)/i.exec(step)?.[1] ?? /^\[internal\] load metadata for (\S+)/.exec(step)?.[1]);
  if (from && /pull access denied|no such host|manifest unknown|not found|dial tcp|Get "https?:|repository does not exist/i.test(error)) {
    return `the base image ${from} is not on this engine and could not be pulled (${error})`;
  }
  return step ? `${step} failed: ${error}` : error;
}

/**
 * A Docker engine's builders: the classic one, and BuildKit for Dockerfiles with RUN --mount
 * (dependency caches) where its steps can be bounded (buildkit-cgroup.ts). BuildKit is reached
 * without a session (`version=2` and the context as a tar): no gRPC stream to keep open, and
 * nothing a session offers (local dirs, secrets, ssh) is used. `docker` is the client it shares
 * with the runtime (docker-engine.ts).
 */
export function createDockerBuilder(log: Logger, opts: DockerBuilderOptions = {}, docker: Docker = connectDocker(opts.host)): Builder {
  // Set up once per builder, on the first build (it asks the engine which cgroup driver it uses).
  let cgroupParent: Promise<string | undefined> | undefined;
  let buildkitLimits: Promise<BuildkitLimits | undefined> | undefined;
  const buildkit = () => (buildkitLimits ??= prepareBuildkitCgroup(docker, log));

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
      let version: { version?: '2' } = {};
      if (req.buildkit) {
        const limits = await buildkit();
        if (!limits) throw new HiyError('build_failed', 'BuildKit is not available within the build limits on this engine');
        // A limit below what a running BuildKit step of another client holds can be refused
        // (EBUSY): the previous limit then stays, which still bounds the build.
        await limits.setMemory(req.memoryMb).catch((err: unknown) => log.warn({ err }, 'the BuildKit build memory limit could not be set; the previous one stays'));
        // A number on the wire all the same; typed as the string dockerode knows, but a number for
        // real: dockerode opens a BuildKit session for the string "2", which hiy does not need.
        version = { version: 2 as unknown as '2' };
      }
      res = (await docker.buildImage(req.context, {
        ...version,
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
      const outcome = await followProgress(res, req.buildkit ? new BuildkitProgress(req.onOutput) : new BuildProgress(req.onOutput));
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

  return {
    build,
    cacheMounts: async () => (await buildkit()) !== undefined,
    pruneCaches: (app, overBytes) => pruneAppCaches(docker, app, overBytes),
  };
}
