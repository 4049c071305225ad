import { createHash, randomBytes } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import type { Database } from '../db/database.js';
import type { DashboardSessionsTable } from './dashboard-table.js';

export type SessionRow = Selectable<DashboardSessionsTable>;

/** How long a dashboard session lives: idle (since the last request) and absolute (since login). */
export interface SessionPolicy {
  idleMs: number;
  absoluteMs: number;
}

export const DEFAULT_SESSION_POLICY: SessionPolicy = { idleMs: 12 * 3600_000, absoluteMs: 7 * 24 * 3600_000 };

// Writing last_seen_at on every page view would churn the WAL; a minute is precise enough for a 12 h limit.
const TOUCH_EVERY_MS = 60_000;

const hashId = (id: string): string => createHash('sha256').update(id, 'utf8').digest('hex');

/** A new session with a fresh 256-bit id; the id goes into the cookie, only its hash into the database. */
export async function createSession(db: Kysely<Database>, meta: { ip?: string | undefined; userAgent?: string | undefined }, now = new Date()): Promise<{ id: string; row: SessionRow }> {
  const id = randomBytes(32).toString('base64url');
  const row: SessionRow = {
    id_hash: hashId(id),
    created_at: now.toISOString(),
    last_seen_at: now.toISOString(),
    ip: meta.ip?.slice(0, 64) ?? null,
    user_agent: meta.userAgent?.slice(0, 200) ?? null,
  };
  await db.insertInto('dashboard_sessions').values(row).execute();
  return { id, row };
}

export function sessionExpired(row: Pick<SessionRow, 'created_at' | 'last_seen_at'>, policy: SessionPolicy, now: Date): boolean {
  const t = now.getTime();
  return t - Date.parse(row.last_seen_at) > policy.idleMs || t - Date.parse(row.created_at) > policy.absoluteMs;
}

/** The live session for a cookie value, or undefined; an expired one is deleted on sight. */
export async function findSession(db: Kysely<Database>, id: string | undefined, policy: SessionPolicy, now = new Date()): Promise<SessionRow | undefined> {
  if (!id || !/^[A-Za-z0-9_-]{43}$/.test(id)) return undefined;
  const idHash = hashId(id);
  const row = await db.selectFrom('dashboard_sessions').selectAll().where('id_hash', '=', idHash).executeTakeFirst();
  if (!row) return undefined;
  if (sessionExpired(row, policy, now)) {
    await db.deleteFrom('dashboard_sessions').where('id_hash', '=', idHash).execute();
    return undefined;
  }
  if (now.getTime() - Date.parse(row.last_seen_at) > TOUCH_EVERY_MS) {
    row.last_seen_at = now.toISOString();
    await db.updateTable('dashboard_sessions').set({ last_seen_at: row.last_seen_at }).where('id_hash', '=', idHash).execute();
  }
  return row;
}

/**
 * Whether the session of a cookie value still lives (not signed out, not ended by a password
 * change, not expired), without counting as activity: an open stream must not keep an abandoned
 * session from going idle.
 */
export async function sessionActive(db: Kysely<Database>, id: string, policy: SessionPolicy, now = new Date()): Promise<boolean> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(id)) return false;
  const row = await db.selectFrom('dashboard_sessions').select(['created_at', 'last_seen_at']).where('id_hash', '=', hashId(id)).executeTakeFirst();
  return row !== undefined && !sessionExpired(row, policy, now);
}

/** Client addresses of live sessions and when each was last used (they count as known addresses for sign-in throttling). */
export async function liveSessionAddresses(db: Kysely<Database>, policy: SessionPolicy, now = new Date()): Promise<{ ip: string; at: number }[]> {
  const rows = await db.selectFrom('dashboard_sessions').select(['ip', 'created_at', 'last_seen_at']).where('ip', 'is not', null).execute();
  return rows.filter((r) => !sessionExpired(r, policy, now)).map((r) => ({ ip: r.ip!, at: Date.parse(r.last_seen_at) }));
}

export async function endSession(db: Kysely<Database>, id: string): Promise<void> {
  await db.deleteFrom('dashboard_sessions').where('id_hash', '=', hashId(id)).execute();
}

/** Deletes every expired session (run at each login, so the table stays small without a timer). */
export async function pruneSessions(db: Kysely<Database>, policy: SessionPolicy, now = new Date()): Promise<number> {
  const idleBefore = new Date(now.getTime() - policy.idleMs).toISOString();
  const createdBefore = new Date(now.getTime() - policy.absoluteMs).toISOString();
  const res = await db.deleteFrom('dashboard_sessions')
    .where((eb) => eb.or([eb('last_seen_at', '<', idleBefore), eb('created_at', '<', createdBefore)]))
    .executeTakeFirst();
  return Number(res.numDeletedRows);
}
