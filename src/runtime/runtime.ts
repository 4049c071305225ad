/** What hiy needs from a container engine. One real adapter: docker-runtime.ts (dockerode). */

export const LABEL_APP = 'hiy.app';
export const LABEL_DEPLOY = 'hiy.deploy';
export const LABEL_RELEASE = 'hiy.release';
export const LABEL_SLOT = 'hiy.slot';
export const LABEL_PROCESS = 'hiy.process';
/** Every object hiy creates carries this label, so reconciliation and tests can find them. */
export const LABEL_MANAGED = 'hiy.managed';

export interface ContainerSpec {
  /** Docker name, e.g. hiy-myapp-3f2a9c1b. */
  name: string;
  image: string;
  app: string;
  /** Complete environment, PORT included; values are plaintext only in memory and in the engine. */
  env: Record<string, string>;
  /** Port the app listens on inside the container. */
  containerPort: number;
  /** Fixed host port on 127.0.0.1 (the app's slot); never empty, so restarts keep the same upstream. */
  hostPort?: number;
  memoryMb: number;
  cpus: number;
  pidsLimit?: number;
  labels?: Record<string, string>;
  /** Overrides the image's command (Procfile process types). */
  cmd?: string[];
}

export type ContainerState = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

export interface ContainerInfo {
  id: string;
  name: string;
  image: string;
  state: ContainerState;
  running: boolean;
  labels: Record<string, string>;
  restartCount: number;
  exitCode: number | null;
  startedAt: string | null;
  hostPort: number | null;
}

export interface ImageInfo {
  id: string;
  tags: string[];
  labels: Record<string, string>;
  created: number;
  size: number;
}

export interface Runtime {
  /** Creates the app's own bridge network (hiy-<app>) when missing; returns its name. */
  ensureNetwork(app: string): Promise<string>;
  removeNetwork(app: string): Promise<void>;
  /** Creates and starts a hardened container (see docker-runtime.ts for the hardening). */
  run(spec: ContainerSpec): Promise<ContainerInfo>;
  start(idOrName: string): Promise<void>;
  /** SIGTERM, then SIGKILL after timeoutSec. Missing or stopped containers are fine. */
  stop(idOrName: string, timeoutSec: number): Promise<void>;
  /** Force-removes; a missing container is fine. */
  remove(idOrName: string): Promise<void>;
  inspect(idOrName: string): Promise<ContainerInfo | undefined>;
  /** Containers carrying hiy's label, optionally of one app, running or not. */
  list(filter?: { app?: string }): Promise<ContainerInfo[]>;
  /** The container's recent output (stdout and stderr interleaved), demultiplexed, as text. */
  logs(idOrName: string, opts?: { tail?: number }): Promise<string>;
  listImages(filter?: { app?: string }): Promise<ImageInfo[]>;
  removeImage(ref: string): Promise<void>;
  /** Removes dangling images and build cache left by builds; returns bytes reclaimed when known. */
  pruneBuildLeftovers(): Promise<number>;
  imageExists(ref: string): Promise<boolean>;
}
