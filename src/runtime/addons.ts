/**
 * What hiy needs from the engine to run data services (add-ons: one Postgres or Redis server
 * each), in its own words. An add-on is one long-running container from a stock image, with its
 * data in its own named volume and a network of its own that no app is on; attaching it to an
 * app puts it on that app's network too, under its name. The engine objects' names and labels
 * are the adapter's business (docker-addons.ts).
 */
import type { Readable, Writable } from 'node:stream';

export interface AddonContainerSpec {
  /** The add-on's name: its host name on every network it joins, and what its objects are named after. */
  addon: string;
  image: string;
  /** Complete environment (the password included: plaintext only in memory and in the engine). */
  env: Record<string, string>;
  cmd: string[];
  /** The image's documented non-root user, uid:gid. */
  user: string;
  memoryMb: number;
  cpus: number;
  pidsLimit: number;
  /** Where the image keeps its data: the add-on's volume is mounted there. */
  dataPath: string;
  /** The root filesystem is read-only; these paths get a tmpfs (path → mount options). */
  tmpfs: Record<string, string>;
  /** What a stop waits for before it kills (a database flushing to disk). */
  stopTimeoutSec: number;
}

export interface AddonContainerInfo {
  id: string;
  name: string;
  addon: string;
  /** The image reference it was created from. */
  image: string;
  /** The image it runs, by id: tells whether the reference has moved on since (an upgrade). */
  imageId: string;
  /** The engine's word for it: created, running, restarting, exited, … */
  state: string;
  running: boolean;
  restartCount: number;
  startedAt: string | null;
  /** Apps whose network it is on. */
  apps: string[];
  /** The hiy (data dir) that made it. */
  instance: string | null;
}

/** A command run inside a running container; nothing goes through a shell unless `cmd` says so. */
export interface ExecOptions {
  cmd: string[];
  /** Fed to the command's stdin, then closed; without it stdin is closed at once. */
  stdin?: Readable;
  /** Where stdout goes; without it stdout is collected (up to 1 MiB) into the result. */
  stdout?: Writable;
  /** Killed (its stream cut) after this; a command that keeps running inside is the image's business. */
  timeoutSec?: number;
  signal?: AbortSignal;
}

export interface ExecResult {
  exitCode: number;
  /** Collected stdout when no sink was given. */
  stdout: string;
  /** The last 8 KiB of stderr. */
  stderr: string;
}

export interface AddonRuntime {
  /**
   * Creates and starts the add-on's hardened container on its own network (made when missing),
   * its volume (made when missing) mounted at dataPath. A container already there is a conflict.
   */
  runAddon(spec: AddonContainerSpec): Promise<AddonContainerInfo>;
  /** The add-on's container, running or not; undefined when there is none. */
  addonContainer(addon: string): Promise<AddonContainerInfo | undefined>;
  /** Every add-on container on the engine (of every hiy instance). */
  listAddonContainers(): Promise<AddonContainerInfo[]>;
  /** Puts the add-on on the app's network under its name (the app's network is made when missing); idempotent. */
  attachAddon(addon: string, app: string): Promise<void>;
  /** Takes it off the app's network; idempotent. */
  detachAddon(addon: string, app: string): Promise<void>;
  /** Removes the container and the add-on's network; its volume too (its data) only with `data`. */
  removeAddon(addon: string, opts: { data: boolean }): Promise<void>;
  /** Whether the add-on's volume exists (its data outlives the container). */
  addonVolumeExists(addon: string): Promise<boolean>;
  /** Runs a command in the add-on's running container, as its user, with its environment. */
  execAddon(addon: string, opts: ExecOptions): Promise<ExecResult>;
  /**
   * Runs a one-off container of `spec` on the add-on's volume, without any network and without a
   * restart policy, to its end (output lines to onLine), then removes it: `cmd` itself, not
   * through the image's entrypoint. For work on the data files while the add-on's own container
   * is stopped, and for asking an image which version it runs.
   */
  runAddonOnce(spec: AddonContainerSpec, opts: { timeoutSec: number; onLine(line: string): void }): Promise<{ exitCode: number; timedOut: boolean }>;
}
