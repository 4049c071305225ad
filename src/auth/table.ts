import type { Generated } from 'kysely';

export interface ApiTokensTable {
  id: Generated<number>;
  name: string;
  /** sha256 of the token, hex. Tokens are 256-bit random, so a fast hash is enough. */
  token_hash: string;
  /** The first characters of the token, to recognise it in listings. */
  prefix: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
  /** 1 for the token made from HIY_ADMIN_TOKEN: a start with another value revokes it. */
  bootstrap: Generated<number>;
}
