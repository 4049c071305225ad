/**
 * The nodes' registry as the rest of hiy uses it: started with the first `hiy nodes:add` (and at
 * every start after that: its config file says nodes were added, so a one-node box never loads
 * the engine client or starts anything for it), trusted by this box's engine, and the one place
 * that pushes app images for other nodes and prunes them with the releases' retention.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { Config } from '../config.js';
import type { SecretBox } from '../env/secret-box.js';
import type { Logger } from '../log.js';
import type { Cluster } from '../runtime/cluster.js';
import { prepareRegistry, registryFiles, REGISTRY_USER, type PreparedRegistry } from './registry-files.js';
import { RegistryServer } from './registry-server.js';

export interface NodeRegistryDeps {
  config: Config;
  secrets: SecretBox;
  log: Logger;
  cluster(): Promise<Cluster>;
}

export interface RunningRegistry {
  /** host:port the nodes pull from. */
  address: string;
  caPem: string;
}

export class NodeRegistry {
  private running: Promise<{ prepared: PreparedRegistry; server: RegistryServer }> | undefined;

  constructor(private readonly d: NodeRegistryDeps) {}

  /** Whether nodes were ever added on this box. */
  wanted(): boolean {
    return existsSync(registryFiles(this.d.config.dataDir).config);
  }

  /** Prepares and starts the registry once; later calls answer the running one. */
  async ensure(): Promise<RunningRegistry> {
    this.running ??= this.start().catch((err: unknown) => {
      this.running = undefined;
      throw err;
    });
    const { prepared } = await this.running;
    return { address: prepared.address, caPem: prepared.caPem };
  }

  /** Pushes a local image as hiy/<app>:<tag>; answers the digest reference the nodes pull. */
  async push(image: string, app: string, tag: string): Promise<string> {
    const { prepared } = await this.started();
    return (await this.d.cluster()).pushImage(image, { registry: prepared.address, repository: `hiy/${app}`, tag, username: REGISTRY_USER, password: prepared.password });
  }

  /** Deletes the app's tags not in `keep` and collects their blobs (the releases' retention). */
  async prune(app: string, keep: Set<string>): Promise<string[]> {
    const { server } = await this.started();
    return server.prune(`hiy/${app}`, keep);
  }

  /** The registry login nodes (and Swarm services) pull with. */
  async login(): Promise<{ registry: string; username: string; password: string }> {
    // The files only: a service update (scaling, stopping) must not wait on the registry process.
    await this.ensure();
    const { prepared } = await this.running!;
    return { registry: prepared.address, username: REGISTRY_USER, password: prepared.password };
  }

  async stop(): Promise<void> {
    const running = this.running;
    this.running = undefined;
    if (running) await (await running.catch(() => undefined))?.server.stop();
  }

  /** The running registry; one that exited since (killed, crashed) is started again. */
  private async started(): Promise<{ prepared: PreparedRegistry; server: RegistryServer }> {
    await this.ensure();
    const running = await this.running!;
    if (!running.server.running) {
      this.d.log.warn('the nodes\' registry had stopped: starting it again');
      await running.server.start();
    }
    return running;
  }

  private async start(): Promise<{ prepared: PreparedRegistry; server: RegistryServer }> {
    const c = this.d.config.nodeRegistry;
    const host = c.host ?? (await (await this.d.cluster()).join()).address.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
    // Bound to the address the nodes dial when that is an IP address, so nothing else listens.
    const listen = isIP(host) === 4 ? `${host}:${c.port}` : isIP(host) === 6 ? `[${host}]:${c.port}` : `:${c.port}`;
    const prepared = await prepareRegistry(this.d.config.dataDir, this.d.secrets, host, c.port, listen);
    const server = new RegistryServer(prepared, this.d.log.child({ part: 'node-registry' }));
    await server.start();
    await this.trustHere(prepared);
    this.d.log.info({ address: prepared.address }, 'the nodes\' registry is serving');
    return { prepared, server };
  }

  /** This box's engine pushes over TLS too: it must trust the CA (certs.d/<host:port>/ca.crt). */
  private async trustHere(p: PreparedRegistry): Promise<void> {
    const dir = join(this.d.config.nodeRegistry.certsDir, p.address);
    try {
      await mkdir(dir, { recursive: true, mode: 0o755 });
      await writeFile(join(dir, 'ca.crt'), p.caPem, { mode: 0o644 });
    } catch (err) {
      this.d.log.warn({ err, dir }, `could not make this engine trust the nodes' registry: put ${p.files.caCert} at ${join(dir, 'ca.crt')} as root`);
    }
  }
}

export interface RegistryImages {
  /** Pushes hiy/<app>:<tag> once; answers the digest reference the nodes pull (other images: as they are). */
  publishImage(ref: string): Promise<{ ref: string }>;
  /** The login for an image of the nodes' registry; undefined for any other image (it never leaves for another registry). */
  registryAuth(image: string): Promise<{ username: string; password: string; serveraddress: string } | undefined>;
  /** Deletes the app's tags whose image refs are not in `keep` and collects their blobs; answers how many went. */
  prunePublished(app: string, keep: Set<string>): Promise<number>;
}

const HIY_IMAGE = /^hiy\/([a-z0-9][a-z0-9-]*):([\w][\w.-]*)$/;

/**
 * How the Swarm runtime gets an image to the nodes (swarm-runtime.ts): pushed once per image as
 * hiy/<app>:<tag>, pulled by digest with the registry's login, which Swarm hands to the node that
 * runs the task. An image not named hiy/<app>:<tag> is left as it is.
 */
export function registryImages(registry: NodeRegistry): RegistryImages {
  const pushed = new Map<string, Promise<string>>();
  return {
    async publishImage(ref) {
      const m = HIY_IMAGE.exec(ref);
      if (!m) return { ref };
      let p = pushed.get(ref);
      if (!p) {
        p = registry.push(ref, m[1]!, m[2]!);
        p.catch(() => pushed.delete(ref));
        pushed.set(ref, p);
      }
      return { ref: await p };
    },

    async registryAuth(image) {
      if (!registry.wanted()) return undefined;
      const login = await registry.login();
      if (!image.startsWith(`${login.registry}/`)) return undefined;
      return { username: login.username, password: login.password, serveraddress: login.registry };
    },

    async prunePublished(app, keep) {
      const tags = new Set([...keep].flatMap((ref) => {
        const m = HIY_IMAGE.exec(ref);
        return m && m[1] === app ? [m[2]!] : [];
      }));
      const removed = await registry.prune(app, tags);
      // A deleted tag pushed again (hiy keeps no such release, but an image deploy may bring it back) is a new push.
      for (const tag of removed) pushed.delete(`hiy/${app}:${tag}`);
      return removed.length;
    },
  };
}
