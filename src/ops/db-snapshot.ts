/**
 * A consistent copy of hiy's SQLite database while hiy runs: SQLite's online backup API (never a
 * file copy, which can catch a half-written page or miss the WAL), then integrity_check on the copy.
 */
import { chmodSync } from 'node:fs';
import SQLite from 'better-sqlite3';
import { HiyError } from '../errors.js';

/** Copies `live` to `dest` through the backup API and turns the copy into one self-contained file. */
export async function snapshotDatabase(live: string, dest: string): Promise<void> {
  // Read-only: the backup process never writes to hiy's database, even by accident.
  const src = new SQLite(live, { readonly: true, fileMustExist: true });
  try {
    src.pragma('busy_timeout = 10000');
    await src.backup(dest);
  } finally {
    src.close();
  }
  chmodSync(dest, 0o600);
  const copy = new SQLite(dest);
  try {
    // A WAL-mode copy would need its -wal file; DELETE mode keeps everything in the one file.
    copy.pragma('journal_mode = DELETE');
  } finally {
    copy.close();
  }
  checkIntegrity(dest);
}

/** Throws unless `PRAGMA integrity_check` says "ok" (and the file is an SQLite database at all). */
export function checkIntegrity(file: string): void {
  let db: SQLite.Database | undefined;
  try {
    db = new SQLite(file, { readonly: true, fileMustExist: true });
    const rows = db.pragma('integrity_check') as { integrity_check: string }[];
    const problems = rows.map((r) => r.integrity_check).filter((r) => r !== 'ok');
    if (problems.length > 0) throw new HiyError('internal', `the database copy failed its integrity check: ${problems.slice(0, 5).join('; ')}`);
  } catch (err) {
    if (err instanceof HiyError) throw err;
    throw new HiyError('internal', `the database copy is not a readable SQLite database: ${(err as Error).message}`, { cause: err });
  } finally {
    db?.close();
  }
}

/** Names of the apps in a database file (opened read-only). */
export function appsIn(file: string): string[] {
  const db = new SQLite(file, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT name FROM apps ORDER BY name').all() as { name: string }[]).map((r) => r.name);
  } finally {
    db.close();
  }
}

/** One encrypted value stored in the database (env var, webhook secret, repo token, add-on password), if any. */
export function sampleCiphertext(file: string): { what: string; value: Buffer } | undefined {
  const db = new SQLite(file, { readonly: true, fileMustExist: true });
  try {
    const env = db.prepare('SELECT app, key, value_enc FROM env_vars ORDER BY app, key LIMIT 1').get() as { app: string; key: string; value_enc: Buffer } | undefined;
    if (env) return { what: `env var ${env.key} of ${env.app}`, value: env.value_enc };
    const hasSecrets = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'app_git_secrets'").get();
    if (hasSecrets) {
      const row = db.prepare('SELECT app, webhook_secret_enc AS w, repo_token_enc AS r FROM app_git_secrets WHERE webhook_secret_enc IS NOT NULL OR repo_token_enc IS NOT NULL LIMIT 1').get() as { app: string; w: Buffer | null; r: Buffer | null } | undefined;
      if (row?.w) return { what: `the webhook secret of ${row.app}`, value: row.w };
      if (row?.r) return { what: `the repo token of ${row.app}`, value: row.r };
    }
    const hasAddons = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'addons'").get();
    const addon = hasAddons ? db.prepare('SELECT name, password_enc FROM addons ORDER BY name LIMIT 1').get() as { name: string; password_enc: Buffer } | undefined : undefined;
    if (addon) return { what: `the password of add-on ${addon.name}`, value: addon.password_enc };
    return undefined;
  } finally {
    db.close();
  }
}
