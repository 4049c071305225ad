/**
 * Images from outside the box, on a Docker engine: what a registry holds (the engine's
 * distribution endpoint: digest and platforms, without pulling), pulls with a login and their
 * progress, loads of `docker save` archives under hiy's name, and what hiy reads from an image
 * (platform, declared ports, /app/Procfile). Logins go to the engine in the X-Registry-Auth
 * header of one call and nowhere else; errors carry the engine's words, never the request.
 */
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { extract as tarExtract } from 'tar-stream';
import { HiyError, type ErrorCode } from '../errors.js';
import { BuildProgress, followProgress, type BuildOutcome } from './build-progress.js';
import { engineError, engineMessage, statusOf, type Docker } from './docker-client.js';
import { renameSavedImage } from './image-archive.js';
import { hiyLabels, LABEL_PROCESS } from './labels.js';
import type { ImagePlatform, RegistryAuth, Runtime } from './runtime.js';

type Images = Pick<Runtime, 'enginePlatform' | 'resolveImage' | 'pullImage' | 'loadImage' | 'inspectImage' | 'tagImage' | 'readImageFile'>;

/** The engine's X-Registry-Auth: Docker Hub's login lives under its v1 index address. */
function authConfig(auth: RegistryAuth | undefined): Docker.AuthConfig | undefined {
  if (!auth) return undefined;
  const serveraddress = auth.server === 'docker.io' ? 'https://index.docker.io/v1/' : auth.server;
  return { username: auth.username, password: auth.password, serveraddress };
}

/** What a registry's refusal means, read from the engine's message (the status alone does not say). */
function registryError(message: string, status: number | undefined, what: string, cause?: unknown): HiyError {
  let code: ErrorCode = 'deploy_failed';
  if (status === 401 || status === 403 || /unauthorized|authentication required|no basic auth credentials|denied|forbidden|incorrect username or password/i.test(message)) code = 'unauthorized';
  else if (status === 404 || /manifest unknown|not found|name unknown|does not exist/i.test(message)) code = 'not_found';
  else if (/x509|certificate|tls:|connection refused|no such host|i\/o timeout|dial tcp|network is unreachable|server gave HTTP response to HTTPS/i.test(message)) code = 'unavailable';
  return new HiyError(code, `${what}: ${message}`, cause === undefined ? undefined : { cause });
}

/** Reads an engine progress stream (pull, load) to its end, one line per message to onLine. */
const follow = (res: IncomingMessage, onLine: (line: string) => void): Promise<BuildOutcome> => followProgress(res, new BuildProgress(onLine));

function platformOf(p: { os?: unknown; architecture?: unknown; variant?: unknown }): ImagePlatform {
  return {
    os: typeof p.os === 'string' ? p.os : '',
    architecture: typeof p.architecture === 'string' ? p.architecture : '',
    ...(typeof p.variant === 'string' && p.variant ? { variant: p.variant } : {}),
  };
}

