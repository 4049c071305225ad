/**
 * What hiy needs from a container engine, in its own words: containers of an app's releases,
 * one-off runs, named volumes, images and their builds (builder.ts). Nothing here is Docker's:
 * a second engine (or a cluster) is written against this interface alone. One real adapter:
 * docker-engine.ts (dockerode), which keeps what a container plays in its labels.
 */
import type { Readable } from 'node:stream';
import type { Slot } from '../slots.js';
import type { AddonRuntime } from './addons.js';

/**
 * What part of which release a container plays. The engine keeps it with the container and gives
 * it back in ContainerInfo, so hiy finds its processes after a restart (of hiy or of the box).
 */
export interface ContainerRole {
  app: string;
  /** Procfile process type (web, worker, …) or `release` for the release command; absent: web. */
  process?: string;
  /** Index among the containers of its process type (web replica 0, 1, …); absent: 0. */
  replica?: number;
  /** The deploy that made the release it belongs to. */
  deployId?: number;
  /** The slot of its release (web replicas listen on that slot's ports). */
  slot?: Slot;
  /**
   * A one-off run (hiy run, a console session, a cron job): the id of its record. Such a container
   * belongs to no release: scaling, status and reconciliation leave it alone.
   */
  run?: number;
  /** Which add-ons its environment holds (`DATABASE_URL=shop-db,…`): names only, never values. */
  managedEnv?: string;
}

