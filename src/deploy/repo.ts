import type { Kysely } from 'kysely';
import type { DeploySummary, DeployView } from '../contract.js';
import type { Database } from '../db/database.js';
import { notFound } from '../errors.js';

// Releases are in releases.ts. Listings leave the log out: it can be hundreds of KB per deploy.
const SUMMARY_COLUMNS = ['id', 'app', 'sha', 'status', 'triggered_by', 'error', 'rollback_to', 'image_ref', 'created_at', 'started_at', 'finished_at'] as const;

/** An app's deploys, newest first, without their logs. */
export async function listDeploys(db: Kysely<Database>, app: string, limit = 20, before?: number): Promise<DeploySummary[]> {
  let q = db.selectFrom('deploys').select(SUMMARY_COLUMNS).where('app', '=', app);
  if (before !== undefined) q = q.where('id', '<', before);
  return q.orderBy('id', 'desc').limit(limit).execute();
}

/** One deploy of the app, with its log; a deploy of another app is not found. */
export async function getDeploy(db: Kysely<Database>, app: string, id: number): Promise<DeployView> {
  const row = await db.selectFrom('deploys').selectAll().where('app', '=', app).where('id', '=', id).executeTakeFirst();
  if (!row) throw notFound(`deploy ${id} of app "${app}"`);
  return row;
}

export async function lastDeploy(db: Kysely<Database>, app: string): Promise<DeploySummary | undefined> {
  return db.selectFrom('deploys').select(SUMMARY_COLUMNS).where('app', '=', app).orderBy('id', 'desc').limit(1).executeTakeFirst();
}
