/** --limit / --before of the cursor-paged listings (deploys, releases, runs): the API's ?limit=&before=. */
import { numberFlag, type Ctx, type FlagSpec } from './command.js';
import { UsageError } from './errors.js';

export const pageFlags = (what: string, defaultLimit: string): Record<string, FlagSpec> => ({
  limit: { type: 'string', value: 'N', description: `how many ${what}, newest first (${defaultLimit})` },
  before: { type: 'string', value: 'ID', description: `only ${what} older than this id (the "next" of the previous page)` },
});

/** The query string (with its "?", or "") for the flags given; `limitFlag` names another spelling (runs -n). */
export function pageQueryOf(ctx: Ctx, limitFlag = 'limit'): string {
  const q = new URLSearchParams();
  const limit = numberFlag(ctx, limitFlag) ?? numberFlag(ctx, 'limit');
  const before = numberFlag(ctx, 'before');
  if (limit !== undefined) q.set('limit', String(limit));
  if (before !== undefined) {
    if (!Number.isInteger(before) || before < 1) throw new UsageError('--before must be an id (a whole number)');
    q.set('before', String(before));
  }
  return q.size ? `?${q}` : '';
}

/** A last line saying how to see the next page, when there is one. */
export function moreLine(next: number | null | undefined, command: string): string {
  return next ? `More: ${command} --before ${next}\n` : '';
}
