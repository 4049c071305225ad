import { Readable, Transform } from 'node:stream';
import { Hono } from 'hono';
import { HiyError } from '../../errors.js';
import type { Services } from '../../services.js';
import type { ApiEnv } from '../auth.js';
import { clientTrigger, pathApp } from '../body.js';

/**
 * A refused upload is still arriving: clients that send the whole body before they read the
 * answer (fetch's half duplex, curl) would see a reset instead of why. What follows is read and
 * thrown away, up to this much, before the answer; past it the connection is cut.
 */
const DISCARD = { bytes: 256 * 1024 * 1024, ms: 30_000 };

function discardRest(source: Readable): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0;
    const done = () => { clearTimeout(timer); resolve(); };
    const cut = () => { source.destroy(); done(); };
    const timer = setTimeout(cut, DISCARD.ms);
    source.on('data', (chunk: Buffer) => { seen += chunk.length; if (seen > DISCARD.bytes) cut(); });
    source.once('end', done);
    source.once('close', done);
    source.once('error', done);
    source.resume();
  });
}

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
    const who = clientTrigger(c);
    let id: number;
    try {
      id = await s.deployer.loadImage(app, counted, who, stop.signal);
    } catch (err) {
      await discardRest(source);
      throw err;
    }
    return c.json({ deploy: { id, app, status: 'queued', image: 'upload' } }, 202);
  });

  return r;
}
