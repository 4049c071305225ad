import type { Readable } from 'node:stream';
import type { Strategy } from './detect.js';
import type { BuildImages } from './images.js';
import type { Processes } from './procfile.js';

/** Builds an image from a source archive. One real adapter: docker-builder.ts. */
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
}

export interface Builder {
  /** Throws HiyError('build_failed') with the reason; never resolves for a failed build. */
  build(req: BuildRequest): Promise<BuildResult>;
}

export const imageTag = (app: string, sha: string): string => `hiy/${app}:${sha}`;
