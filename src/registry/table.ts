import type { Generated } from 'kysely';

/**
 * A registry login: the password or token age-encrypted, used for pulls only and never shown.
 * `app` null: the login of every app pulling from `host`; an app's own login wins over it.
 */
export interface RegistryLoginsTable {
  id: Generated<number>;
  /** Registry host as normalizeRegistryHost writes it (`ghcr.io`, `docker.io`, `registry.example.com:5000`). */
  host: string;
  app: string | null;
  username: string;
  secret_enc: Buffer;
  created_at: string;
  updated_at: string;
}
