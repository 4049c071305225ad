import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { App } from '../apps/repo.js';
import type { Prepare } from '../deploy/pipeline.js';
import type { QueuedDeploy } from '../deploy/queue.js';
import { recordDelivery, type NewDelivery } from './deliveries.js';
import { claimOnce } from './claim.js';
import { decidePush } from './payload.js';
import { sourceOf } from '../apps/source.js';
import { actOnImageDecision } from './image-delivery.js';
import type { DeliveryDeps, Reply } from './delivery-deps.js';
import { decideRegistryPackage } from './image-payload.js';
import { verifySignature } from './signature.js';

export type { DeliveryDeps, Reply } from './delivery-deps.js';

const DELIVERY_RE = /^[A-Za-z0-9-]{1,100}$/;
const EVENT_RE = /^[a-z_]{1,50}$/;
type Base = Pick<NewDelivery, 'app' | 'deliveryId' | 'event'>;

/**
 * What hiy does with one delivery of a configured app, body read in full: verify, then parse,
 * then decide, dedupe and queue. Every outcome is recorded and becomes the answer to GitHub.
 */
export async function processDelivery(d: DeliveryDeps, app: App, secret: string, body: Buffer, headers: IncomingHttpHeaders): Promise<Reply> {
  const header = (k: string) => { const v = headers[k]; return typeof v === 'string' ? v : undefined; };
  const rawDelivery = header('x-github-delivery');
  const base: Base = {
    app: app.name,
    deliveryId: rawDelivery && DELIVERY_RE.test(rawDelivery) ? rawDelivery : null,
    // Recorded before the signature is checked, so only shapes that are safe to print are kept.
    event: EVENT_RE.test(header('x-github-event') ?? '') ? header('x-github-event')! : null,
  };
  const reject = async (status: number, outcome: string, error: string): Promise<Reply> => {
    await recordDelivery(d.db, { ...base, outcome });
    return { status, body: { error } };
  };

  // Nothing of the body is looked at before this.
  const check = (d.verify ?? verifySignature)(secret, body, headers['x-hub-signature-256']);
  if (check !== 'ok') {
    const why = check === 'missing' ? 'missing X-Hub-Signature-256' : 'bad signature';
    d.log.warn({ event: 'webhook_rejected', app: app.name, delivery: base.deliveryId, reason: why }, 'webhook delivery rejected');
    return reject(401, `rejected: ${why}`, why);
  }
  if (!base.deliveryId || !base.event) return reject(400, 'rejected: missing X-GitHub-Delivery or X-GitHub-Event', 'X-GitHub-Delivery and X-GitHub-Event are required');
  if (base.event === 'ping') {
    await recordDelivery(d.db, { ...base, outcome: 'ping' });
    return { status: 200, body: { ok: true, outcome: 'ping' } };
  }
  if ((header('content-type') ?? '').split(';')[0]!.trim().toLowerCase() !== 'application/json') {
    return reject(415, 'rejected: content type is not application/json', 'set the webhook\'s content type to application/json');
  }
  let payload: unknown;
  try {
    payload = JSON.parse(body.toString('utf8'));
  } catch {
    return reject(400, 'rejected: body is not JSON', 'body is not JSON');
  }
  return actOnEvent(d, app, base as Base & { event: string }, payload, createHash('sha256').update(body).digest('hex'));
}

async function actOnEvent(d: DeliveryDeps, app: App, base: Base & { event: string }, payload: unknown, bodySha256: string): Promise<Reply> {
  const source = sourceOf(app);
  // An app that deploys images hears of new ones from GHCR's registry_package event; pushes do not deploy it.
  if (source.kind === 'image') return actOnImageDecision(d, app, base, decideRegistryPackage(source, base.event, payload), bodySha256);
  const decision = decidePush(app, base.event, payload);
  const seen = decision.deploy ? { ref: decision.ref, afterSha: decision.sha } : { ref: decision.ref ?? null, afterSha: decision.sha ?? null };
  const claim = await claimOnce(d.db, { ...base, ...seen, outcome: 'received', bodySha256 });
  if ('duplicate' in claim) return claim.duplicate;
  if (!decision.deploy) return claim.done(decision.status, decision.outcome);

  const newer = decision.forced ? undefined : await d.mirror.isStale(app, decision.sha);
  if (newer) return claim.done(200, `ignored: older than ${app.branch} at ${newer.slice(0, 7)}`);
  return claim.deploy(async () => {
    const q = await enqueue(d, app, decision.sha, decision.forced);
    d.log.info({ app: app.name, delivery: base.deliveryId, sha: decision.sha, deploy: q.deployId }, 'webhook push queued a deploy');
    return q;
  });
}

/** Queues the build; its first step fetches the commit (in queue order), then the build reads it from the bare repo. */
function enqueue(d: DeliveryDeps, app: App, sha: string, forced: boolean): Promise<QueuedDeploy> {
  const prepare: Prepare = ({ say, signal }) => d.mirror.fetchPush(app, sha, { forced, say, ...(signal ? { signal } : {}) });
  return d.enqueueBuild(app.name, sha, 'webhook', () => d.repos.archive(app.name, sha), { prepare });
}