export function dockerImages(docker: Docker, extraLabels: Record<string, string>): Images {
  let platform: Promise<ImagePlatform> | undefined;

  async function enginePlatform(): Promise<ImagePlatform> {
    const v = await docker.version().catch((err: unknown) => { throw engineError(err, 'asking the engine its platform'); });
    const base: ImagePlatform = { os: v.Os, architecture: v.Arch };
    if (v.Arch !== 'arm') return base;
    // 32-bit ARM: the variant (v6, v7) is in the kernel's name of the CPU.
    const info = (await docker.info()) as { Architecture?: string };
    const variant = /^armv(\d)/.exec(info.Architecture ?? '')?.[1];
    return variant ? { ...base, variant: `v${variant}` } : base;
  }

  return {
    enginePlatform: () => (platform ??= enginePlatform().catch((err: unknown) => { platform = undefined; throw err; })),

    async resolveImage(ref, auth) {
      let data: { Descriptor?: { digest?: unknown }; Platforms?: unknown[] };
      try {
        data = await docker.getImage(ref).distribution({ authconfig: authConfig(auth) }) as typeof data;
      } catch (err) {
        if (statusOf(err) === undefined) throw engineError(err, `asking the registry about ${ref}`);
        throw registryError(engineMessage(err), statusOf(err), `the registry refused ${ref}`, err);
      }
      const digest = data.Descriptor?.digest;
      if (typeof digest !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(digest)) throw new HiyError('deploy_failed', `the registry named no sha256 digest for ${ref}`);
      // buildx adds attestation manifests to an index as platform unknown/unknown: not images to run.
      const platforms = (data.Platforms ?? []).filter((p): p is Record<string, unknown> => typeof p === 'object' && p !== null).map(platformOf)
        .filter((p) => p.os && p.architecture && p.os !== 'unknown');
      return { digest, platforms };
    },

    async pullImage(ref, opts) {
      const at = ref.lastIndexOf('@');
      const colon = ref.lastIndexOf(':');
      // fromImage + tag: the engine takes a digest in `tag` too; dockerode's pull() would split a host:port wrongly.
      const [fromImage, tag] = at > 0 ? [ref.slice(0, at), ref.slice(at + 1)] : colon > ref.lastIndexOf('/') ? [ref.slice(0, colon), ref.slice(colon + 1)] : [ref, 'latest'];
      let res: IncomingMessage;
      try {
        res = await docker.createImage(authConfig(opts.auth) ?? {}, { fromImage, tag, abortSignal: opts.signal }) as IncomingMessage;
      } catch (err) {
        if (opts.signal.aborted) throw err;
        if (statusOf(err) === undefined) throw engineError(err, `pulling ${ref}`);
        throw registryError(engineMessage(err), statusOf(err), `pulling ${ref} failed`, err);
      }
      const onAbort = () => res.destroy();
      opts.signal.addEventListener('abort', onAbort, { once: true });
      try {
        const outcome = await follow(res, opts.onLine);
        if (outcome.error !== undefined) throw registryError(outcome.error, undefined, `pulling ${ref} failed`);
      } finally {
        opts.signal.removeEventListener('abort', onAbort);
      }
    },

    async loadImage(archive, opts) {
      // The upload's own failure (too large) or the rewrite's refusal says more than the
      // engine's "unexpected EOF" or the abort they cause.
      let refused: unknown;
      archive.once('error', (err) => { refused ??= err; });
      const renamed = renameSavedImage(archive, opts.tag);
      renamed.once('error', (err) => { refused ??= err; });
      let res: IncomingMessage;
      try {
        res = await docker.loadImage(renamed, { quiet: false, abortSignal: opts.signal } as object) as IncomingMessage;
      } catch (err) {
        if (refused) throw refused;
        throw engineError(err, 'loading the image', 'deploy_failed');
      }
      const onAbort = () => res.destroy();
      opts.signal.addEventListener('abort', onAbort, { once: true });
      let outcome: BuildOutcome;
      try {
        outcome = await follow(res, opts.onLine);
      } catch (err) {
        throw refused ?? err;
      } finally {
        opts.signal.removeEventListener('abort', onAbort);
      }
      if (refused) throw refused;
      if (outcome.error !== undefined) throw new HiyError('invalid_input', `the engine could not load the upload: ${outcome.error}`);
    },

    async inspectImage(ref) {
      let info: Docker.ImageInspectInfo & { Variant?: string };
      try {
        info = await docker.getImage(ref).inspect();
      } catch (err) {
        if (statusOf(err) === 404) return undefined;
        throw engineError(err, `inspecting image ${ref}`);
      }
      return {
        id: info.Id,
        platform: platformOf({ os: info.Os, architecture: info.Architecture, variant: info.Variant }),
        exposedPorts: Object.keys(info.Config?.ExposedPorts ?? {}).sort(),
      };
    },

    async tagImage(ref, tag) {
      const colon = tag.lastIndexOf(':');
      await docker.getImage(ref).tag({ repo: tag.slice(0, colon), tag: tag.slice(colon + 1) }).catch((err: unknown) => {
        if (statusOf(err) === 404) throw new HiyError('not_found', `image ${ref} is not on this engine`, { cause: err });
        throw engineError(err, `naming image ${ref} ${tag}`);
      });
    },

    async readImageFile(ref, path, opts) {
      // A container that is created, never started: the engine reads its files from the image's layers.
      let container: Docker.Container;
      try {
        container = await docker.createContainer({
          Image: ref,
          Entrypoint: ['/hiy-never-runs'],
          Cmd: [],
          NetworkDisabled: true,
          Labels: { ...hiyLabels(opts.app, extraLabels), [LABEL_PROCESS]: 'inspect' },
          HostConfig: { NetworkMode: 'none' },
        });
      } catch (err) {
        throw engineError(err, `reading ${path} of ${ref}`);
      }
      try {
        let tar: Readable;
        try {
          tar = await container.getArchive({ path }) as unknown as Readable;
        } catch (err) {
          if (statusOf(err) === 404) return undefined;
          throw engineError(err, `reading ${path} of ${ref}`);
        }
        return await firstFile(tar, path, opts.maxBytes);
      } finally {
        await container.remove({ force: true }).catch(() => undefined);
      }
    },
  };
}

/** The content of the archive's first entry when it is a regular file (a link or folder is not read). */
async function firstFile(tar: Readable, path: string, maxBytes: number): Promise<Buffer | undefined> {
  const extract = tarExtract();
  tar.on('error', (err) => extract.destroy(err));
  tar.pipe(extract);
  try {
    for await (const entry of extract) {
      if (entry.header.type !== 'file') return undefined;
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const c of entry) {
        size += (c as Buffer).length;
        if (size > maxBytes) throw new HiyError('invalid_input', `${path} in the image is larger than ${Math.round(maxBytes / 1024)} KB`);
        chunks.push(c as Buffer);
      }
      return Buffer.concat(chunks);
    }
    return undefined;
  } finally {
    tar.destroy();
  }
}
