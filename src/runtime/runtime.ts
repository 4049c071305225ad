/** What hiy needs from a container engine. One real adapter: docker-runtime.ts (dockerode). */

export const LABEL_APP = 'hiy.app';
export const LABEL_DEPLOY = 'hiy.deploy';
export const LABEL_SLOT = 'hiy.slot';
export const LABEL_PROCESS = 'hiy.process';
/** Index of a container among the containers of its process type (web replica 0, 1, …). */
export const LABEL_REPLICA = 'hiy.replica';
/** Every object hiy creates carries this label, so reconciliation and tests can find them. */
export const LABEL_MANAGED = 'hiy.managed';
/** The data dir's instance id: which hiy owns the object. */
export const LABEL_INSTANCE = 'hiy.instance';

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
  /** Named volumes (created with hiy's labels by ensureVolume) mounted at container paths. */
  volumes?: { name: string; path: string }[];
  /** A one-off container (release command): no restart policy. */
  oneOff?: boolean;
  /** Runs as this user instead of the image's (volume preparation runs as 0:0). */
  user?: string;
  /** Capabilities given back after dropping all (volume preparation needs CHOWN). */
  capAdd?: string[];
}

/** What a one-off container ended with. */
export interface OneOffResult {
  exitCode: number;
  /** True when it was killed for running longer than its time limit. */
  timedOut: boolean;
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

/** A long-lived engine stream (followed logs, events). */
export interface EngineStream {
  /** Settles when the stream ended: the container stopped, the engine went away, or stop(). */
  done: Promise<void>;
  stop(): void;
}

export interface ContainerEvent {
  action: string;
  id: string;
  labels: Record<string, string>;
}

/** Bytes the engine uses on disk, by kind (GET /system/df). */
export interface EngineDiskUsage {
  images: number;
  containers: number;
  volumes: number;
  buildCache: number;
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
  /** The user an image runs as (Config.User; '' = root). */
  imageUser(ref: string): Promise<string>;
  /**
   * Runs a one-off container to its end, passing each output line (stdout and stderr) to
   * onLine, then removes it. Killed after timeoutSec or when the signal aborts.
   */
  runOnce(spec: ContainerSpec, opts: { timeoutSec: number; onLine(line: string): void; signal?: AbortSignal }): Promise<OneOffResult>;
  /** Creates a named volume with hiy's labels when missing. */
  ensureVolume(name: string, app: string): Promise<void>;
  /** Removes a named volume; a missing one is fine. */
  removeVolume(name: string): Promise<void>;
  /** Named volumes carrying hiy's label, optionally of one app. */
  listVolumes(filter?: { app?: string }): Promise<{ name: string; labels: Record<string, string> }[]>;
  /**
   * Follows a container's output as the engine sends it (multiplexed unless `tty`, every message
   * prefixed with its RFC 3339 nano timestamp) from `since` (unix seconds, fraction allowed) or the
   * last `tail` lines; the stream ends when the container stops.
   */
  followLogs(id: string, opts: { since?: string; tail?: number }, onData: (chunk: Buffer, tty: boolean) => void): Promise<EngineStream>;
  /** Lifecycle events (start, die, destroy, ...) of containers carrying hiy's label. */
  containerEvents(onEvent: (e: ContainerEvent) => void): Promise<EngineStream>;
  /** Slow (seconds on a busy engine): sample rarely. */
  diskUsage(): Promise<EngineDiskUsage>;
}
