import type { Kysely, Selectable } from 'kysely';
import type { AddonKind } from '../contract.js';
import type { Database } from '../db/database.js';
import { nowIso } from '../db/database.js';
import { HiyError, notFound } from '../errors.js';
import type { AddonAttachmentsTable, AddonsTable } from './table.js';

export type Addon = Selectable<AddonsTable>;
export type Attachment = Selectable<AddonAttachmentsTable>;

export async function listAddons(db: Kysely<Database>): Promise<Addon[]> {
  return db.selectFrom('addons').selectAll().orderBy('name').execute();
}

export async function findAddon(db: Kysely<Database>, name: string): Promise<Addon | undefined> {
  return db.selectFrom('addons').selectAll().where('name', '=', name).executeTakeFirst();
}

export async function getAddon(db: Kysely<Database>, name: string): Promise<Addon> {
  const row = await findAddon(db, name);
  if (!row) throw notFound(`add-on "${name}"`);
  return row;
}

export async function insertAddon(db: Kysely<Database>, v: { name: string; kind: AddonKind; image: string; memory_mb: number; password_enc: Buffer }): Promise<Addon> {
  const now = nowIso();
  try {
    return await db.insertInto('addons').values({ ...v, version: null, created_at: now, updated_at: now }).returningAll().executeTakeFirstOrThrow();
  } catch (err) {
    if (/UNIQUE|PRIMARY KEY/i.test((err as Error).message)) throw new HiyError('conflict', `add-on "${v.name}" already exists`, { cause: err });
    throw err;
  }
}

export async function updateAddon(db: Kysely<Database>, name: string, changes: Partial<Pick<Addon, 'image' | 'version'>>): Promise<void> {
  await db.updateTable('addons').set({ ...changes, updated_at: nowIso() }).where('name', '=', name).execute();
}

export async function deleteAddon(db: Kysely<Database>, name: string): Promise<void> {
  await db.deleteFrom('addons').where('name', '=', name).execute();
}

export async function attachmentsOf(db: Kysely<Database>, by: { addon?: string; app?: string } = {}): Promise<Attachment[]> {
  let q = db.selectFrom('addon_attachments').selectAll();
  if (by.addon) q = q.where('addon', '=', by.addon);
  if (by.app) q = q.where('app', '=', by.app);
  return q.orderBy('app').orderBy('as_name').execute();
}

export async function insertAttachment(db: Kysely<Database>, v: { addon: string; app: string; as_name: string }): Promise<Attachment> {
  return db.insertInto('addon_attachments').values({ ...v, created_at: nowIso() }).returningAll().executeTakeFirstOrThrow();
}

export async function deleteAttachment(db: Kysely<Database>, addon: string, app: string): Promise<boolean> {
  const res = await db.deleteFrom('addon_attachments').where('addon', '=', addon).where('app', '=', app).executeTakeFirst();
  return Number(res.numDeletedRows) > 0;
}
