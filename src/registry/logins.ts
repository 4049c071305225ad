/**
 * Registry logins: a user name and a password or token per registry host, for every app or for
 * one. The secret is age-encrypted at rest (the env vars' key), decrypted only for a pull, and
 * leaves hiy only towards the engine's pull: no answer, listing or log carries it.
 */
import type { Kysely } from 'kysely';
import type { RegistryLoginView } from '../contract.js';
import { nowIso, type Database } from '../db/database.js';
import type { SecretBox } from '../env/secret-box.js';
import { HiyError } from '../errors.js';
import { normalizeRegistryHost } from './reference.js';

export interface RegistryCredentials {
  username: string;
  password: string;
}

const USERNAME_RE = /^[\x21-\x7e]{1,200}$/;
const bad = (m: string) => new HiyError('invalid_input', m);

export interface NewLogin {
  host: string;
  app: string | null;
  username: unknown;
  password: unknown;
}

/** Stores (or replaces) a login; the host is normalized (Docker Hub's aliases are docker.io). */
export async function setLogin(db: Kysely<Database>, box: SecretBox, l: NewLogin): Promise<{ host: string; created: boolean }> {
  const host = normalizeRegistryHost(l.host);
  if (typeof l.username !== 'string' || !USERNAME_RE.test(l.username)) throw bad('username must be 1-200 printable characters without spaces');
  // Tokens of every registry are printable ASCII; anything else is a paste gone wrong.
  if (typeof l.password !== 'string' || !/^[\x20-\x7e]{1,4096}$/.test(l.password)) throw bad('password must be 1-4096 printable characters (a password or an access token with read access)');
  const secret = await box.encrypt(l.password);
  const now = nowIso();
  return db.transaction().execute(async (trx) => {
    const existing = await scoped(trx, host, l.app).select('id').executeTakeFirst();
    if (existing) {
      await trx.updateTable('registry_logins').set({ username: l.username as string, secret_enc: secret, updated_at: now }).where('id', '=', existing.id).execute();
      return { host, created: false };
    }
    await trx.insertInto('registry_logins').values({ host, app: l.app, username: l.username as string, secret_enc: secret, created_at: now, updated_at: now }).execute();
    return { host, created: true };
  });
}

export async function removeLogin(db: Kysely<Database>, rawHost: string, app: string | null): Promise<{ host: string; removed: boolean }> {
  const host = normalizeRegistryHost(rawHost);
  const row = await scoped(db, host, app).select('id').executeTakeFirst();
  if (row) await db.deleteFrom('registry_logins').where('id', '=', row.id).execute();
  return { host, removed: row !== undefined };
}

/** Every login without its secret, box-wide ones first. */
export async function listLogins(db: Kysely<Database>): Promise<RegistryLoginView[]> {
  const rows = await db.selectFrom('registry_logins').select(['host', 'app', 'username', 'created_at', 'updated_at']).orderBy('host').execute();
  return rows.sort((a, b) => a.host.localeCompare(b.host) || (a.app ?? '').localeCompare(b.app ?? ''));
}

/** The login a pull of `app` from `host` uses: the app's own, else the one for every app, else none. */
export async function credentialsFor(db: Kysely<Database>, box: SecretBox, host: string, app: string): Promise<RegistryCredentials | undefined> {
  const rows = await db.selectFrom('registry_logins').select(['app', 'username', 'secret_enc'])
    .where('host', '=', host).where((eb) => eb.or([eb('app', '=', app), eb('app', 'is', null)])).execute();
  const row = rows.find((r) => r.app === app) ?? rows.find((r) => r.app === null);
  return row ? { username: row.username, password: await box.decrypt(row.secret_enc) } : undefined;
}

function scoped(db: Kysely<Database>, host: string, app: string | null) {
  const q = db.selectFrom('registry_logins').where('host', '=', host);
  return app === null ? q.where('app', 'is', null) : q.where('app', '=', app);
}
