import type { Kysely, Selectable } from 'kysely';
import type { Database } from '../db/database.js';
import { nowIso } from '../db/database.js';
import type { DeploysTable, DeployTrigger } from './table.js';

export type DeployRow = Selectable<DeploysTable>;

export async function insertDeploy(
  db: Kysely<Database>,
  d: { app: string; sha: string; triggered_by: DeployTrigger; rollback_to?: number | null },
): Promise<number> {
  const row = await db.insertInto('deploys')
    .values({ app: d.app, sha: d.sha, triggered_by: d.triggered_by, rollback_to: d.rollback_to ?? null, status: 'queued', error: null, created_at: nowIso(), started_at: null, finished_at: null })
    .returning('id').executeTakeFirstOrThrow();
  return row.id;
}

export async function markBuilding(db: Kysely<Database>, id: number): Promise<void> {
  await db.updateTable('deploys').set({ status: 'building', started_at: nowIso() }).where('id', '=', id).execute();
}

export async function markFinished(db: Kysely<Database>, id: number, status: 'success' | 'failed' | 'superseded', error: string | null, log?: string): Promise<void> {
  await db.updateTable('deploys').set({ status, error, finished_at: nowIso(), ...(log === undefined ? {} : { log }) }).where('id', '=', id).execute();
}

/** After a crash: whatever was in flight did not finish. Returns how many were marked. */
export async function failInterrupted(db: Kysely<Database>): Promise<number> {
  const res = await db.updateTable('deploys')
    .set({ status: 'failed', error: 'interrupted: hiy stopped while this deploy was in flight', finished_at: nowIso() })
    .where('status', 'in', ['queued', 'building']).executeTakeFirst();
  return Number(res.numUpdatedRows);
}
