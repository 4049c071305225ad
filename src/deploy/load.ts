/**
 * An uploaded image (`docker save … | hiy images:load <app>`), loaded as it streams in, before its
 * deploy is queued: the upload cannot wait in the queue. It is loaded under a name of its
 * deploy's, checked for this box's platform, then named hiy/<app>:sha256-<image id> like a pulled
 * image. A refused upload leaves nothing on the engine and a failed deploy with its log.
 */
import type { Readable } from 'node:stream';
import type { Kysely } from 'kysely';
import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import { isHiyError } from '../errors.js';
import type { Logger } from '../log.js';
import { requireRunnable } from '../registry/platform.js';
import { imageTag } from '../runtime/builder.js';
import type { Runtime } from '../runtime/runtime.js';
import { diskReserveOf, withinDiskReserve } from './disk-reserve.js';
import type { DeployOutput } from './output.js';
import { digestTag } from './pull.js';
import { markFinished, setDeploySha } from './records.js';

/** What image deploys of uploads record as their reference. */
export const UPLOAD_REF = 'upload';

export async function loadUpload(
  d: { db: Kysely<Database>; config: Config; log: Logger; runtime: Runtime },
  app: string, deployId: number, archive: Readable, output: DeployOutput, signal: AbortSignal,
): Promise<{ image: string; digest: string }> {
  const loading = imageTag(app, `upload-${deployId}`);
  try {
    output.step('Loading the uploaded image');
    await withinDiskReserve(await diskReserveOf(d.config, d.runtime), 'upload', (disk) =>
      d.runtime.loadImage(archive, { tag: loading, onLine: (l) => output.detail(l), signal: AbortSignal.any([signal, disk]) }));
    const details = await d.runtime.inspectImage(loading);
    if (!details) throw new Error(`${loading} is not on the engine after its load`);
    requireRunnable('the uploaded image', [details.platform], await d.runtime.enginePlatform());
    const image = digestTag(app, details.id);
    await d.runtime.tagImage(loading, image);
    await setDeploySha(d.db, deployId, details.id);
    output.detail(`loaded ${details.id} as ${image}`);
    return { image, digest: details.id };
  } catch (err) {
    const message = isHiyError(err) ? err.message : 'internal error (see the server log)';
    if (!isHiyError(err)) d.log.error({ err, app, deploy: deployId }, 'loading an uploaded image failed');
    output.line(` !     Deploy failed: ${message}`);
    await output.flush();
    await markFinished(d.db, deployId, 'failed', message, output.text());
    throw err;
  } finally {
    // Its own name (hiy/<app>:sha256-…) or nothing keeps the image.
    await d.runtime.removeImage(loading).catch((err: unknown) => d.log.warn({ err, image: loading }, 'could not drop the upload\'s loading name'));
  }
}
