import { Readable, Transform } from 'node:stream';
import { Hono } from 'hono';
import { HiyError } from '../../errors.js';
import type { Services } from '../../services.js';
import type { ApiEnv } from '../auth.js';
import { pathApp } from '../body.js';

/** The upload route: its body is a long stream (http/server.ts gives it the stream limits). */
export const IMAGE_UPLOAD_PATH = /^\/api\/v1\/apps\/[^/?]+\/images(?:\?|$)/;

/**
 * POST /api/v1/apps/:name/images: a `docker save` archive as the body (application/x-tar),
 * streamed into the engine as it arrives, never held in memory or spooled; past
 * HIY_IMAGE_UPLOAD_MAX_MB it is cut off (413) and nothing is loaded. The answer comes once the
 * image is loaded and its deploy queued.
 */
export function imageRoutes(s: Services): Hono<ApiEnv> {
  const r = new Hono<ApiEnv>();

  r.post('/:name/images', async (c) => {
    const app = (await pathApp(s.db, c)).name;
    const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/x-tar' && type !== 'application/octet-stream') {
      throw new HiyError('invalid_input', 'send the output of docker save as application/x-tar (docker save <image> | hiy images:load <app>)');
    }
    const max = s.config.imageUploadMaxMb * 1024 * 1024;
    const tooLarge = () => new HiyError('payload_too_large', `the upload is larger than ${s.config.imageUploadMaxMb} MB (HIY_IMAGE_UPLOAD_MAX_MB)`);
    if (Number(c.req.header('content-length') ?? '0') > max) throw tooLarge();
    const body = c.req.raw.body;
    if (!body) throw new HiyError('invalid_input', 'the upload is empty: docker save <image> | hiy images:load <app>');
    let size = 0;
    const counted = new Transform({
      transform(chunk: Buffer, _e, cb) {
        size += chunk.length;
        cb(size > max ? tooLarge() : null, chunk);
      },
    });
    const source = Readable.fromWeb(body as import('node:stream/web').ReadableStream<Uint8Array>);
    source.on('error', (err) => counted.destroy(err));
    source.pipe(counted);
    const stop = new AbortController();
    counted.once('error', () => stop.abort());
    const who = c.req.header('x-hiy-client') === 'cli' ? 'cli' : 'manual';
    const id = await s.deployer.loadImage(app, counted, who, stop.signal);
    return c.json({ deploy: { id, app, status: 'queued', image: 'upload' } }, 202);
  });

  return r;
}
