import type { IncomingMessage, ServerResponse } from 'node:http';
import { APP_NAME_RE } from '../apps/names.js';
import { findApp } from '../apps/repo.js';
import { processDelivery, type DeliveryDeps } from './process-delivery.js';
import { readBody, TooLarge } from './read-body.js';
import { getWebhookSecret } from './secrets.js';
import { HOOK_PREFIX } from './settings.js';
/** GitHub caps payloads at 25 MB. */
export const MAX_BODY_BYTES = 25 * 1024 * 1024;
/** Bodies read at once: 25 MB each must not add up on a 4 GB Pi. */
const MAX_IN_FLIGHT = 4;
const DISCARD_MS = 2000;
const DISCARD_MAX_BYTES = 16 * 1024 * 1024;

export interface WebhookDeps extends DeliveryDeps {
  maxBodyBytes?: number;
}

/**
 * `POST /hooks/github/<app>`: a GitHub push deploys the app. The signature is checked over the
 * raw body before anything is parsed; the answer comes as soon as the deploy is queued (the
 * fetch and the build run in the queue), with the deploy id GitHub shows in its delivery log.
 */
export function createWebhookHandler(d: WebhookDeps) {
  const maxBody = d.maxBodyBytes ?? MAX_BODY_BYTES;
  let inFlight = 0;

  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      const url = new URL(req.url ?? '/', 'http://hook');
      const name = url.pathname.slice(HOOK_PREFIX.length);
      if (req.method !== 'POST') return answer(req, res, 405, { error: 'POST only' }, { allow: 'POST' });
      // Unknown app and app without a webhook look the same: no detail for a prober.
      const app = APP_NAME_RE.test(name) ? await findApp(d.db, name) : undefined;
      const secret = app ? await getWebhookSecret(d.db, d.secrets, app.name) : undefined;
      if (!app || !secret) return answer(req, res, 404, { error: 'not found' });

      const declared = Number(req.headers['content-length'] ?? '0');
      if (declared > maxBody) return answer(req, res, 413, { error: `payload larger than ${maxBody} bytes` });
      if (inFlight >= MAX_IN_FLIGHT) return answer(req, res, 503, { error: 'busy; GitHub can redeliver this' }, { 'retry-after': '5' });
      inFlight++;
      let body: Buffer;
      try {
        body = await readBody(req, maxBody);
      } catch (err) {
        if (err instanceof TooLarge) return answer(req, res, 413, { error: `payload larger than ${maxBody} bytes` });
        throw err;
      } finally {
        inFlight--;
      }
      const reply = await processDelivery(d, app, secret, body, req.headers);
      answer(req, res, reply.status, reply.body);
    } catch (err) {
      d.log.error({ err }, 'webhook delivery failed');
      if (!res.headersSent) answer(req, res, 500, { error: 'internal error' });
    }
  };
}

function answer(req: IncomingMessage, res: ServerResponse, status: number, body: object, headers: Record<string, string> = {}): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
  if (!req.readableEnded) discardRest(req);
}

/**
 * A body refused before it was read (413, 404): the client is most likely still sending it. Cutting
 * the connection at once would reset it before it reads the answer, so what follows is read and
 * thrown away (never hashed, never kept) for a short while, then the connection is closed.
 */
function discardRest(req: IncomingMessage): void {
  let discarded = 0;
  const close = () => req.socket.destroy();
  const timer = setTimeout(close, DISCARD_MS);
  req.on('data', (c: Buffer) => {
    discarded += c.length;
    if (discarded > DISCARD_MAX_BYTES) close();
  });
  req.once('end', () => clearTimeout(timer));
  req.once('close', () => clearTimeout(timer));
  req.resume();
}
