import type { Readable } from 'node:stream';

/**
 * Builds an image from a prepared build context, on the engine the Runtime runs containers on
 * (the image must be there to run). What goes into the context (detection, Dockerfile
 * generation, .dockerignore, the checks) is src/build's; this only builds it. One real adapter:
 * docker-builder.ts.
 */
export interface ImageBuild {
  /** The image's name, imageTag(app, sha). */
  tag: string;
  /** An uncompressed tar of the build context; the builder reads it to its end or destroys it. */
  context: Readable;
  /** Path of the Dockerfile inside the context. */
  dockerfile: string;
  /** Memory one build may use (no swap); 0: no limit. */
  memoryMb: number;
  /** One call per line of build output, without the trailing newline; already human readable. */
  onOutput(line: string): void;
  /** Aborting stops the build, engine side included; the promise then rejects. */
  signal: AbortSignal;
  /** The Dockerfile uses RUN --mount: build with BuildKit (only when cacheMounts() said yes). */
  buildkit?: boolean;
}

export interface Builder {
  /** Resolves once the image is tagged; rejects with HiyError('build_failed') saying why. */
  build(req: ImageBuild): Promise<void>;
  /**
   * Whether builds may use RUN --mount (BuildKit's cache mounts), i.e. BuildKit's steps are held
   * to the same memory and process limits as the classic builder's. Asked once per build.
   */
  cacheMounts(): Promise<boolean>;
  /**
   * Removes the app's dependency caches (those below CACHE_ROOT/<app>/): all of them, or only
   * when together they are larger than `overBytes`. Returns the bytes freed.
   */
  pruneCaches(app: string, overBytes?: number): Promise<number>;
}

/** Where generated builds mount an app's dependency caches: CACHE_ROOT/<app>/<npm|pip>. */
export const CACHE_ROOT = '/var/cache/hiy';

/** hiy's images are known by their name, hiy/<app>:<sha> (Runtime.listImages looks for it). */
export const imageTag = (app: string, sha: string): string => `hiy/${app}:${sha}`;
