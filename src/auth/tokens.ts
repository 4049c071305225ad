import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { TokenInfo } from '../contract.js';
import type { Database } from '../db/database.js';
import { nowIso } from '../db/database.js';
import { HiyError, notFound } from '../errors.js';

export const TOKEN_PREFIX = 'hiy_';

export const hashToken = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

/** 256 bits from the CSPRNG, base64url: `hiy_` + 43 characters. */
export const newTokenValue = (): string => TOKEN_PREFIX + randomBytes(32).toString('base64url');

// Parentheses are allowed: main.ts names the bootstrap token 'admin (HIY_ADMIN_TOKEN)'.
const TOKEN_NAME_RE = /^[\w .@:()-]{1,64}$/;

export function validateTokenName(name: unknown): string {
  if (typeof name !== 'string' || !TOKEN_NAME_RE.test(name)) {
    throw new HiyError('invalid_input', 'token name: 1-64 characters of letters, digits, space, and . _ @ : ( ) -');
  }
  return name;
}

/** Stores a token hash; the value is returned once and never again. */
export async function createToken(db: Kysely<Database>, name: string, value = newTokenValue(), opts: { bootstrap?: boolean } = {}): Promise<{ token: string; info: TokenInfo }> {
  const created_at = nowIso();
  const prefix = value.slice(0, TOKEN_PREFIX.length + 6);
  const row = await db
    .insertInto('api_tokens')
    .values({ name: validateTokenName(name), token_hash: hashToken(value), prefix, created_at, last_used_at: null, revoked_at: null, bootstrap: opts.bootstrap ? 1 : 0 })
    .returning(['id', 'name', 'prefix', 'created_at', 'last_used_at', 'revoked_at'])
    .executeTakeFirstOrThrow();
  return { token: value, info: row };
}

/** Returns the token's row when it is valid (exists, not revoked); marks it used. */
export async function verifyToken(db: Kysely<Database>, value: string): Promise<TokenInfo | undefined> {
  if (value.length < 16 || value.length > 512) return undefined;
  const row = await db
    .selectFrom('api_tokens')
    .select(['id', 'name', 'prefix', 'created_at', 'last_used_at', 'revoked_at'])
    .where('token_hash', '=', hashToken(value))
    .executeTakeFirst();
  if (!row || row.revoked_at !== null) return undefined;
  const now = nowIso();
  // Writing on every request would churn the WAL; a minute's precision is plenty.
  if (!row.last_used_at || Date.parse(now) - Date.parse(row.last_used_at) > 60_000) {
    await db.updateTable('api_tokens').set({ last_used_at: now }).where('id', '=', row.id).execute();
  }
  return row;
}

/** Whether token `id` still exists and is not revoked (streams opened with it ask this again and again). */
export async function tokenActive(db: Kysely<Database>, id: number): Promise<boolean> {
  const row = await db.selectFrom('api_tokens').select('revoked_at').where('id', '=', id).executeTakeFirst();
  return row !== undefined && row.revoked_at === null;
}

export async function listTokens(db: Kysely<Database>): Promise<TokenInfo[]> {
  return db.selectFrom('api_tokens').select(['id', 'name', 'prefix', 'created_at', 'last_used_at', 'revoked_at']).orderBy('id').execute();
}

export async function revokeToken(db: Kysely<Database>, id: number): Promise<TokenInfo> {
  const res = await db.updateTable('api_tokens').set({ revoked_at: nowIso() }).where('id', '=', id).where('revoked_at', 'is', null)
    .returning(['id', 'name', 'prefix', 'created_at', 'last_used_at', 'revoked_at']).executeTakeFirst();
  if (!res) throw notFound(`active token ${id}`);
  return res;
}

export async function countActiveTokens(db: Kysely<Database>): Promise<number> {
  const r = await db.selectFrom('api_tokens').select((eb) => eb.fn.countAll<number>().as('n')).where('revoked_at', 'is', null).executeTakeFirstOrThrow();
  return Number(r.n);
}
