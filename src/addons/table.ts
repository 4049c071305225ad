import type { AddonKind } from '../contract.js';

/** A data service: one server container from a stock image, its data in its own volume. */
export interface AddonsTable {
  name: string;
  kind: AddonKind;
  /** The image reference it runs (HIY_IMAGE_POSTGRES / HIY_IMAGE_REDIS when it was made or last upgraded). */
  image: string;
  memory_mb: number;
  /** age ciphertext of the server's password (as env var values are); the plaintext is never stored. */
  password_enc: Buffer;
  /** The server's version as it reported it last (17.2, 7.4.1); null until it first answered. */
  version: string | null;
  created_at: string;
  updated_at: string;
}

/** An add-on attached to an app: hiy sets `<as_name>_URL` on the app and joins the app's network. */
export interface AddonAttachmentsTable {
  addon: string;
  app: string;
  /** DATABASE, REDIS, or what --as said: the app's variable is `${as_name}_URL`. */
  as_name: string;
  created_at: string;
}

/** Resource samples of add-ons, as app_metrics holds apps' (res 0: raw, an hour; res 60: minutes, a day). */
export interface AddonMetricsTable {
  addon: string;
  res: number;
  t: number;
  cpu_pct: number;
  memory_bytes: number;
}
