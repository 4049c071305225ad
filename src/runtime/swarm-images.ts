/**
 * Getting an image built on this box to the other nodes' engines without a registry: `docker
 * save` here, `docker load` there, through engine addresses hiy can reach
 * (HIY_SWARM_NODE_ENGINES). Meant for tests and labs, where every node's engine socket is on this
 * machine; a real multi-box Swarm gets images through the registry on the primary box instead.
 */
import type { Readable } from 'node:stream';
import type { Logger } from '../log.js';
import { connectDocker, engineError, statusOf, type Docker } from './docker-client.js';
import type { PublishedImage } from './swarm-runtime.js';

export function copyImagesToEngines(log: Logger, docker: Docker, engines: string[]): (ref: string) => Promise<PublishedImage> {
  const nodes = engines.map((host) => ({ host, docker: connectDocker(host) }));
  const copied = new Map<string, Promise<void>>();

  async function hasImage(d: Docker, ref: string, id: string): Promise<boolean> {
    try {
      return (await d.getImage(ref).inspect()).Id === id;
    } catch (err) {
      if (statusOf(err) === 404) return false;
      throw err;
    }
  }

  async function copy(ref: string): Promise<void> {
    const { Id: id } = await docker.getImage(ref).inspect();
    for (const node of nodes) {
      if (await hasImage(node.docker, ref, id)) continue;
      const archive = (await docker.getImage(ref).get()) as unknown as Readable;
      const res = (await node.docker.loadImage(archive)) as unknown as Readable;
      await new Promise<void>((resolve, reject) => { res.on('error', reject); res.on('end', resolve); res.resume(); });
      log.info({ image: ref, engine: node.host }, 'copied image to a node');
    }
  }

  return async (ref) => {
    let p = copied.get(ref);
    if (!p) {
      p = copy(ref).catch((err: unknown) => {
        copied.delete(ref);
        throw engineError(err, `copying image ${ref} to the nodes`, 'deploy_failed');
      });
      copied.set(ref, p);
    }
    await p;
    return { ref };
  };
}
