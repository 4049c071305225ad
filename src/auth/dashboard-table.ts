/** The dashboard's login state. API tokens are in table.ts. */

/** One row per signed-in browser. The row is keyed by a hash: a copied database holds no usable session. */
export interface DashboardSessionsTable {
  /** sha256 (hex) of the session id the cookie carries. */
  id_hash: string;
  created_at: string;
  last_seen_at: string;
  ip: string | null;
  user_agent: string | null;
}

/** At most one row (id = 1): the scrypt hash of the dashboard password set by `hiy password`. */
export interface DashboardPasswordTable {
  id: number;
  hash: string;
  updated_at: string;
}
