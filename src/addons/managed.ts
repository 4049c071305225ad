/**
 * The variables hiy manages on apps (one `<AS>_URL` per attached add-on): which they are, and the
 * rule that keeps them hiy's. Nothing here decrypts: env.ts builds the values.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../db/database.js';
import { HiyError } from '../errors.js';
import { varOf } from './names.js';
import { attachmentsOf } from './repo.js';

/** The app's managed variables: name → the add-on behind it. */
export async function managedVars(db: Kysely<Database>, app: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const a of await attachmentsOf(db, { app })) out[varOf(a.as_name)] = a.addon;
  return out;
}

/**
 * Which add-ons a container's environment was made with ("DATABASE_URL=shop-db,REDIS_URL=cache"):
 * containers carry it, so start-up reconciliation sees one made before an attach or a detach.
 */
export function fingerprintOf(vars: Record<string, string>): string {
  return Object.keys(vars).sort().map((k) => `${k}=${vars[k]}`).join(',');
}

/** env:set and env:unset keep off hiy's variables: they change only by attach and detach. */
export async function refuseManaged(db: Kysely<Database>, app: string, keys: string[]): Promise<void> {
  const managed = await managedVars(db, app);
  const key = keys.find((k) => managed[k] !== undefined);
  if (key === undefined) return;
  throw new HiyError('conflict', `${key} is managed by hiy: it is the URL of add-on ${managed[key]}. It changes only with the add-on (hiy addons:detach ${managed[key]} ${app} removes it)`);
}
