/**
 * Pushing an image hiy built (or loaded) to the nodes' registry, so other nodes can pull it: the
 * engine tags it `<registry>/<repository>:<tag>`, pushes with the registry's login (never written
 * to disk: an X-Registry-Auth header per push) and answers the digest reference a node pulls.
 */
import { HiyError } from '../errors.js';
import type { PushTarget } from './cluster.js';
import { engineError, type Docker } from './docker-client.js';

interface PushEvent { status?: string; error?: string; errorDetail?: { message?: string }; aux?: { Digest?: string } }

export async function pushImage(docker: Docker, image: string, to: PushTarget): Promise<string> {
  const repo = `${to.registry}/${to.repository}`;
  const ref = `${repo}:${to.tag}`;
  await docker.getImage(image).tag({ repo, tag: to.tag }).catch((err: unknown) => { throw engineError(err, `tag ${image} as ${ref}`, 'deploy_failed'); });
  try {
    const stream = await docker.getImage(ref).push({ authconfig: { username: to.username, password: to.password, serveraddress: to.registry } });
    const events = await new Promise<PushEvent[]>((resolve, reject) => docker.modem.followProgress(stream, (err: Error | null, out: PushEvent[]) => (err ? reject(err) : resolve(out))));
    const failed = events.find((e) => e.error || e.errorDetail?.message);
    if (failed) throw new HiyError('deploy_failed', `push of ${ref} failed: ${failed.errorDetail?.message ?? failed.error}`);
    const digest = events.map((e) => e.aux?.Digest).find((d): d is string => typeof d === 'string' && /^sha256:[0-9a-f]{64}$/.test(d));
    if (!digest) throw new HiyError('deploy_failed', `push of ${ref} reported no digest`);
    return `${repo}@${digest}`;
  } catch (err) {
    if (err instanceof HiyError) throw err;
    throw engineError(err, `push ${ref}`, 'deploy_failed');
  } finally {
    // The registry's name is only the push's: the image keeps hiy's own name on this engine.
    await docker.getImage(ref).remove({ noprune: true }).catch(() => undefined);
  }
}
