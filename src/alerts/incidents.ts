import type { Kysely, Selectable } from 'kysely';
import { nowIso, type Database } from '../db/database.js';
import type { AlertKind, AlertsTable } from './table.js';

export type Alert = Selectable<AlertsTable>;

/** Opens an incident unless one with this key is open; returns the new row, or undefined. */
export async function openIncident(db: Kysely<Database>, a: { key: string; kind: AlertKind; app: string | null; message: string }): Promise<Alert | undefined> {
  // The partial unique index makes a concurrent second open fail instead of duplicating.
  return db.insertInto('alerts')
    .values({ ...a, started_at: nowIso(), resolved_at: null, resolved_message: null, notified_at: null, resolved_notified_at: null, notify_error: null })
    .onConflict((oc) => oc.column('key').where('resolved_at', 'is', null).doNothing())
    .returningAll()
    .executeTakeFirst();
}

/** Resolves the open incident with this key; returns it, or undefined when none was open. */
export async function resolveIncident(db: Kysely<Database>, key: string, message: string): Promise<Alert | undefined> {
  return db.updateTable('alerts').set({ resolved_at: nowIso(), resolved_message: message })
    .where('key', '=', key).where('resolved_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
}

export async function openIncidents(db: Kysely<Database>): Promise<Alert[]> {
  return db.selectFrom('alerts').selectAll().where('resolved_at', 'is', null).orderBy('id').execute();
}

export async function listAlerts(db: Kysely<Database>, opts: { openOnly?: boolean; limit: number }): Promise<Alert[]> {
  let q = db.selectFrom('alerts').selectAll();
  if (opts.openOnly) q = q.where('resolved_at', 'is', null);
  return q.orderBy('id', 'desc').limit(opts.limit).execute();
}

export async function recordDelivery(db: Kysely<Database>, id: number, event: 'alert' | 'resolved', error: string | null): Promise<void> {
  const at = error ? {} : event === 'alert' ? { notified_at: nowIso() } : { resolved_notified_at: nowIso() };
  await db.updateTable('alerts').set({ ...at, notify_error: error }).where('id', '=', id).execute();
}

/** History is bounded: resolved incidents beyond the newest `keep` go. */
export async function pruneAlerts(db: Kysely<Database>, keep: number): Promise<void> {
  const edge = await db.selectFrom('alerts').select('id').where('resolved_at', 'is not', null).orderBy('id', 'desc').offset(keep).limit(1).executeTakeFirst();
  if (edge) await db.deleteFrom('alerts').where('resolved_at', 'is not', null).where('id', '<=', edge.id).execute();
}
