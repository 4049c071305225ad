/**
 * Signed notifications that deploy an image: hiy's own (`POST /hooks/registry/<app>`, signed
 * with the app's webhook secret in X-Hiy-Signature-256) and GitHub's registry_package event
 * (through process-delivery.ts). Both are recorded with the GitHub deliveries and deduplicated
 * the same way: a signed body is claimed once, so a replay deploys nothing; hiy's own also carry
 * a signed timestamp, so a captured one is refused once it is older than five minutes.
 */
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { App } from '../apps/repo.js';
import { sourceOf } from '../apps/source.js';
import { claimOnce } from './claim.js';
import { recordDelivery, type NewDelivery } from './deliveries.js';
import { decideNotification, type ImageDecision } from './image-payload.js';
import type { DeliveryDeps, Reply } from './delivery-deps.js';
import { verifySignature } from './signature.js';

/** Where notifications are POSTed: <public URL>/hooks/registry/<app>. */
export const REGISTRY_HOOK_PREFIX = '/hooks/registry/';
/** A notification is a few hundred bytes. */
export const MAX_NOTIFICATION_BYTES = 64 * 1024;
export const SIGNATURE_HEADER = 'x-hiy-signature-256';
const DELIVERY_RE = /^[A-Za-z0-9-]{1,100}$/;

type Base = Pick<NewDelivery, 'app' | 'deliveryId' | 'event'>;

export async function processNotification(d: DeliveryDeps, app: App, secret: string, body: Buffer, headers: IncomingHttpHeaders, nowS = Math.floor(Date.now() / 1000)): Promise<Reply> {
  const rawId = headers['x-hiy-delivery'];
  const base: Base = { app: app.name, deliveryId: typeof rawId === 'string' && DELIVERY_RE.test(rawId) ? rawId : null, event: 'registry' };
  const reject = async (status: number, outcome: string, error: string): Promise<Reply> => {
    await recordDelivery(d.db, { ...base, outcome });
    return { status, body: { error } };
  };
  // Nothing of the body is looked at before this.
  const check = (d.verify ?? verifySignature)(secret, body, headers[SIGNATURE_HEADER]);
  if (check !== 'ok') {
    const why = check === 'missing' ? 'missing X-Hiy-Signature-256' : 'bad signature';
    d.log.warn({ event: 'webhook_rejected', app: app.name, hook: 'registry', reason: why }, 'registry notification rejected');
    return reject(401, `rejected: ${why}`, why);
  }
  const source = sourceOf(app);
  if (source.kind !== 'image') return reject(409, 'rejected: the app deploys from git', `${app.name} deploys from git; set its source to an image first (hiy update ${app.name} --source image:<repository>)`);
  let payload: unknown;
  try {
    payload = JSON.parse(body.toString('utf8'));
  } catch {
    return reject(400, 'rejected: body is not JSON', 'body is not JSON');
  }
  const decision = decideNotification(source, payload, nowS);
  // A stale or malformed notification claims nothing: a fresh, valid one with the same body could not deploy otherwise.
  if (!decision.deploy && decision.status >= 400) return reject(decision.status, decision.outcome, decision.outcome.replace(/^rejected: /, ''));
  return actOnImageDecision(d, app, base, decision, createHash('sha256').update(body).digest('hex'));
}

/** Claims the signed body (a replay is a duplicate), then deploys what the decision says, recording the outcome. */
export async function actOnImageDecision(d: DeliveryDeps, app: App, base: Base, decision: ImageDecision, bodySha256: string): Promise<Reply> {
  const seen = { ref: decision.tag ?? null, afterSha: decision.digest ?? null };
  const claim = await claimOnce(d.db, { ...base, ...seen, outcome: 'received', bodySha256 });
  if ('duplicate' in claim) return claim.duplicate;
  if (!decision.deploy) return claim.done(decision.status, decision.outcome);
  return claim.deploy(async () => {
    const q = await d.enqueuePull(app.name, decision.reference, 'webhook');
    d.log.info({ app: app.name, delivery: base.deliveryId, hook: base.event, image: decision.reference, deploy: q.deployId }, 'image notification queued a deploy');
    return q;
  });
}
