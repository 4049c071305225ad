import type { Generated } from 'kysely';

/**
 * Per-app secrets for mirroring from GitHub, both age-encrypted. A table of its own (1:1 with
 * apps, deleted with the app) so the blobs never ride along in every `selectAll()` of apps.
 */
export interface AppGitSecretsTable {
  app: string;
  /** HMAC key GitHub signs deliveries with; null until `POST /apps/:name/webhook`. */
  webhook_secret_enc: Buffer | null;
  /** Token for private repos, sent as an http.extraHeader on fetch; never returned. */
  repo_token_enc: Buffer | null;
  updated_at: string;
}

/** One row per delivery that reached a configured app, whatever became of it. */
export interface WebhookDeliveriesTable {
  id: Generated<number>;
  /** X-GitHub-Delivery (a GUID); null when the header was missing or malformed. */
  delivery_id: string | null;
  app: string;
  event: string | null;
  ref: string | null;
  after_sha: string | null;
  /** 1 for the first signed record of a delivery id (unique among those), 0 otherwise. */
  counted: number;
  received_at: string;
  /** `deployed #12`, `ignored: tag`, `duplicate`, `rejected: bad signature`, ... */
  outcome: string;
  deploy_id: number | null;
  /** SHA-256 of a signed delivery's body: the same signed body under a new delivery id is a replay. */
  body_sha256: string | null;
}
