import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { APP_NAME_RE } from '../apps/names.js';
import { findApp, type App } from '../apps/repo.js';
import { addressKey } from '../client-address.js';
import { clientAddress, type TrustedProxies } from '../trusted-proxies.js';
import { processDelivery, type DeliveryDeps, type Reply } from './process-delivery.js';
import { MAX_NOTIFICATION_BYTES, processNotification, REGISTRY_HOOK_PREFIX } from './image-delivery.js';
import { BodyBudget, ClientGone, readBody, TooLarge } from './read-body.js';
import { getWebhookSecret } from './secrets.js';
import { HOOK_PREFIX } from './settings.js';

/** Every hook is under this path; each kind has its own prefix below it. */
export const HOOKS_PREFIX = '/hooks/';
/** GitHub caps payloads at 25 MB. */
export const MAX_BODY_BYTES = 25 * 1024 * 1024;
/**
 * Slow bodies must not starve deliveries. A body costs memory only for the bytes that arrived,
 * so what is bounded is (a) the bytes held by all bodies being read (BODY_MEMORY: 25 MB each must
 * not add up on a 4 GB Pi) and (b) how many bodies one client address (an IPv6 /64) may send at
 * once. Four connections trickling a byte every 2 s used to take all four global slots, and
 * signed pings got 503; now they hold nothing but their own address's slots, for at most
 * WEBHOOK_BODY_LIMITS.deadlineMs.
 */
const BODY_MEMORY = 64 * 1024 * 1024;
const MAX_PER_CLIENT = 2;
/** GitHub waits 10 s for an answer; a body still arriving after that is no delivery. */
export const WEBHOOK_BODY_LIMITS = { deadlineMs: 10_000, idleMs: 5_000 };
const DISCARD_MS = 2000;
const DISCARD_MAX_BYTES = 16 * 1024 * 1024;

export interface WebhookDeps extends DeliveryDeps {
  maxBodyBytes?: number;
  /** Whose forwarded client addresses count (HIY_TRUSTED_PROXIES): slow bodies are limited per client. */
  trusted: TrustedProxies;
}

type Process = (d: DeliveryDeps, app: App, secret: string, body: Buffer, headers: IncomingHttpHeaders) => Promise<Reply>;

/**
 * The hooks under /hooks/: `POST /hooks/github/<app>` (a GitHub push deploys the app, or for an
 * app whose source is a GHCR image, its registry_package event) and `POST /hooks/registry/<app>`
 * (hiy's own signed notification of a new image, image-delivery.ts). Both are signed with the
 * app's webhook secret and read with the same limits; the signature is checked over the raw body
 * before anything is parsed; the answer comes as soon as the deploy is queued (the fetch, the
 * build or the pull run in the queue), with the deploy id.
 */
export function createWebhookHandler(d: WebhookDeps) {
  const kinds: { prefix: string; maxBody: number; process: Process }[] = [
    { prefix: HOOK_PREFIX, maxBody: d.maxBodyBytes ?? MAX_BODY_BYTES, process: processDelivery },
    { prefix: REGISTRY_HOOK_PREFIX, maxBody: MAX_NOTIFICATION_BYTES, process: processNotification },
  ];
  const memory = new BodyBudget(BODY_MEMORY);
  const perClient = new Map<string, number>();

  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      const url = new URL(req.url ?? '/', 'http://hook');
      const kind = kinds.find((k) => url.pathname.startsWith(k.prefix));
      if (!kind) return answer(req, res, 404, { error: 'not found' });
      const { maxBody } = kind;
      const name = url.pathname.slice(kind.prefix.length);
      if (req.method !== 'POST') return answer(req, res, 405, { error: 'POST only' }, { allow: 'POST' });
      // Unknown app and app without a webhook look the same: no detail for a prober.
      const app = APP_NAME_RE.test(name) ? await findApp(d.db, name) : undefined;
      const secret = app ? await getWebhookSecret(d.db, d.secrets, app.name) : undefined;
      if (!app || !secret) return answer(req, res, 404, { error: 'not found' });

      const declared = Number(req.headers['content-length'] ?? '0');
      if (declared > maxBody) return answer(req, res, 413, { error: `payload larger than ${maxBody} bytes` });
      const header = (n: string) => { const v = req.headers[n]; return typeof v === 'string' ? v : undefined; };
      const client = addressKey(clientAddress(req.socket.remoteAddress, header, d.trusted) ?? 'unknown');
      const mine = perClient.get(client) ?? 0;
      if (mine >= MAX_PER_CLIENT) return answer(req, res, 429, { error: 'too many deliveries at once from your address' }, { 'retry-after': '5' });
      perClient.set(client, mine + 1);
      let body: Buffer;
      try {
        body = await readBody(req, maxBody, memory);
      } catch (err) {
        if (err instanceof TooLarge) return answer(req, res, 413, { error: `payload larger than ${maxBody} bytes` });
        if (err instanceof BodyBudget.Exhausted) return answer(req, res, 503, { error: 'busy; GitHub can redeliver this' }, { 'retry-after': '5' });
        throw err;
      } finally {
        const left = (perClient.get(client) ?? 1) - 1;
        if (left > 0) perClient.set(client, left);
        else perClient.delete(client);
      }
      const reply = await kind.process(d, app, secret, body, req.headers);
      answer(req, res, reply.status, reply.body);
    } catch (err) {
      // A body cut for being too slow (http-server.ts) or abandoned by its client: nobody to answer.
      if (err instanceof ClientGone) return d.log.debug({ url: req.url }, 'webhook body did not arrive');
      d.log.error({ err }, 'webhook delivery failed');
      if (!res.headersSent) answer(req, res, 500, { error: 'internal error' });
    }
  };
}

/** Codes of the API's error shape for the statuses a delivery can get (errors.ts has the rest). */
const ERROR_CODES: Record<number, string> = {
  400: 'bad_request', 401: 'unauthorized', 403: 'forbidden', 404: 'not_found', 405: 'method_not_allowed',
  409: 'conflict', 413: 'payload_too_large', 415: 'unsupported_media_type', 429: 'too_many_requests', 503: 'unavailable',
};

/**
 * A refusal in the API's error shape, {"error":{"code","message"}}, so one parser reads every
 * error hiy sends; `outcome` (what the deliveries list records) stays next to it.
 */
export function deliveryBody(status: number, body: Record<string, unknown>): Record<string, unknown> {
  if (status < 400) return body;
  const { ok: _ok, error, ...rest } = body;
  const message = typeof error === 'string' ? error : typeof rest.outcome === 'string' ? rest.outcome : 'refused';
  return { error: { code: ERROR_CODES[status] ?? 'internal', message }, ...rest };
}

function answer(req: IncomingMessage, res: ServerResponse, status: number, body: Record<string, unknown>, headers: Record<string, string> = {}): void {
  const text = `${JSON.stringify(deliveryBody(status, body))}\n`;
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
