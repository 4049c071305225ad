import type { Kysely, Selectable } from 'kysely';
import { nowIso, type Database } from '../db/database.js';
import type { WebhookDeliveriesTable } from './table.js';

export type Delivery = Selectable<WebhookDeliveriesTable>;

/**
 * Records kept per app. Uncounted ones (rejected, duplicates, pings) are capped low so a flood of forged
 * requests cannot grow the file, and separately from counted ones, so it cannot push the delivery
 * ids that dedupe a replay out of the table either.
 */
const KEEP = { uncounted: 500, counted: 5000 } as const;

export interface NewDelivery {
  app: string;
  deliveryId: string | null;
  event: string | null;
  ref?: string | null;
  afterSha?: string | null;
  outcome: string;
  deployId?: number | null;
  /** Set on claims only: the digest of the signed body (dedupes replays under a new delivery id). */
  bodySha256?: string | null;
}

/** Records a delivery that does not count towards dedupe (rejected, ping, ...). */
export async function recordDelivery(db: Kysely<Database>, d: NewDelivery): Promise<number> {
  return insert(db, d, 0);
}

/**
 * Claims a signed delivery id and body: returns the row id, or undefined when this id or this exact
 * body was already claimed (a redelivery, or a replay under a new id). The unique indexes decide,
 * so two copies arriving at once cannot both win.
 */
export async function claimDelivery(db: Kysely<Database>, d: NewDelivery): Promise<number | undefined> {
  try {
    return await insert(db, d, 1);
  } catch (err) {
    if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') return undefined;
    throw err;
  }
}

export async function finishDelivery(db: Kysely<Database>, id: number, outcome: string, deployId: number | null = null): Promise<void> {
  await db.updateTable('webhook_deliveries').set({ outcome, deploy_id: deployId }).where('id', '=', id).execute();
}

export async function listDeliveries(db: Kysely<Database>, app: string, limit = 50): Promise<Delivery[]> {
  return db.selectFrom('webhook_deliveries').selectAll().where('app', '=', app).orderBy('id', 'desc').limit(limit).execute();
}

async function insert(db: Kysely<Database>, d: NewDelivery, counted: 0 | 1): Promise<number> {
  const row = await db.insertInto('webhook_deliveries').values({
    app: d.app,
    delivery_id: d.deliveryId,
    event: d.event,
    ref: d.ref ?? null,
    after_sha: d.afterSha ?? null,
    counted,
    received_at: nowIso(),
    outcome: d.outcome,
    deploy_id: d.deployId ?? null,
    body_sha256: d.bodySha256 ?? null,
  }).returning('id').executeTakeFirstOrThrow();
  if (row.id % 50 === 0) await prune(db, d.app, counted);
  return row.id;
}

async function prune(db: Kysely<Database>, app: string, counted: 0 | 1): Promise<void> {
  const cutoff = await db.selectFrom('webhook_deliveries').select('id').where('app', '=', app).where('counted', '=', counted)
    .orderBy('id', 'desc').offset(counted ? KEEP.counted : KEEP.uncounted).limit(1).executeTakeFirst();
  if (cutoff) await db.deleteFrom('webhook_deliveries').where('app', '=', app).where('counted', '=', counted).where('id', '<=', cutoff.id).execute();
}
