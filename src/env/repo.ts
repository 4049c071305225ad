import type { Kysely } from 'kysely';
import type { Database } from '../db/database.js';
import { nowIso } from '../db/database.js';
import type { SecretBox } from './secret-box.js';
import { ENV_VARS_MAX, validateEnvKey, validateEnvValue } from '../apps/names.js';
import { HiyError } from '../errors.js';
import { refuseManaged } from '../addons/managed.js';

/** Decrypted env of an app, for the container's environment and for redaction only. */
export async function readEnv(db: Kysely<Database>, box: SecretBox, app: string): Promise<Record<string, string>> {
  const rows = await db.selectFrom('env_vars').select(['key', 'value_enc']).where('app', '=', app).orderBy('key').execute();
  const out: Record<string, string> = {};
  for (const r of rows) out[r.key] = await box.decrypt(r.value_enc);
  return out;
}

export async function listEnvKeys(db: Kysely<Database>, app: string): Promise<{ key: string; updated_at: string }[]> {
  return db.selectFrom('env_vars').select(['key', 'updated_at']).where('app', '=', app).orderBy('key').execute();
}

/** Sets several variables at once, all or nothing. */
export async function setEnv(db: Kysely<Database>, box: SecretBox, app: string, vars: Record<string, unknown>): Promise<string[]> {
  const entries = Object.entries(vars).map(([k, v]) => [validateEnvKey(k), validateEnvValue(k, v)] as const);
  if (entries.length === 0) throw new HiyError('invalid_input', 'no variables given (expected KEY=value)');
  await refuseManaged(db, app, entries.map(([k]) => k));
  const encrypted = await Promise.all(entries.map(async ([k, v]) => ({ key: k, value_enc: await box.encrypt(v) })));
  await db.transaction().execute(async (trx) => {
    const now = nowIso();
    for (const e of encrypted) {
      await trx.insertInto('env_vars').values({ app, key: e.key, value_enc: e.value_enc, updated_at: now })
        .onConflict((oc) => oc.columns(['app', 'key']).doUpdateSet({ value_enc: e.value_enc, updated_at: now }))
        .execute();
    }
    const n = await trx.selectFrom('env_vars').select((eb) => eb.fn.countAll<number>().as('n')).where('app', '=', app).executeTakeFirstOrThrow();
    if (Number(n.n) > ENV_VARS_MAX) throw new HiyError('invalid_input', `an app can have at most ${ENV_VARS_MAX} env vars`);
  });
  return entries.map(([k]) => k);
}

export async function unsetEnv(db: Kysely<Database>, app: string, keys: string[]): Promise<string[]> {
  if (keys.length === 0) throw new HiyError('invalid_input', 'no keys given');
  for (const k of keys) validateEnvKey(k);
  await refuseManaged(db, app, keys);
  const rows = await db.deleteFrom('env_vars').where('app', '=', app).where('key', 'in', keys).returning('key').execute();
  return rows.map((r) => r.key);
}
