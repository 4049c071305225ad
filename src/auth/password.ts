import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../db/database.js';
import { nowIso } from '../db/database.js';
import { HiyError } from '../errors.js';

/**
 * The dashboard password: scrypt at OWASP's recommended cost (N=2^17, r=8, p=1: 128 MiB and about
 * 0.6 s per hash on these machines), stored as `scrypt$<log2 N>$<r>$<p>$<salt>$<hash>` so the cost
 * can be raised later without breaking stored hashes.
 */
export const SCRYPT_COST = { logN: 17, r: 8, p: 1 } as const;
const KEY_LEN = 32;
const SALT_LEN = 16;
export const PASSWORD_MIN = 10;
export const PASSWORD_MAX = 1024;

function scryptAsync(password: string, salt: Buffer, keyLen: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scrypt(password, salt, keyLen, opts, (err, key) => (err ? reject(err) : resolve(key))));
}

/** 128 * N * r bytes are needed; Node's default maxmem (32 MiB) is below that. */
const options = (logN: number, r: number, p: number): ScryptOptions => ({ N: 2 ** logN, r, p, maxmem: 128 * 2 ** logN * r + 16 * 1024 * 1024 });

export function validatePassword(password: unknown): string {
  if (typeof password !== 'string') throw new HiyError('invalid_input', 'password must be a string');
  const chars = [...password].length;
  if (chars < PASSWORD_MIN) throw new HiyError('invalid_input', `password is too short: at least ${PASSWORD_MIN} characters`);
  if (Buffer.byteLength(password) > PASSWORD_MAX) throw new HiyError('invalid_input', `password is too long: at most ${PASSWORD_MAX} bytes`);
  if (/[\x00-\x1f\x7f]/.test(password)) throw new HiyError('invalid_input', 'password must not contain control characters');
  return password;
}

export async function hashPassword(password: string, cost: { logN: number; r: number; p: number } = SCRYPT_COST): Promise<string> {
  const salt = randomBytes(SALT_LEN);
  const key = await scryptAsync(password.normalize('NFC'), salt, KEY_LEN, options(cost.logN, cost.r, cost.p));
  return ['scrypt', cost.logN, cost.r, cost.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

const STORED = /^scrypt\$(\d{1,2})\$(\d{1,3})\$(\d{1,3})\$([A-Za-z0-9_-]{16,})\$([A-Za-z0-9_-]{32,})$/;

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const m = STORED.exec(stored);
  if (!m) return false;
  const [logN, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  // A hash that asks for absurd work is not ours: refuse rather than burn memory.
  if (logN < 10 || logN > 22 || r < 1 || r > 32 || p < 1 || p > 16) return false;
  const expected = Buffer.from(m[5]!, 'base64url');
  const key = await scryptAsync(password.normalize('NFC'), Buffer.from(m[4]!, 'base64url'), expected.length, options(logN, r, p));
  return key.length === expected.length && timingSafeEqual(key, expected);
}

export async function storedPasswordHash(db: Kysely<Database>): Promise<string | undefined> {
  return (await db.selectFrom('dashboard_password').select('hash').where('id', '=', 1).executeTakeFirst())?.hash;
}

/**
 * Sets (or replaces) the password and signs every browser out: whoever changes a password
 * usually does so because the old one may be known.
 */
export async function setDashboardPassword(db: Kysely<Database>, password: string): Promise<{ sessionsEnded: number }> {
  const hash = await hashPassword(validatePassword(password));
  return db.transaction().execute(async (trx) => {
    const now = nowIso();
    await trx.insertInto('dashboard_password').values({ id: 1, hash, updated_at: now })
      .onConflict((oc) => oc.column('id').doUpdateSet({ hash, updated_at: now })).execute();
    const res = await trx.deleteFrom('dashboard_sessions').executeTakeFirst();
    return { sessionsEnded: Number(res.numDeletedRows) };
  });
}