export interface ContainerSpec extends ContainerRole {
  /** Container name, e.g. hiy-myapp-3f2a9c1b. */
  name: string;
  image: string;
  /** Complete environment, PORT included; values are plaintext only in memory and in the engine. */
  env: Record<string, string>;
  /** Port the app listens on inside the container. */
  containerPort: number;
  /** Fixed host port on 127.0.0.1 (the app's slot); never empty, so restarts keep the same upstream. */
  hostPort?: number;
  memoryMb: number;
  cpus: number;
  pidsLimit?: number;
  /** Where it may run on a Swarm (absent: any node, spread); one engine ignores it. */
  placement?: Placement;
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

/**
 * Where an app's processes may run (hiy update --node-label, --spread). Only a Swarm runtime
 * places anything; one engine runs everything here and ignores it.
 */
export interface Placement {
  /** Labels a node must carry to run the process (Swarm constraints `node.labels.<k>==<v>`); {}: any. */
  nodeLabels: Record<string, string>;
  /** Start each new process on the eligible node with the fewest of the app's tasks (swarm-spread.ts). */
  spread: boolean;
}

/** Which nodes an app's placement allows (Runtime.placementNodes); one engine answers null. */
export interface PlacementCheck {
  /** Every node, with what decides whether it may run the app's processes. */
  nodes: { name: string; labels: Record<string, string>; ready: boolean }[];
  /** Names of the ready, active nodes that carry every label. */
  matching: string[];
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
  restartCount: number;
  exitCode: number | null;
  startedAt: string | null;
  hostPort: number | null;
  /**
   * Where hostPort answers: the address of the node that runs it (a Swarm, swarm-runtime.ts);
   * absent: 127.0.0.1, this host.
   */
  host?: string;
  /** The role it was started with (ContainerSpec), defaults filled in. */
  app: string;
  process: string;
  replica: number;
  deployId: number | null;
  slot: Slot | null;
  /** The run record of a one-off container (ContainerRole.run), or null. */
  run: number | null;
  /**
   * Someone's input and output are attached to it (hiy run, a console): what it prints belongs to
   * them, not to the app's log.
   */
  attached: boolean;
  /** The hiy (data dir) that made it: several may share one engine, each touches only its own. */
  instance: string | null;
  /** Which add-ons its environment holds (ContainerRole); '' for none. */
  managedEnv?: string;
}

export interface ImageInfo {
  id: string;
  tags: string[];
  labels: Record<string, string>;
  created: number;
  size: number;
}

/** One line of a container's output, as followLogs delivers it. */
export interface LogLine {
  /** When the engine got it: RFC 3339 with exactly 9 fraction digits, so times compare as strings. */
  ts: string;
  stream: 'stdout' | 'stderr';
  /**
   * The line without its newline: valid UTF-8, control characters other than tab and ESC
   * (colours) replaced, and bounded (log-lines.ts MAX_LINE_BYTES, with a marker of what was cut).
   */
  text: string;
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
}

/**
 * One node's figures as its node-stats agent read them (decision 50): raw counters, so a lost
 * line only lengthens the next interval. CPU times are compared between readings of one node.
 */
export interface NodeReading {
  /** The Swarm node id. */
  nodeId: string;
  /** The node's uptime in seconds when read. */
  uptime: number;
  /** Jiffies since boot, all and idle, and the cores online. */
  cpu: { total: number; idle: number; cores: number };
  memory: { total: number; used: number };
  /** The tasks of this hiy's apps on the node: cumulative CPU time and working set. */
  tasks: { id: string; app: string; cpuNs: number; memoryBytes: number }[];
}

/** Bytes the engine uses on disk, by kind (GET /system/df). */
export interface EngineDiskUsage {
  images: number;
  containers: number;
  volumes: number;
  buildCache: number;
}

/** Where a named volume's files are on this host (backups read and write them there). */
export interface VolumeLocation {
  driver: string;
  mountpoint: string;
}

/** What an image is built for (the engine's words: os linux, architecture amd64/arm64/arm, variant v7). */
export interface ImagePlatform {
  os: string;
  architecture: string;
  variant?: string | undefined;
}

/** A registry login for one engine call; the adapter hands it to the engine and to nothing else. */
export interface RegistryAuth {
  username: string;
  password: string;
  /** The registry host of the image (docker.io for Docker Hub). */
  server: string;
}

/** What a registry holds under a reference, learnt without pulling it. */
export interface RemoteImage {
  /** The digest the registry names it by (for a multi-platform image, its index's digest). */
  digest: string;
  /** What it is built for: one entry, or one per image of a multi-platform index. */
  platforms: ImagePlatform[];
}

/** A local image's configuration, as far as hiy uses it. */
export interface ImageDetails {
  id: string;
  platform: ImagePlatform;
  /** Ports the image declares (EXPOSE), e.g. "8080/tcp". */
  exposedPorts: string[];
}

/** How a program's input and output are relayed: through a terminal (TTY) or as plain pipes. */
export interface AttachOptions {
  tty: boolean;
  /** The terminal's size (TTY only). */
  cols?: number;
  rows?: number;
}

/** A piece of an attached program's output; with a TTY everything is stdout. */
export interface OutputChunk {
  stream: 'stdout' | 'stderr';
  data: Buffer;
}

/**
 * A program whose input and output hiy relays: a one-off container (hiy run, the console, see
 * runAttached) or a command inside a running container (execAttached: an add-on's client).
 */
export interface AttachedProcess {
  /**
   * Its output in order, as OutputChunk objects; ends when the program's output ends. A consumer
   * that reads slowly holds the program back (backpressure) instead of filling hiy's memory.
   */
  output: Readable;
  write(data: Buffer): void;
  /** No more input: the program reads end of file (what Ctrl-D is in a terminal). */
  endInput(): void;
  /** The terminal's new size (TTY only); the program gets SIGWINCH. */
  resize(cols: number, rows: number): Promise<void>;
  /**
   * Settles with the exit code once the program ended and what it left is gone (a one-off
   * container is removed by then); 128 + the signal when it was killed (137: SIGKILL).
   */
  exited: Promise<number>;
  /**
   * Ends it now: a one-off container is killed (SIGKILL, exit code 137); a program inside another
   * container (the engine cannot signal those) has its terminal hung up and its input closed.
   */
  kill(): Promise<void>;
}

/** The engine: app containers here, add-on containers (data services) in addons.ts. */
export interface Runtime extends AddonRuntime {
  /** Resolves when the engine answers; rejects with HiyError('unavailable') and a hint when not. */
  ping(): Promise<void>;
  /**
   * Where app processes' published ports can be reached, for the proxy's upstream list:
   * ['127.0.0.1'] on one engine (no engine call), every node's address on a Swarm.
   */
  upstreamHosts(): Promise<string[]>;
  /**
   * Which nodes may run processes placed by these labels: null on one engine (placement has no
   * effect there, no engine call); on a Swarm, every node and the ready ones that match.
   */
  placementNodes(nodeLabels: Record<string, string>): Promise<PlacementCheck | null>;
  /** Creates the app's own network (hiy-<app>) when missing; returns its name. */
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
  /** Changes the memory (no swap), CPU and pids limits of a container in place (running or not). */
  updateLimits(idOrName: string, limits: { memoryMb: number; cpus: number; pidsLimit: number }): Promise<void>;
  /** Bytes each container of this instance wrote to its own filesystem (its writable layer); `run`: a one-off's run record. */
  writableSizes(): Promise<{ id: string; app: string; run: number | null; bytes: number }[]>;
  /** Where the engine keeps images and containers on this host (its disk is watched during builds); undefined when unknown. */
  engineDataRoot(): Promise<string | undefined>;
  /** hiy's app containers (of every instance on the engine; add-ons' are not), optionally of one app, running or not. */
  list(filter?: { app?: string }): Promise<ContainerInfo[]>;
  /** The container's recent output (stdout and stderr interleaved), demultiplexed, as text. */
  logs(idOrName: string, opts?: { tail?: number }): Promise<string>;
  listImages(filter?: { app?: string }): Promise<ImageInfo[]>;
  removeImage(ref: string): Promise<void>;
  /** Removes dangling images and build cache left by builds; returns bytes reclaimed when known. */
  pruneBuildLeftovers(): Promise<number>;
  /**
   * On a Swarm: deletes the app's images the nodes pull (the nodes' registry) that are not in
   * `keep` (image refs), with the same retention as the images here; answers how many. Only the
   * Swarm runtime has it.
   */
  prunePublishedImages?(app: string, keep: Set<string>): Promise<number>;
  imageExists(ref: string): Promise<boolean>;
  /** The user an image runs as (Config.User; '' = root). */
  imageUser(ref: string): Promise<string>;
  /**
   * Runs a one-off container to its end, passing each output line (stdout and stderr) to
   * onLine, then removes it. Killed after timeoutSec (0: no limit) or when the signal aborts.
   */
  runOnce(spec: ContainerSpec, opts: { timeoutSec: number; onLine(line: string): void; signal?: AbortSignal }): Promise<OneOffResult>;
  /**
   * Creates and starts a one-off container, hardened like run()'s but without restart policy or
   * published port, with its input and output attached (docker-attached.ts). It is removed once it
   * exits or is killed, before `exited` settles.
   */
  runAttached(spec: ContainerSpec, io: AttachOptions): Promise<AttachedProcess>;
  /**
   * Runs a command inside a running container hiy manages (an add-on's own client, e.g. psql in
   * the database's container), attached; nothing is left behind when it ends.
   */
  execAttached(container: string, cmd: string[], io: AttachOptions & { env?: Record<string, string>; user?: string }): Promise<AttachedProcess>;
  /** Creates a named volume with hiy's labels when missing. */
  ensureVolume(name: string, app: string): Promise<void>;
  /** Removes a named volume; a missing one is fine. */
  removeVolume(name: string): Promise<void>;
  /** hiy's named volumes, optionally of one app. */
  listVolumes(filter?: { app?: string }): Promise<{ name: string }[]>;
  /** Where a named volume's files are, or undefined when there is no such volume. */
  volumeLocation(name: string): Promise<VolumeLocation | undefined>;
  /**
   * Follows a container's output line by line, from `since` (the `ts` of a line already read: that
   * moment's lines come again) or the last `tail` lines; a last line without a newline is given
   * when the stream ends, which it does when the container stops.
   */
  followLogs(id: string, opts: { since?: string; tail?: number }, onLine: (line: LogLine) => void): Promise<EngineStream>;
  /** Lifecycle events (start, die, destroy, ...) of hiy's containers. */
  containerEvents(onEvent: (e: ContainerEvent) => void): Promise<EngineStream>;
  /** Slow (seconds on a busy engine): sample rarely. */
  diskUsage(): Promise<EngineDiskUsage>;
  /**
   * Swarm only (absent on one engine): starts the node-stats agent on every node and follows its
   * readings, every `intervalSec` per node (swarm-node-stats.ts, decision 50).
   */
  followNodeStats?(intervalSec: number, onReading: (r: NodeReading) => void): Promise<EngineStream>;
  /** The platform this engine runs containers for: images for another one are refused (registry/platform.ts). */
  enginePlatform(): Promise<ImagePlatform>;
  /**
   * What a registry holds under `ref` (a tag or digest reference), asked through the engine
   * without pulling. Rejects with HiyError 'unauthorized' (a login is missing or refused),
   * 'not_found' (no such tag or repository) or 'unavailable' (the registry does not answer), with
   * the engine's words.
   */
  resolveImage(ref: string, auth?: RegistryAuth): Promise<RemoteImage>;
  /**
   * Pulls `ref` (give a digest reference: what was checked is what arrives), passing one line per
   * progress message to onLine. Rejects as resolveImage does, or with 'deploy_failed'.
   */
  pullImage(ref: string, opts: { auth?: RegistryAuth; onLine(line: string): void; signal: AbortSignal }): Promise<void>;
  /**
   * Loads the one image of a `docker save` archive, read as it streams, under `tag` and no other
   * name: names inside the archive are not applied, so an upload can never replace another
   * image. Rejects with 'invalid_input' for an archive that is not one saved image.
   */
  loadImage(archive: Readable, opts: { tag: string; onLine(line: string): void; signal: AbortSignal }): Promise<void>;
  /** A local image's platform, id and declared ports; undefined when there is no such image. */
  inspectImage(ref: string): Promise<ImageDetails | undefined>;
  /** Gives a local image one more name (`hiy/<app>:<tag>`). */
  tagImage(ref: string, tag: string): Promise<void>;
  /**
   * A regular file of an image's filesystem (an image's /app/Procfile), read without running the
   * image; undefined when it is not there. Refused with 'invalid_input' past maxBytes.
   */
  readImageFile(ref: string, path: string, opts: { app: string; maxBytes: number }): Promise<Buffer | undefined>;
}
