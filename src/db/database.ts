import type { AppsTable } from '../apps/table.js';
import type { ApiTokensTable } from '../auth/table.js';
import type { DeploysTable, ReleasesTable } from '../deploy/table.js';
import type { EnvVarsTable } from '../env/table.js';

/** The whole schema: each domain owns its table types, composed here. */
export interface Database {
  apps: AppsTable;
  deploys: DeploysTable;
  releases: ReleasesTable;
  env_vars: EnvVarsTable;
  api_tokens: ApiTokensTable;
}

export const nowIso = (): string => new Date().toISOString();
