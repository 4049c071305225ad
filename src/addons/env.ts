/**
 * What an app's processes are started with: its own env vars and, over them, the URL of each
 * attached add-on (with the add-on's password inside). Decrypted here only for the engine and for
 * redaction, like env var values.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../db/database.js';
import { readEnv } from '../env/repo.js';
import type { SecretBox } from '../env/secret-box.js';
import { kindOf } from './kinds.js';
import { fingerprintOf } from './managed.js';
import { varOf } from './names.js';

export interface AppEnv {
  /** The app's env vars with the managed ones set over them. */
  env: Record<string, string>;
  /** What must never be shown: every value, and the attached add-ons' passwords on their own. */
  secrets: string[];
  /** Which add-ons the env holds (managed.ts). */
  fingerprint: string;
}

/** The app's managed variables with their values, and the add-ons' passwords on their own. */
export async function managedEnv(db: Kysely<Database>, box: SecretBox, app: string): Promise<{ env: Record<string, string>; passwords: string[]; fingerprint: string }> {
  const rows = await db.selectFrom('addon_attachments').innerJoin('addons', 'addons.name', 'addon_attachments.addon')
    .select(['addons.name', 'addons.kind', 'addons.password_enc', 'addon_attachments.as_name'])
    .where('addon_attachments.app', '=', app).orderBy('addon_attachments.as_name').execute();
  const passwords: string[] = [];
  const env: Record<string, string> = {};
  const vars: Record<string, string> = {};
  for (const r of rows) {
    const password = await box.decrypt(r.password_enc);
    passwords.push(password);
    env[varOf(r.as_name)] = kindOf(r.kind).url(r.name, password);
    vars[varOf(r.as_name)] = r.name;
  }
  return { env, passwords, fingerprint: fingerprintOf(vars) };
}

export async function appEnv(db: Kysely<Database>, box: SecretBox, app: string): Promise<AppEnv> {
  const managed = await managedEnv(db, box, app);
  const env = { ...(await readEnv(db, box, app)), ...managed.env };
  return { env, secrets: [...Object.values(env), ...managed.passwords], fingerprint: managed.fingerprint };
}

/** What app output must not show: the attached add-ons' URLs and passwords (long and random: safe to search for). */
export async function managedSecrets(db: Kysely<Database>, box: SecretBox, app: string): Promise<string[]> {
  const managed = await managedEnv(db, box, app);
  return [...Object.values(managed.env), ...managed.passwords];
}
