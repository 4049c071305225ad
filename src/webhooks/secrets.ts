import type { Kysely } from 'kysely';
import { nowIso, type Database } from '../db/database.js';
import type { SecretBox } from '../env/secret-box.js';

// The webhook secret and the repo token of an app, age-encrypted at rest. Plaintext exists only
// in memory while a delivery is verified or a fetch runs, and in the one answer that creates it.

type Column = 'webhook_secret_enc' | 'repo_token_enc';

async function put(db: Kysely<Database>, app: string, column: Column, value: Buffer | null): Promise<void> {
  const now = nowIso();
  await db.insertInto('app_git_secrets')
    .values({ app, webhook_secret_enc: null, repo_token_enc: null, [column]: value, updated_at: now })
    .onConflict((oc) => oc.column('app').doUpdateSet({ [column]: value, updated_at: now }))
    .execute();
}

async function get(db: Kysely<Database>, box: SecretBox, app: string, column: Column): Promise<string | undefined> {
  const row = await db.selectFrom('app_git_secrets').select(column).where('app', '=', app).executeTakeFirst();
  const enc = row?.[column];
  return enc ? box.decrypt(enc) : undefined;
}

export async function setWebhookSecret(db: Kysely<Database>, box: SecretBox, app: string, secret: string): Promise<void> {
  await put(db, app, 'webhook_secret_enc', await box.encrypt(secret));
}

export function getWebhookSecret(db: Kysely<Database>, box: SecretBox, app: string): Promise<string | undefined> {
  return get(db, box, app, 'webhook_secret_enc');
}

export async function setRepoToken(db: Kysely<Database>, box: SecretBox, app: string, token: string | null): Promise<void> {
  await put(db, app, 'repo_token_enc', token === null ? null : await box.encrypt(token));
}

export function getRepoToken(db: Kysely<Database>, box: SecretBox, app: string): Promise<string | undefined> {
  return get(db, box, app, 'repo_token_enc');
}

/** Which of the two are set, without decrypting anything. */
export async function gitSecretsState(db: Kysely<Database>, app: string): Promise<{ webhook: boolean; repoToken: boolean; updatedAt: string | null }> {
  const row = await db.selectFrom('app_git_secrets').select(['webhook_secret_enc', 'repo_token_enc', 'updated_at']).where('app', '=', app).executeTakeFirst();
  return { webhook: !!row?.webhook_secret_enc, repoToken: !!row?.repo_token_enc, updatedAt: row?.updated_at ?? null };
}
