import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Kysely } from 'kysely';
import { APP_NAME_RE } from '../apps/names.js';
import { findApp, type App } from '../apps/repo.js';
import type { Database } from '../db/database.js';
import type { QueuedDeploy } from '../deploy/queue.js';
import type { DeployTrigger } from '../deploy/table.js';
import type { SecretBox } from '../env/secret-box.js';
import { isHiyError } from '../errors.js';
import type { Logger } from '../log.js';
import { claimDelivery, finishDelivery, recordDelivery } from './deliveries.js';
import type { RepoMirror } from './mirror.js';
import { decidePush } from './payload.js';
import { readBody, TooLarge } from './read-body.js';
import { getWebhookSecret } from './secrets.js';
import { verifySignature, type SignatureCheck } from './signature.js';

export const HOOK_PREFIX = '/hooks/github/';
/** GitHub caps payloads at 25 MB. */
export const MAX_BODY_BYTES = 25 * 1024 * 1024;
/** Bodies read at once: 25 MB each must not add up on a 4 GB Pi. */
const MAX_IN_FLIGHT = 4;
const DISCARD_MS = 2000;
const DISCARD_MAX_BYTES = 16 * 1024 * 1024;
const DELIVERY_RE = /^[A-Za-z0-9-]{1,100}$/;

export interface WebhookDeps {
  db: Kysely<Database>;
  secrets: SecretBox;
  log: Logger;
  mirror: RepoMirror;
  enqueueBuild(app: string, sha: string, trigger: DeployTrigger, source: () => import('node:stream').Readable): Promise<QueuedDeploy>;
  /** Injected by tests to prove what is (not) hashed. */
  verify?: typeof verifySignature;
  maxBodyBytes?: number;
}

/**
 * `POST /hooks/github/<app>`: a GitHub push deploys the app. The signature is checked over the
 * raw body before anything is parsed; the answer comes as soon as the deploy is queued (the
 * fetch and the build run in the queue), with the deploy id GitHub shows in its delivery log.
 */
export function createWebhookHandler(d: WebhookDeps) {
  const verify = d.verify ?? verifySignature;
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
      await handleSigned(app, secret, body, req, res);
    } catch (err) {
      d.log.error({ err }, 'webhook delivery failed');
      if (!res.headersSent) answer(req, res, 500, { error: 'internal error' });
    }
  };

  async function handleSigned(app: App, secret: string, body: Buffer, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const header = (k: string) => { const v = req.headers[k]; return typeof v === 'string' ? v : undefined; };
    const rawDelivery = header('x-github-delivery');
    const deliveryId = rawDelivery && DELIVERY_RE.test(rawDelivery) ? rawDelivery : null;
    const event = header('x-github-event')?.slice(0, 50) ?? null;
    const base = { app: app.name, deliveryId, event };

    const check: SignatureCheck = verify(secret, body, req.headers['x-hub-signature-256']);
    if (check !== 'ok') {
      const why = check === 'missing' ? 'missing X-Hub-Signature-256' : 'bad signature';
      await recordDelivery(d.db, { ...base, outcome: `rejected: ${why}` });
      d.log.warn({ event: 'webhook_rejected', app: app.name, delivery: deliveryId, reason: why }, 'webhook delivery rejected');
      return answer(req, res, 401, { error: why });
    }
    if (!deliveryId || !event) {
      await recordDelivery(d.db, { ...base, outcome: 'rejected: missing X-GitHub-Delivery or X-GitHub-Event' });
      return answer(req, res, 400, { error: 'X-GitHub-Delivery and X-GitHub-Event are required' });
    }
    if (event === 'ping') {
      await recordDelivery(d.db, { ...base, outcome: 'ping' });
      return answer(req, res, 200, { ok: true, outcome: 'ping' });
    }
    const type = (header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json') {
      await recordDelivery(d.db, { ...base, outcome: 'rejected: content type is not application/json' });
      return answer(req, res, 415, { error: 'set the webhook\'s content type to application/json' });
    }
    let payload: unknown;
    try {
      payload = JSON.parse(body.toString('utf8'));
    } catch {
      await recordDelivery(d.db, { ...base, outcome: 'rejected: body is not JSON' });
      return answer(req, res, 400, { error: 'body is not JSON' });
    }

    const decision = decidePush(app, event, payload);
    const seen = decision.deploy ? { ref: decision.ref, afterSha: decision.sha } : { ref: decision.ref ?? null, afterSha: decision.sha ?? null };
    const id = await claimDelivery(d.db, { ...base, ...seen, outcome: 'received' });
    if (id === undefined) {
      await recordDelivery(d.db, { ...base, ...seen, outcome: 'duplicate' });
      return answer(req, res, 200, { ok: true, outcome: 'duplicate' });
    }
    if (!decision.deploy) {
      await finishDelivery(d.db, id, decision.outcome);
      return answer(req, res, decision.status, { ok: decision.status < 300, outcome: decision.outcome });
    }

    const newer = decision.forced ? undefined : await d.mirror.isStale(app, decision.sha);
    if (newer) {
      const outcome = `ignored: older than ${app.branch} at ${newer.slice(0, 7)}`;
      await finishDelivery(d.db, id, outcome);
      return answer(req, res, 200, { ok: true, outcome });
    }
    try {
      const q = await enqueue(app, decision.sha, decision.forced);
      const outcome = `deployed #${q.deployId}`;
      await finishDelivery(d.db, id, outcome, q.deployId);
      d.log.info({ app: app.name, delivery: deliveryId, sha: decision.sha, deploy: q.deployId }, 'webhook push queued a deploy');
      return answer(req, res, 202, { ok: true, outcome, deploy_id: q.deployId });
    } catch (err) {
      const message = isHiyError(err) ? err.message : 'internal error';
      await finishDelivery(d.db, id, `error: ${message}`);
      throw err;
    }
  }

  async function enqueue(app: App, sha: string, forced: boolean): Promise<QueuedDeploy> {
    // The job's output exists once it is queued; the fetch (in the job) waits for it.
    let bind!: (q: QueuedDeploy) => void;
    const queued = new Promise<QueuedDeploy>((r) => { bind = r; });
    const source = d.mirror.source(app.name, sha, async (signal) => {
      const q = await queued;
      await d.mirror.fetchPush(app, sha, { forced, signal, say: (line) => q.output.step(line) });
    });
    const q = await d.enqueueBuild(app.name, sha, 'webhook', source);
    bind(q);
    return q;
  }
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
