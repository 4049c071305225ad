import type { Kysely } from 'kysely';
import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import { nowIso } from '../db/database.js';
import type { Logger } from '../log.js';
import { countActiveTokens, createToken, hashToken } from './tokens.js';

export const BOOTSTRAP_TOKEN_NAME = 'admin (HIY_ADMIN_TOKEN)';

/**
 * HIY_ADMIN_TOKEN is accepted as a token (marked as the bootstrap token). A start with another
 * value adds the new one and revokes every previous bootstrap token in the same transaction:
 * rotating the value in hiy.env and restarting is how the operator replaces a leaked one
 * (docs/operations.md). Without HIY_ADMIN_TOKEN and without any token, one is made and printed once.
 */
export async function bootstrapToken(config: Config, db: Kysely<Database>, log: Logger, out: NodeJS.WritableStream): Promise<void> {
  const value = config.adminToken;
  if (value) {
    const revoked = await db.transaction().execute(async (trx) => {
      const hash = hashToken(value);
      const exists = await trx.selectFrom('api_tokens').select(['id', 'revoked_at']).where('token_hash', '=', hash).executeTakeFirst();
      if (exists?.revoked_at) {
        // A revoked value is never brought back; the previous bootstrap token stays, so the
        // operator is not locked out by a typo-level mistake.
        log.error({ token: exists.id }, 'HIY_ADMIN_TOKEN holds a revoked token: it is not accepted; set a new value (docs/operations.md, "Rotating the admin token")');
        return [];
      }
      if (!exists) await createToken(trx, BOOTSTRAP_TOKEN_NAME, value, { bootstrap: true });
      return trx.updateTable('api_tokens').set({ revoked_at: nowIso() })
        .where('bootstrap', '=', 1).where('revoked_at', 'is', null).where('token_hash', '!=', hash)
        .returning(['id', 'prefix']).execute();
    });
    for (const r of revoked) log.info({ event: 'token_revoked', token: r.id, prefix: r.prefix }, 'HIY_ADMIN_TOKEN changed: the previous bootstrap token is revoked');
    return;
  }
  if ((await countActiveTokens(db)) > 0) return;
  const { token } = await createToken(db, 'initial');
  out.write(`\nhiy: first start; your API token (shown once, store it now):\n\n  ${token}\n\n`);
  log.info('created the initial API token (printed on stdout, not logged)');
}
