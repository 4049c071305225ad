import type { Context } from 'hono';
import type { Kysely } from 'kysely';
import { validateAppName } from '../apps/names.js';
import { getApp, type App } from '../apps/repo.js';
import type { Database } from '../db/database.js';
import type { DeployTrigger } from '../contract.js';
import { HiyError } from '../errors.js';

export function optionalBoolean(body: Record<string, unknown>, key: string): boolean | undefined {
  const v = body[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw new HiyError('invalid_input', `${key} must be true or false`);
  return v;
}

/** `?reveal=true` style switches: absent is false; anything but true/1/false/0 is a mistake. */
export function queryFlag(c: Context, name: string): boolean | undefined {
  const raw = c.req.query(name);
  if (raw === undefined) return undefined;
  if (raw === 'true' || raw === '1' || raw === '') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new HiyError('invalid_input', `query parameter ${name} must be true, false, 1 or 0`);
}

/** A positive integer from a path segment or query string, within bounds. */
export function parseIntParam(name: string, raw: string | undefined, min: number, max: number): number {
  if (raw === undefined || !/^\d{1,10}$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new HiyError('invalid_input', `${name} must be a whole number from ${min} to ${max}`);
  }
  return Number(raw);
}

/** The app named by the request path's `:name`: 400 with the naming rule for a bad name, 404 for an unknown app. */
export async function pathApp(db: Kysely<Database>, c: Context): Promise<App> {
  return getApp(db, validateAppName(c.req.param('name')));
}

/** Who asked for a deploy or restart over the API: the CLI says so in a header; anything else is "api" (the dashboard records "dashboard" itself). */
export const clientTrigger = (c: Context): DeployTrigger => (c.req.header('x-hiy-client') === 'cli' ? 'cli' : 'api');

/** ?before=<id>&limit=N of a cursor-paged listing (newest first): ids below `before`, at most `limit`. */
export interface PageQuery { before: number | undefined; limit: number }

export function pageQuery(c: Context, defaultLimit: number, maxLimit: number): PageQuery {
  const rawLimit = c.req.query('limit');
  const rawBefore = c.req.query('before');
  return {
    limit: rawLimit === undefined ? defaultLimit : parseIntParam('limit', rawLimit, 1, maxLimit),
    before: rawBefore === undefined ? undefined : parseIntParam('before', rawBefore, 1, Number.MAX_SAFE_INTEGER),
  };
}

/**
 * One page of a listing fetched with limit + 1 rows: `next` is the `before` of the following page
 * (the last id shown), null when this page is the last.
 */
export function pageOf<T extends { id: number }>(rows: T[], limit: number): { items: T[]; next: number | null } {
  const items = rows.slice(0, limit);
  return { items, next: rows.length > limit ? items[items.length - 1]!.id : null };
}
