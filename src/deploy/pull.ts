/**
 * The pull step of an image deploy, in place of the build: resolve the reference to a digest at
 * the registry (with the app's login for that registry), refuse an image built for another
 * platform before anything of it is fetched, pull exactly that digest with its progress in the
 * deploy's output, and name it `hiy/<app>:sha256-<hex>`, so retention and pruning treat it as they
 * treat a built image. Its process types come from the image's /app/Procfile, else its own
 * command runs as web.
 */
import type { Kysely } from 'kysely';
import type { App } from '../apps/repo.js';
import { parseProcfile, type Processes } from '../build/procfile.js';
import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import type { SecretBox } from '../env/secret-box.js';
import { HiyError, isHiyError } from '../errors.js';
import type { Logger } from '../log.js';
import { credentialsFor, type RegistryCredentials } from '../registry/logins.js';
import { platformName, requireRunnable } from '../registry/platform.js';
import { familiar, parseReference, repositoryOf, type ImageReference } from '../registry/reference.js';
import { imageTag } from '../runtime/builder.js';
import type { RegistryAuth, Runtime } from '../runtime/runtime.js';
import { diskReserveOf, withinDiskReserve } from './disk-reserve.js';
import type { DeployOutput } from './output.js';
import { setDeploySha } from './records.js';

export interface PullDeps {
  db: Kysely<Database>;
  config: Config;
  log: Logger;
  secrets: SecretBox;
  runtime: Runtime;
}

/** A new image for a release: where it came from, and what it runs. */
export interface MadeImage {
  image: string;
  processes: Processes;
  /** The git commit, or the image's digest. */
  sha: string;
  /** The reference it was pulled from ("upload" for images:load); null for a build. */
  imageRef: string | null;
}

/** An image's name on the box: hiy/<app>:sha256-<hex>, like a build's hiy/<app>:<commit>. */
export const digestTag = (app: string, digest: string): string => imageTag(app, digest.replace(':', '-'));

const PROCFILE = '/app/Procfile';
const MAX_PROCFILE = 64 * 1024;

export async function pullRelease(d: PullDeps, app: App, req: {
  deployId: number;
  reference: string;
  output: DeployOutput;
  signal?: AbortSignal | undefined;
  /** Adds a value the output must never show (the login's password). */
  protect(secret: string): void;
}): Promise<MadeImage> {
  const { output, runtime } = { output: req.output, runtime: d.runtime };
  const ref = parseReference(req.reference);
  const shown = familiar(ref);
  output.step(`Pulling ${shown}`);
  const login = await credentialsFor(d.db, d.secrets, ref.registry, app.name);
  if (login) req.protect(login.password);
  const auth: RegistryAuth | undefined = login ? { ...login, server: ref.registry } : undefined;
  output.detail(login ? `with the ${ref.registry} login of ${login.username}` : `without a login for ${ref.registry}`);

  const host = await runtime.enginePlatform();
  const remote = await runtime.resolveImage(`${repositoryOf(ref)}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`, auth)
    .catch((err: unknown) => { throw explain(err, ref, login); });
  const digest = ref.digest ?? remote.digest;
  requireRunnable(shown, remote.platforms, host);
  output.detail(`${digest}${remote.platforms.length ? `, built for ${[...new Set(remote.platforms.map(platformName))].join(', ')}` : ''}`);
  await setDeploySha(d.db, req.deployId, digest);

  const byDigest = `${repositoryOf(ref)}@${digest}`;
  const had = await runtime.imageExists(byDigest);
  const timeout = AbortSignal.timeout(d.config.buildTimeoutSec * 1000);
  try {
    await withinDiskReserve(await diskReserveOf(d.config, runtime), 'pull', (disk) => runtime.pullImage(byDigest, {
      ...(auth ? { auth } : {}),
      onLine: (l) => output.detail(l),
      signal: AbortSignal.any([timeout, disk, ...(req.signal ? [req.signal] : [])]),
    }));
  } catch (err) {
    if (timeout.aborted) throw new HiyError('deploy_failed', `the pull of ${shown} took longer than ${d.config.buildTimeoutSec} s and was stopped`, { cause: err });
    throw explain(err, ref, login);
  }
  const details = await runtime.inspectImage(byDigest);
  if (!details) throw new HiyError('deploy_failed', `${shown} is not on the engine after its pull`);
  const tag = digestTag(app.name, digest);
  try {
    // The registry's word was checked before the pull; the image's own configuration decides.
    requireRunnable(shown, [details.platform], host);
    await runtime.tagImage(byDigest, tag);
  } finally {
    // Only hiy's name keeps the image, so pruning can remove it once no release needs it.
    if (!had) await runtime.removeImage(byDigest).catch((err: unknown) => d.log.warn({ err, image: byDigest }, 'could not drop the pulled image\'s digest name'));
  }
  output.detail(`pulled as ${tag}`);
  portHint(app, details.exposedPorts, output);
  return { image: tag, processes: await imageProcesses(runtime, app, tag, output), sha: digest, imageRef: shown };
}

/** The process types of a new image: its /app/Procfile, else {} (its own command runs as web). */
export async function imageProcesses(runtime: Runtime, app: App, image: string, output: DeployOutput): Promise<Processes> {
  const file = await runtime.readImageFile(image, PROCFILE, { app: app.name, maxBytes: MAX_PROCFILE });
  if (!file) {
    output.detail(`no ${PROCFILE} in the image: its own command runs as web`);
    return {};
  }
  let processes: Processes;
  try {
    processes = parseProcfile(file.toString('utf8'));
  } catch (err) {
    if (isHiyError(err)) throw new HiyError('deploy_failed', `${PROCFILE} in the image: ${err.message}`, { cause: err });
    throw err;
  }
  output.detail(`${PROCFILE}: ${Object.keys(processes).join(', ') || 'no process types'}`);
  return processes;
}

/** A prebuilt image usually listens on a fixed port: say so when it is not the app's. */
function portHint(app: App, exposed: string[], output: DeployOutput): void {
  const tcp = exposed.filter((p) => p.endsWith('/tcp')).map((p) => Number(p.split('/')[0]));
  if (tcp.length === 1 && tcp[0] !== app.port) {
    output.detail(`the image declares port ${tcp[0]}, the app's port is ${app.port}; if it ignores $PORT: hiy update ${app.name} --port ${tcp[0]}`);
  }
}

/** The registry's refusal in the words of what to do about it. */
function explain(err: unknown, ref: ImageReference, login: RegistryCredentials | undefined): unknown {
  if (!isHiyError(err)) return err;
  const shown = familiar(ref);
  const where = ref.registry;
  switch (err.code) {
    case 'unauthorized':
      return new HiyError('deploy_failed', login
        ? `${where} refused the login of ${login.username} for ${shown} (${err.message}); check it with hiy registry:login ${where} --username ${login.username}; nothing was changed`
        : `${where} wants a login to pull ${shown}: hiy registry:login ${where} --username <user> (the password or token is read from stdin); nothing was changed`, { cause: err });
    case 'not_found':
      return new HiyError('deploy_failed', `${shown} was not found in ${where}: no such ${ref.digest ? 'digest' : ref.tag ? 'tag' : 'repository or tag latest'} (${err.message}); nothing was changed`, { cause: err });
    case 'unavailable':
      return new HiyError('deploy_failed', `the registry ${where} could not be reached (${err.message}); nothing was changed`, { cause: err });
    default:
      return err;
  }
}
