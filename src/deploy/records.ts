import type { Kysely, Selectable } from 'kysely';
import type { Database } from '../db/database.js';
import { nowIso } from '../db/database.js';
import type { DeployTrigger } from '../contract.js';
import type { DeploysTable } from './table.js';

export type DeployRow = Selectable<DeploysTable>;

export async function insertDeploy(
  db: Kysely<Database>,
  d: { app: string; sha: string; triggered_by: DeployTrigger; rollback_to?: number | null; image_ref?: string | null },
): Promise<number> {
  const row = await db.insertInto('deploys')
    .values({ app: d.app, sha: d.sha, triggered_by: d.triggered_by, rollback_to: d.rollback_to ?? null, image_ref: d.image_ref ?? null, status: 'queued', error: null, created_at: nowIso(), started_at: null, finished_at: null })
    .returning('id').executeTakeFirstOrThrow();
  return row.id;
}

/** An image deploy learns its digest once the registry named it (a tag deploy is queued without one). */
export async function setDeploySha(db: Kysely<Database>, id: number, sha: string): Promise<void> {
  await db.updateTable('deploys').set({ sha }).where('id', '=', id).execute();
}

export async function markBuilding(db: Kysely<Database>, id: number): Promise<void> {
  await db.updateTable('deploys').set({ status: 'building', started_at: nowIso() }).where('id', '=', id).execute();
}

export async function markFinished(db: Kysely<Database>, id: number, status: 'success' | 'failed' | 'superseded', error: string | null, log?: string): Promise<void> {
  await db.updateTable('deploys').set({ status, error, finished_at: nowIso(), ...(log === undefined ? {} : { log }) }).where('id', '=', id).execute();
}

/**
 * After a crash: a deploy in flight whose release was already recorded went live (it stopped
 * while draining the old one), so it succeeded; every other one did not finish.
 */
export async function failInterrupted(db: Kysely<Database>): Promise<number> {
  const now = nowIso();
  await db.updateTable('deploys')
    .set({ status: 'success', error: null, finished_at: now })
    .where('status', 'in', ['queued', 'building'])
    .where('id', 'in', (eb) => eb.selectFrom('releases').select('deploy_id'))
    .execute();
  const res = await db.updateTable('deploys')
    .set({ status: 'failed', error: 'interrupted: hiy stopped while this deploy was in flight', finished_at: now })
    .where('status', 'in', ['queued', 'building']).executeTakeFirst();
  return Number(res.numUpdatedRows);
}
