/** Add-ons on apps' networks, kept to the attachments. */
import type { Kysely } from 'kysely';
import type { Database } from '../db/database.js';
import type { Runtime } from '../runtime/runtime.js';
import { attachmentsOf } from './repo.js';

/**
 * After a deploy's old release is gone: add-ons still on the app's network without an attachment
 * (a detach restarts the app; its old release needed the add-on until it stopped) leave it.
 */
export async function settleAddonNetworks(s: { db: Kysely<Database> }, runtime: Runtime, app: string): Promise<void> {
  const any = await s.db.selectFrom('addons').select('name').limit(1).executeTakeFirst();
  if (!any) return;
  const attached = new Set((await attachmentsOf(s.db, { app })).map((a) => a.addon));
  for (const c of await runtime.listAddonContainers()) {
    if (c.apps.includes(app) && !attached.has(c.addon)) await runtime.detachAddon(c.addon, app);
  }
}
