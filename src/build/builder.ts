import type { Readable } from 'node:stream';

/** Builds an image from a source archive. One real adapter: docker-builder.ts. */
export interface BuildRequest {
  app: string;
  deployId: number;
  sha: string;
  /** An uncompressed tar of the source tree (what `git archive --format=tar` writes). */
  source: Readable;
  memoryMb: number;
  timeoutSec: number;
  /** One call per line of build output, without the trailing newline; already human readable. */
  onOutput(line: string): void;
  /** Aborting fails the build; the engine-side build is stopped. */
  signal?: AbortSignal;
}

export interface BuildResult {
  /** The tag, hiy/<app>:<sha>. */
  image: string;
}

export interface Builder {
  /** Throws HiyError('build_failed') with the reason; never resolves for a failed build. */
  build(req: BuildRequest): Promise<BuildResult>;
}

export const imageTag = (app: string, sha: string): string => `hiy/${app}:${sha}`;
